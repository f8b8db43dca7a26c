//! Purchases carrying the price the reader saw (`max_price`, `max_total`): a charge above it
//! fails `price_changed` and changes nothing, alone or inside a grouped round.

use jobs::chapter_edit::{self, ChapterEdit};
use jobs::coins::Coins;
use jobs::db::Db;
use jobs::ids::{BookId, ChapterId, UserId};
use jobs::job::{JobView, Kind};
use jobs::purchase::group::{self as purchase_group, Member};
use testkit::groups::{code, member_at_most};
use testkit::{assert_books_balance, balance, book, prepare, reader_with_coins, settings};

async fn run(db: &Db, ids: &jobs::ids::IdGenerator, members: &[Member<'_>]) -> Vec<JobView> {
    purchase_group::run(&db.main, ids, members, 3)
        .await
        .into_iter()
        .map(|r| r.unwrap().view)
        .collect()
}

async fn records(db: &Db, user_id: UserId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM user_buy_record WHERE user_id = ?")
        .bind(user_id)
        .fetch_one(&db.main)
        .await
        .unwrap()
}

/// The author rewrites the chapter with `words` characters: its price follows.
async fn rewrite(
    db: &Db,
    ids: &jobs::ids::IdGenerator,
    settings: &jobs::config::Settings,
    book_id: BookId,
    index_id: ChapterId,
    words: usize,
) -> Coins {
    let content = "字".repeat(words);
    let edit = ChapterEdit {
        book_id,
        index_id,
        index_name: None,
        content: Some(&content),
        is_vip: None,
    };
    chapter_edit::edit_chapter(db, ids, &settings.pricing, edit)
        .await
        .unwrap()
        .price
}

#[tokio::test]
async fn a_price_raised_after_the_reader_saw_it_fails_price_changed_and_charges_nothing() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    // One VIP chapter of 1000 characters: 5 coins.
    let (book_id, ch) = book(&db, &ids, &settings, 1, 0, 1000).await;
    let reader = reader_with_coins(&db, &ids, "reader", 100).await;
    let seen = 5;
    assert_eq!(
        rewrite(&db, &ids, &settings, book_id, ch[0], 3000).await,
        15
    );

    let refused = run(
        &db,
        &ids,
        &[member_at_most(
            "P-1",
            reader,
            Kind::Purchase,
            vec![ch[0]],
            Some(Coins::new(seen)),
        )],
    )
    .await;
    assert_eq!(code(&refused[0]), "price_changed");
    assert_eq!(balance(&db, reader).await, 100, "nothing debited");
    assert_eq!(records(&db, reader).await, 0, "nothing recorded");

    let bought = run(
        &db,
        &ids,
        &[member_at_most(
            "P-2",
            reader,
            Kind::Purchase,
            vec![ch[0]],
            Some(Coins::new(15)),
        )],
    )
    .await;
    assert_eq!(code(&bought[0]), "succeeded", "the price seen is the price");
    assert_eq!(bought[0].result.as_ref().unwrap()["spent"], 15);
    assert_eq!(balance(&db, reader).await, 85);
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn a_batch_compares_what_it_would_spend_with_max_total_skipping_owned_chapters() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    // Three VIP chapters at 5 coins.
    let (_, ch) = book(&db, &ids, &settings, 3, 0, 1000).await;
    let reader = reader_with_coins(&db, &ids, "reader", 100).await;
    let over = run(
        &db,
        &ids,
        &[member_at_most(
            "B-1",
            reader,
            Kind::BatchPurchase,
            ch.clone(),
            Some(Coins::new(14)),
        )],
    )
    .await;
    assert_eq!(code(&over[0]), "price_changed");
    assert_eq!(balance(&db, reader).await, 100);
    assert_eq!(records(&db, reader).await, 0);

    let one = run(
        &db,
        &ids,
        &[member_at_most(
            "B-2",
            reader,
            Kind::Purchase,
            vec![ch[0]],
            None,
        )],
    )
    .await;
    assert_eq!(code(&one[0]), "succeeded");
    // The owned chapter is skipped, so the two left cost exactly the 10 the reader saw.
    let rest = run(
        &db,
        &ids,
        &[member_at_most(
            "B-3",
            reader,
            Kind::BatchPurchase,
            ch.clone(),
            Some(Coins::new(10)),
        )],
    )
    .await;
    assert_eq!(code(&rest[0]), "succeeded");
    assert_eq!(rest[0].result.as_ref().unwrap()["spent"], 10);
    assert_eq!(balance(&db, reader).await, 85);
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn a_price_changed_member_of_a_grouped_round_fails_alone_while_the_others_buy() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let (_, ch) = book(&db, &ids, &settings, 2, 0, 1000).await;
    let saw_it = reader_with_coins(&db, &ids, "saw_it", 50).await;
    let stale = reader_with_coins(&db, &ids, "stale", 50).await;
    let trusting = reader_with_coins(&db, &ids, "trusting", 50).await;
    let group = [
        member_at_most(
            "G-SAW",
            saw_it,
            Kind::Purchase,
            vec![ch[0]],
            Some(Coins::new(5)),
        ),
        member_at_most(
            "G-STALE",
            stale,
            Kind::BatchPurchase,
            ch.clone(),
            Some(Coins::new(9)),
        ),
        member_at_most("G-ANY", trusting, Kind::BatchPurchase, ch.clone(), None),
    ];
    let outcomes = run(&db, &ids, &group).await;
    let codes: Vec<&str> = outcomes.iter().map(code).collect();
    assert_eq!(codes, ["succeeded", "price_changed", "succeeded"]);
    assert_eq!(balance(&db, saw_it).await, 45);
    assert_eq!(
        balance(&db, stale).await,
        50,
        "the failed member paid nothing"
    );
    assert_eq!(records(&db, stale).await, 0, "and holds no buy record");
    assert_eq!(balance(&db, trusting).await, 40);
    for view in &outcomes {
        let recorded = jobs::job::outcome::recorded(&db.main, &view.job_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&recorded, view);
    }
    assert_books_balance(&db).await;
}
