//! Purchase jobs committed together (`jobs::purchase::group`): one transaction, each job its own
//! outcome, exactly as if each had run alone.

use jobs::ids::{ChapterId, EntityId};
use jobs::job::JobView;
use jobs::job::Kind;
use jobs::purchase::group as purchase_group;
use testkit::groups::{code, member};
use testkit::{assert_books_balance, balance, book, prepare, reader_with_coins, settings};

fn views(results: Vec<anyhow::Result<jobs::job::Done>>) -> Vec<JobView> {
    results.into_iter().map(|r| r.unwrap().view).collect()
}

#[tokio::test]
async fn every_job_of_a_group_gets_the_outcome_it_would_get_alone() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    // Chapter 0 is free; the others cost 5 coins each.
    let (_, ch) = book(&db, &ids, &settings, 8, 1, 1000).await;
    let rich = reader_with_coins(&db, &ids, "rich", 100).await;
    let owner = reader_with_coins(&db, &ids, "owner", 100).await;
    let poor = reader_with_coins(&db, &ids, "poor", 7).await;
    let batcher = reader_with_coins(&db, &ids, "batcher", 100).await;
    let lost = reader_with_coins(&db, &ids, "lost", 100).await;
    let free = reader_with_coins(&db, &ids, "free", 100).await;
    let first = purchase_group::run(
        &db.main,
        &ids,
        &[member("OWN-1", owner, Kind::Purchase, vec![ch[1]])],
        3,
    )
    .await;
    assert_eq!(code(&views(first)[0]), "succeeded");

    let group = [
        member("G-RICH", rich, Kind::Purchase, vec![ch[1]]),
        member("G-OWNED", owner, Kind::Purchase, vec![ch[1]]),
        member("G-POOR", poor, Kind::BatchPurchase, vec![ch[2], ch[3]]),
        member(
            "G-BATCH",
            batcher,
            Kind::BatchPurchase,
            vec![ch[0], ch[2], ch[3]],
        ),
        member(
            "G-LOST",
            lost,
            Kind::BatchPurchase,
            vec![ch[2], ChapterId::from_raw(42)],
        ),
        member("G-FREE", free, Kind::Purchase, vec![ch[0]]),
        // A second job of one user goes to a later round and sees the first one's purchase.
        member("G-RICH-2", rich, Kind::Purchase, vec![ch[1]]),
        member("G-RICH-3", rich, Kind::BatchPurchase, vec![ch[1], ch[4]]),
    ];
    let outcomes = views(purchase_group::run(&db.main, &ids, &group, 3).await);
    let codes: Vec<&str> = outcomes.iter().map(code).collect();
    assert_eq!(
        codes,
        [
            "succeeded",
            "already_bought",
            "insufficient_balance",
            "succeeded",
            "chapter_not_found",
            "not_for_sale",
            "already_bought",
            "succeeded",
        ]
    );
    let batch = outcomes[3].result.as_ref().unwrap();
    assert_eq!(batch["spent"], 10);
    assert_eq!(batch["balance"], 90);
    assert_eq!(batch["skipped"], serde_json::json!([ch[0].to_string()]));
    let third = outcomes[7].result.as_ref().unwrap();
    assert_eq!(third["bought"], serde_json::json!([ch[4].to_string()]));
    assert_eq!(third["balance"], 90);
    assert_eq!(balance(&db, rich).await, 90);
    assert_eq!(balance(&db, owner).await, 95);
    assert_eq!(
        balance(&db, poor).await,
        7,
        "a batch it cannot pay changes nothing"
    );
    assert_eq!(balance(&db, lost).await, 100);
    let poor_records: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM user_buy_record WHERE user_id = ?")
            .bind(poor)
            .fetch_one(&db.main)
            .await
            .unwrap();
    assert_eq!(poor_records, 0);
    for view in &outcomes {
        let recorded = jobs::job::outcome::recorded(&db.main, &view.job_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&recorded, view, "the published outcome is the recorded one");
    }
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn a_group_holding_a_job_already_done_replays_it_and_runs_the_rest() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let (_, ch) = book(&db, &ids, &settings, 3, 0, 1000).await;
    let one = reader_with_coins(&db, &ids, "one", 100).await;
    let two = reader_with_coins(&db, &ids, "two", 100).await;
    let done = views(
        purchase_group::run(
            &db.main,
            &ids,
            &[member("TWIN", one, Kind::Purchase, vec![ch[0]])],
            3,
        )
        .await,
    );
    let group = [
        member("TWIN", one, Kind::Purchase, vec![ch[0]]),
        member("FRESH", two, Kind::Purchase, vec![ch[1]]),
    ];
    let results = purchase_group::run(&db.main, &ids, &group, 3).await;
    let replayed: Vec<bool> = results
        .iter()
        .map(|r| r.as_ref().unwrap().replayed)
        .collect();
    assert_eq!(replayed, [true, false]);
    let outcomes = views(results);
    assert_eq!(outcomes[0], done[0], "the first outcome stands");
    assert_eq!(code(&outcomes[1]), "succeeded");
    assert_eq!(balance(&db, one).await, 95, "charged once");
    assert_eq!(balance(&db, two).await, 95);
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn a_job_too_big_for_one_statement_fails_alone_and_its_round_still_buys() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let (_, ch) = book(&db, &ids, &settings, 3, 0, 1000).await;
    let first = reader_with_coins(&db, &ids, "first", 100).await;
    let huge = reader_with_coins(&db, &ids, "huge", 100).await;
    let last = reader_with_coins(&db, &ids, "last", 100).await;
    let group = [
        member("N-FIRST", first, Kind::Purchase, vec![ch[0]]),
        // Past MySQL's 65 535 placeholders of one statement: never passes, however retried.
        member(
            "N-HUGE",
            huge,
            Kind::BatchPurchase,
            (1..=70_000).map(ChapterId::from_raw).collect(),
        ),
        member("N-LAST", last, Kind::BatchPurchase, vec![ch[1], ch[2]]),
    ];
    let results = purchase_group::run(&db.main, &ids, &group, 3).await;
    let outcomes: Vec<Result<&'static str, String>> = results
        .iter()
        .map(|r| r.as_ref().map(|d| code(&d.view)).map_err(|e| e.to_string()))
        .collect();
    assert_eq!(outcomes[0], Ok("succeeded"));
    assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
    assert_eq!(outcomes[2], Ok("succeeded"));
    assert_eq!(balance(&db, first).await, 95);
    assert_eq!(balance(&db, huge).await, 100);
    assert_eq!(balance(&db, last).await, 90);
    assert_books_balance(&db).await;
}
