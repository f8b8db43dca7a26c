//! Refunds for deleted chapters, run by real worker processes.

use std::time::{Duration, Instant};

use jobs::ids::{BuyRecordId, ChapterId, FlowId, UserId};
use jobs::job::{JobId, Kind, StatusStore};
use jobs::purchase::PurchaseJob;
use jobs::queues::Queues;
use jobs::refund::RefundSweepJob;
use testkit::{
    WorkerProcess, assert_books_balance, balance, book, enqueue, prepare, reader_with_coins,
    settings, wait_for_outcomes,
};

async fn sweep(queues: &Queues, status: &StatusStore) -> JobId {
    enqueue(&queues.refund_sweep, status, UserId::NOBODY, |job_id| {
        RefundSweepJob {
            job_id,
            requested_by: UserId::NOBODY,
            enqueued_at_ms: jobs::clock::now_ms(),
        }
    })
    .await
}

async fn buy(queues: &Queues, status: &StatusStore, user_id: UserId, index_id: ChapterId) -> JobId {
    enqueue(&queues.purchase, status, user_id, |job_id| PurchaseJob {
        job_id,
        user_id,
        index_id,
        enqueued_at_ms: jobs::clock::now_ms(),
        max_price: None,
    })
    .await
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_waiting_for_its_id_lease_holds_no_row_locked() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let (_, chapters) = book(&db, &ids, &settings, 1, 0, 1000).await;
    let reader = reader_with_coins(&db, &ids, "refunded", 100).await;
    let job_id = JobId::from("BUY-1");
    let order = jobs::purchase::Order {
        job_id: &job_id,
        user_id: reader,
        kind: Kind::Purchase,
        index_ids: vec![chapters[0]],
        max_spent: None,
    };
    jobs::purchase::run(&db.main, &ids, &order, 1, 3)
        .await
        .unwrap();
    let record: BuyRecordId =
        sqlx::query_scalar("SELECT id FROM user_buy_record WHERE user_id = ?")
            .bind(reader)
            .fetch_one(&db.main)
            .await
            .unwrap();
    // A generator of its own whose lease is lost: it mints again only one TTL after it
    // takes a new one.
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let prefix = format!("{}fenced", settings.redis.prefix);
    let fenced = jobs::ids::IdGenerator::start(redis.clone(), &prefix, 0, Duration::from_secs(2))
        .await
        .unwrap();
    fenced.ready().await.unwrap();
    let machine = fenced.machine_id().unwrap();
    let _: () = redis::AsyncCommands::del(
        &mut redis.clone(),
        jobs::keys::id_lease(&prefix, 0, machine),
    )
    .await
    .unwrap();
    let started = Instant::now();
    while fenced.next::<FlowId>().is_ok() {
        assert!(started.elapsed() < Duration::from_secs(2), "never fenced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = jobs::refund::RefundJob {
        job_id: JobId::from("REFUND-1"),
        user_id: reader,
        record_ids: vec![record],
        enqueued_at_ms: jobs::clock::now_ms(),
    };
    let pool = db.main.clone();
    let refund = tokio::spawn(async move { jobs::refund::run(&pool, &fenced, &job, 3).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tx = db.main.begin().await.unwrap();
    sqlx::query("SET SESSION innodb_lock_wait_timeout = 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    let locked = sqlx::query("SELECT id FROM user_buy_record WHERE id = ? FOR UPDATE")
        .bind(record)
        .execute(&mut *tx)
        .await;
    assert!(locked.is_ok(), "the record is free meanwhile: {locked:?}");
    tx.rollback().await.unwrap();
    let done = refund.await.unwrap().unwrap();
    assert_eq!(done.coins, 5);
    assert_eq!(balance(&db, reader).await, 100);
    assert_books_balance(&db).await;
}
