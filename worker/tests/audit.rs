//! The invariant check every test and benchmark ends with finds each kind of broken books.

use jobs::coins::Coins;
use jobs::ids::{BuyRecordId, EntityId, FlowId, OrderId, UserId};
use jobs::job::{JobId, Kind};
use jobs::purchase::Order;
use testkit::{book, prepare, reader_with_coins, settings};

async fn execute(db: &jobs::db::Db, sql: &'static str, binds: &[i64]) {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(value);
    }
    query.execute(&db.main).await.unwrap();
}

#[tokio::test]
async fn each_kind_of_violation_is_reported() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let reader = reader_with_coins(&db, &ids, "auditee", 1000).await;
    let (_, chapters) = book(&db, &ids, &settings, 3, 0, 1000).await;
    let job_id = JobId::from("01JAUDITEDPURCHASE0000000");
    let order = Order {
        job_id: &job_id,
        user_id: reader,
        kind: Kind::Purchase,
        index_ids: vec![chapters[0]],
        max_spent: None,
    };
    let done = jobs::purchase::run(&db.main, &ids, &order, 1, 0)
        .await
        .unwrap();
    assert!(done.view.error.is_none(), "{:?}", done.view);
    assert_eq!(
        jobs::audit::violations(&db.main).await.unwrap(),
        Vec::<String>::new()
    );

    // A second charge for the same job, with the balance moved so the user's sum still matches.
    execute(
        &db,
        r"INSERT INTO account_flow (id, user_id, delta, balance_after, reason, ref_id, create_time)
          SELECT ?, user_id, delta, balance_after, reason, ref_id, create_time
          FROM account_flow WHERE ref_id = '01JAUDITEDPURCHASE0000000'",
        &[ids.mint::<FlowId>().await.unwrap().raw()],
    )
    .await;
    execute(
        &db,
        "UPDATE user SET account_balance = account_balance - 5 WHERE id = ?",
        &[reader.raw()],
    )
    .await;
    // Buy records nobody paid for, and a balance that disagrees with its ledger.
    execute(
        &db,
        r"INSERT INTO user_buy_record (id, user_id, book_id, book_name, book_index_id,
              book_index_name, buy_amount, job_id, refund_status, create_time)
          SELECT ?, ?, book_id, 'b', id, 'c', 5, 'GHOST', 0, NOW() FROM book_index WHERE id = ?",
        &[
            ids.mint::<BuyRecordId>().await.unwrap().raw(),
            reader.raw(),
            chapters[1].raw(),
        ],
    )
    .await;
    let other = reader_with_coins(&db, &ids, "drifter", 50).await;
    execute(
        &db,
        "UPDATE user SET account_balance = 49 WHERE id = ?",
        &[other.raw()],
    )
    .await;

    let found = jobs::audit::violations(&db.main).await.unwrap();
    let expected = [
        format!("user {other}: balance 49, ledger sum 50"),
        "job 01JAUDITEDPURCHASE0000000: charged 2 times".to_owned(),
        "job 01JAUDITEDPURCHASE0000000: charged 10, buy records worth 5".to_owned(),
        "job GHOST: buy records without a charge".to_owned(),
    ];
    for line in &expected {
        assert!(found.contains(line), "{line:?} missing from {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[tokio::test]
async fn a_paid_order_without_its_one_recharge_row_and_a_row_for_an_unpaid_order_are_reported() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let reader = reader_with_coins(&db, &ids, "recharger", 0).await;
    let order = |id: OrderId, status: &'static str| {
        sqlx::query(
            r"INSERT INTO order_pay (id, user_id, package_id, amount, currency, coins, bonus_coins,
                                    provider, status, create_time, expires_at, update_time)
              VALUES (?, ?, 'p600', 600, 'CNY', 600, 100, 'sandbox', ?, NOW(3), NOW(3), NOW(3))",
        )
        .bind(id)
        .bind(reader)
        .bind(status)
    };
    let paid: OrderId = ids.mint().await.unwrap();
    let pending: OrderId = ids.mint().await.unwrap();
    order(paid, "paid").execute(&db.main).await.unwrap();
    order(pending, "pending").execute(&db.main).await.unwrap();
    let violations = jobs::audit::violations(&db.main).await.unwrap();
    assert_eq!(
        violations,
        [format!("order {paid}: paid without a recharge row")]
    );
    credit(&db, &ids, reader, paid).await;
    assert_eq!(
        jobs::audit::violations(&db.main).await.unwrap(),
        Vec::<String>::new()
    );
    credit(&db, &ids, reader, paid).await;
    credit(&db, &ids, reader, pending).await;
    assert_eq!(
        jobs::audit::violations(&db.main).await.unwrap(),
        [
            format!("order {paid}: 2 recharge rows of 1400 coins, it is worth 700"),
            format!("order {pending}: a recharge row, but it is not paid"),
        ]
    );
}

/// A `recharge` ledger row of 700 coins for the order.
async fn credit(
    db: &jobs::db::Db,
    ids: &jobs::ids::IdGenerator,
    user_id: UserId,
    order_id: OrderId,
) {
    let mut tx = db.main.begin().await.unwrap();
    let entry = jobs::ledger::Entry {
        id: ids.mint::<FlowId>().await.unwrap(),
        user_id,
        reason: jobs::ledger::Reason::Recharge,
        ref_id: &order_id.to_string(),
        note: None,
    };
    jobs::ledger::credit(&mut tx, entry, Coins::new(700))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}
