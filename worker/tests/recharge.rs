//! The `recharge` job run by real worker processes, one of them killed mid-recharge.

use std::time::{Duration, Instant};

use jobs::ids::{OrderId, UserId};
use jobs::job::{Status, StatusStore, submit};
use jobs::payments::event::Charge;
use jobs::payments::recharge::RechargeJob;
use jobs::payments::{Currency, ProviderKind};
use jobs::queues::Queues;
use testkit::{
    WorkerProcess, assert_books_balance, balance, prepare, reader_with_coins, settings,
    wait_for_outcomes,
};

/// A pending sandbox order of 600 CNY fen for 600 + 100 coins; its id.
async fn pending_order(
    db: &jobs::db::Db,
    ids: &jobs::ids::IdGenerator,
    user_id: UserId,
) -> OrderId {
    let order_id: OrderId = ids.mint().await.unwrap();
    let now = jobs::clock::now();
    sqlx::query(
        r"INSERT INTO order_pay (id, user_id, package_id, amount, currency, coins, bonus_coins,
                                provider, provider_ref, status, create_time, expires_at,
                                update_time)
          VALUES (?, ?, 'p600', 600, 'CNY', 600, 100, 'sandbox', ?, 'pending', ?, ?, ?)",
    )
    .bind(order_id)
    .bind(user_id)
    .bind(order_id.to_string())
    .bind(now)
    .bind(now + chrono::TimeDelta::minutes(30))
    .bind(now)
    .execute(&db.main)
    .await
    .unwrap();
    order_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_recharge_leaves_it_to_the_next_which_credits_once() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(redis, &settings.redis.prefix, 60);
    let user_id = reader_with_coins(&db, &ids, "payer", 0).await;
    let order_id = pending_order(&db, &ids, user_id).await;
    // Another connection holds the order row, so the job waits on it inside its transaction.
    let mut blocker = db.main.begin().await.unwrap();
    sqlx::query("SELECT id FROM order_pay WHERE id = ? FOR UPDATE")
        .bind(order_id)
        .execute(&mut *blocker)
        .await
        .unwrap();
    let mut first = WorkerProcess::spawn(&settings);
    let charge = Charge {
        order_id,
        amount: 600,
        currency: Currency::parse("CNY").unwrap(),
    };
    let job = RechargeJob::new(user_id, ProviderKind::Sandbox, "evt_1".into(), true, charge);
    let job_id = job.job_id.clone();
    submit::enqueue(&queues.recharge, &status, job.clone())
        .await
        .unwrap();
    let started = Instant::now();
    while status.get(&job_id).await.unwrap().unwrap().view.status != Status::Running {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    blocker.rollback().await.unwrap();
    // The provider delivers again meanwhile: the same job, queued once.
    submit::enqueue(&queues.recharge, &status, job)
        .await
        .unwrap();
    let _second = WorkerProcess::spawn(&settings);
    wait_for_outcomes(&db, std::slice::from_ref(&job_id), Duration::from_secs(60)).await;
    assert_eq!(balance(&db, user_id).await, 700);
    let (rows, order_status): (i64, String) = sqlx::query_as(
        r"SELECT (SELECT COUNT(*) FROM account_flow WHERE reason = 'recharge' AND ref_id = ?),
                 (SELECT status FROM order_pay WHERE id = ?)",
    )
    .bind(order_id.to_string())
    .bind(order_id)
    .fetch_one(&db.main)
    .await
    .unwrap();
    assert_eq!((rows, order_status.as_str()), (1, "paid"));
    assert_books_balance(&db).await;
}
