//! Refunds for deleted chapters, run by real worker processes.

use std::time::{Duration, Instant};

use jobs::job::{Kind, StatusStore};
use jobs::purchase::PurchaseJob;
use jobs::queue::{self, Queues};
use jobs::refund::RefundSweepJob;
use testkit::{
    WorkerProcess, assert_books_balance, balance, book, prepare, reader_with_coins, settings,
    wait_for_outcomes,
};

fn now_ms() -> i64 {
    jobs::json::now_millis().timestamp_millis()
}

async fn sweep(queues: &Queues, status: &StatusStore) -> String {
    let job_id = ulid::Ulid::new().to_string();
    let job = RefundSweepJob {
        job_id: job_id.clone(),
        requested_by: 0,
        enqueued_at_ms: now_ms(),
    };
    queue::enqueue(
        &queues.refund_sweep,
        status,
        Kind::RefundSweep,
        0,
        &job_id,
        job,
    )
    .await
    .unwrap();
    job_id
}

async fn buy(queues: &Queues, status: &StatusStore, user_id: i64, index_id: i64) -> String {
    let job_id = ulid::Ulid::new().to_string();
    let job = PurchaseJob {
        job_id: job_id.clone(),
        user_id,
        index_id,
        enqueued_at_ms: now_ms(),
    };
    queue::enqueue(
        &queues.purchase,
        status,
        Kind::Purchase,
        user_id,
        &job_id,
        job,
    )
    .await
    .unwrap();
    job_id
}

async fn count(db: &jobs::db::Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.main).await.unwrap()
}

/// Waits until every refund job the sweeps made has an outcome and nothing is left to refund.
async fn settle(db: &jobs::db::Db) {
    let started = Instant::now();
    let mut stable = 0;
    let mut last = -1;
    while stable < 10 {
        let done = count(
            db,
            "SELECT COUNT(*) FROM purchase_job WHERE kind = 'refund'",
        )
        .await;
        stable = if done == last { stable + 1 } else { 0 };
        last = done;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "refunds never settled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_chapter_bought_by_three_users_is_refunded_once_each_by_concurrent_sweeps() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(redis, &settings.redis.prefix, 60);
    let _workers = [
        WorkerProcess::spawn(&settings),
        WorkerProcess::spawn(&settings),
    ];
    let (book_id, chapters) = book(&db, &ids, &settings, 2, 0, 3000).await;
    let mut readers = Vec::new();
    let mut jobs = Vec::new();
    for n in 0..3 {
        let reader = reader_with_coins(&db, &ids, &format!("reader{n}"), 100).await;
        jobs.push(buy(&queues, &status, reader, chapters[0]).await);
        readers.push(reader);
    }
    wait_for_outcomes(&db, &jobs, Duration::from_secs(30)).await;
    jobs::authoring::delete_chapter(&db, book_id, chapters[0])
        .await
        .unwrap();
    let sweeps = futures::future::join(sweep(&queues, &status), sweep(&queues, &status)).await;
    wait_for_outcomes(&db, &[sweeps.0, sweeps.1], Duration::from_secs(30)).await;
    settle(&db).await;
    let again = sweep(&queues, &status).await;
    wait_for_outcomes(&db, &[again], Duration::from_secs(30)).await;
    settle(&db).await;
    for reader in readers {
        assert_eq!(
            balance(&db, reader).await,
            100,
            "refunded exactly the 15 coins paid"
        );
        let refunds: Vec<i64> = sqlx::query_scalar(
            "SELECT delta FROM account_flow WHERE user_id = ? AND reason = 'refund'",
        )
        .bind(reader)
        .fetch_all(&db.main)
        .await
        .unwrap();
        assert_eq!(refunds, vec![15]);
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM user_buy_record WHERE refund_status = 1"
        )
        .await,
        3
    );
    assert_books_balance(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chapter_deleted_between_a_purchase_check_and_commit_is_refunded_by_the_next_sweep() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(redis, &settings.redis.prefix, 60);
    let _worker = WorkerProcess::spawn(&settings);
    let (book_id, chapters) = book(&db, &ids, &settings, 1, 0, 3000).await;
    let reader = reader_with_coins(&db, &ids, "reader1", 100).await;
    // Hold the reader's row: the purchase checks the chapter, inserts its buy record, then
    // waits on the debit while the author deletes the chapter.
    let mut hold = db.main.begin().await.unwrap();
    sqlx::query("SELECT id FROM user WHERE id = ? FOR UPDATE")
        .bind(reader)
        .execute(&mut *hold)
        .await
        .unwrap();
    let job = buy(&queues, &status, reader, chapters[0]).await;
    let mut peek = db.main.acquire().await.unwrap();
    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        .execute(&mut *peek)
        .await
        .unwrap();
    let started = Instant::now();
    let uncommitted = "SELECT COUNT(*) FROM user_buy_record WHERE user_id = ?";
    while sqlx::query_scalar::<_, i64>(uncommitted)
        .bind(reader)
        .fetch_one(&mut *peek)
        .await
        .unwrap()
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the purchase never reached its debit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    jobs::authoring::delete_chapter(&db, book_id, chapters[0])
        .await
        .unwrap();
    hold.commit().await.unwrap();
    wait_for_outcomes(&db, std::slice::from_ref(&job), Duration::from_secs(30)).await;
    assert_eq!(
        balance(&db, reader).await,
        85,
        "the purchase went through against a vanishing chapter"
    );
    let sweep = sweep(&queues, &status).await;
    wait_for_outcomes(&db, &[sweep], Duration::from_secs(30)).await;
    settle(&db).await;
    assert_eq!(balance(&db, reader).await, 100);
    assert_books_balance(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_the_cron_schedule_make_one_sweep_per_tick() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let (book_id, chapters) = book(&db, &ids, &settings, 1, 0, 3000).await;
    let reader = reader_with_coins(&db, &ids, "reader1", 100).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(redis, &settings.redis.prefix, 60);
    let every_second = [("NOVEL__WORKER__REFUND_SWEEP_CRON", "* * * * * *")];
    let first = WorkerProcess::spawn(&settings);
    let job = buy(&queues, &status, reader, chapters[0]).await;
    wait_for_outcomes(&db, &[job], Duration::from_secs(30)).await;
    drop(first);
    jobs::authoring::delete_chapter(&db, book_id, chapters[0])
        .await
        .unwrap();
    let started = Instant::now();
    let workers = [
        WorkerProcess::spawn_with(&settings, &every_second),
        WorkerProcess::spawn_with(&settings, &every_second),
    ];
    tokio::time::sleep(Duration::from_millis(4500)).await;
    drop(workers);
    let elapsed = started.elapsed().as_secs() as i64;
    let sweeps = count(
        &db,
        "SELECT COUNT(*) FROM purchase_job WHERE kind = 'refund_sweep'",
    )
    .await;
    assert!(
        (2..=elapsed + 1).contains(&sweeps),
        "{sweeps} sweeps in {elapsed} s: one per tick, not one per worker"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM account_flow WHERE reason = 'refund'"
        )
        .await,
        1
    );
    assert_eq!(balance(&db, reader).await, 100);
    assert_books_balance(&db).await;
}
