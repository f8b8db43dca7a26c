//! Purchase jobs run by real worker processes against real MariaDB and Redis.

use std::time::{Duration, Instant};

use jobs::config::Settings;
use jobs::ids::{ChapterId, EntityId, UserId};
use jobs::job::StatusStore;
use jobs::job::{JobId, queue};
use jobs::keys::partition_of_user;
use jobs::purchase::{BatchPurchaseJob, PurchaseJob};
use jobs::queues::Queues;
use testkit::{
    WorkerProcess, assert_books_balance, balance, book, bulk_chapters, enqueue, prepare,
    reader_with_coins, settings, wait_for_outcomes,
};

struct Deployment {
    settings: Settings,
    db: jobs::db::Db,
    ids: jobs::ids::IdGenerator,
    queues: Queues,
    status: StatusStore,
    workers: Vec<WorkerProcess>,
}

async fn deploy(workers: usize) -> Deployment {
    deploy_with(settings(), workers).await
}

/// A deployment of `settings`; its workers take its job partitions.
async fn deploy_with(settings: Settings, workers: usize) -> Deployment {
    let (db, ids) = prepare(&settings).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(redis, &settings.redis.prefix, settings.jobs.result_ttl_secs);
    let partitions = settings.jobs.partitions.to_string();
    let env = [("NOVEL__JOBS__PARTITIONS", partitions.as_str())];
    let workers = (0..workers)
        .map(|_| WorkerProcess::spawn_with(&settings, &env))
        .collect();
    Deployment {
        settings,
        db,
        ids,
        queues,
        status,
        workers,
    }
}

impl Deployment {
    async fn buy(&self, user_id: UserId, index_id: ChapterId) -> JobId {
        enqueue(&self.queues.purchase, &self.status, user_id, |job_id| {
            PurchaseJob {
                job_id,
                user_id,
                index_id,
                enqueued_at_ms: jobs::clock::now_ms(),
                max_price: None,
            }
        })
        .await
    }

    async fn buy_batch(&self, user_id: UserId, index_ids: Vec<ChapterId>) -> JobId {
        enqueue(
            &self.queues.batch_purchase,
            &self.status,
            user_id,
            |job_id| BatchPurchaseJob {
                job_id,
                user_id,
                index_ids,
                enqueued_at_ms: jobs::clock::now_ms(),
                max_total: None,
            },
        )
        .await
    }

    async fn outcomes(&self, job_ids: &[JobId]) -> Vec<jobs::job::JobView> {
        wait_for_outcomes(&self.db, job_ids, Duration::from_secs(60)).await;
        let mut views = Vec::new();
        for id in job_ids {
            views.push(
                jobs::job::outcome::recorded(&self.db.main, id)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        views
    }

    async fn buy_records(&self, user_id: UserId) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM user_buy_record WHERE user_id = ?")
            .bind(user_id)
            .fetch_one(&self.db.main)
            .await
            .unwrap()
    }
}

fn code(view: &jobs::job::JobView) -> &'static str {
    view.error.as_ref().map_or("succeeded", |e| e.code.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purchases_of_different_chapters_never_lose_an_update() {
    let app = deploy(2).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 40, 0, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 100).await;
    let price = 15; // 3000 characters at 5 coins per 1000
    let jobs = futures_join(chapters.iter().map(|c| app.buy(reader, *c))).await;
    let outcomes = app.outcomes(&jobs).await;
    let succeeded = outcomes.iter().filter(|v| code(v) == "succeeded").count() as i64;
    assert_eq!(succeeded, 100 / price);
    assert!(
        outcomes
            .iter()
            .all(|v| matches!(code(v), "succeeded" | "insufficient_balance"))
    );
    assert_eq!(balance(&app.db, reader).await, 100 - succeeded * price);
    assert_eq!(app.buy_records(reader).await, succeeded);
    assert_books_balance(&app.db).await;
}

async fn futures_join<F: std::future::Future<Output = JobId>>(
    futures: impl Iterator<Item = F>,
) -> Vec<JobId> {
    futures::future::join_all(futures).await
}

/// Three partitions: each reader's jobs are queued in their own partition's queues, and one
/// worker takes every partition's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purchases_of_readers_in_every_partition_are_all_picked_up_and_finished() {
    let mut settings = settings();
    settings.jobs.partitions = 3;
    let app = deploy_with(settings, 1).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 3, 0, 3000).await;
    let price = 15;
    let mut readers: Vec<UserId> = Vec::new();
    let mut per_partition = [0; 3];
    for n in 0.. {
        if per_partition.iter().all(|&count| count >= 2) {
            break;
        }
        let reader = reader_with_coins(&app.db, &app.ids, &format!("reader{n}"), 100).await;
        let partition = usize::from(partition_of_user(reader, 3));
        if per_partition[partition] < 2 {
            per_partition[partition] += 1;
            readers.push(reader);
        }
    }
    let mut jobs = Vec::new();
    for &reader in &readers {
        let single = app.buy(reader, chapters[0]).await;
        let batch = app.buy_batch(reader, chapters[1..].to_vec()).await;
        for job_id in [&single, &batch] {
            assert_eq!(job_id.partition(), partition_of_user(reader, 3), "{job_id}");
        }
        jobs.extend([single, batch]);
    }
    let outcomes = app.outcomes(&jobs).await;
    assert!(
        outcomes.iter().all(|v| code(v) == "succeeded"),
        "{outcomes:?}"
    );
    for &reader in &readers {
        assert_eq!(balance(&app.db, reader).await, 100 - 3 * price);
        assert_eq!(app.buy_records(reader).await, 3);
    }
    // The terminal statuses are in Redis too, each in its job's partition (published right
    // after the outcomes are recorded, MySQL first).
    for job_id in &jobs {
        let mut published = jobs::job::Status::Queued;
        for _ in 0..100 {
            let stored = app.status.get(job_id).await.unwrap().expect("a status");
            published = stored.view.status;
            if published == jobs::job::Status::Succeeded {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(published, jobs::job::Status::Succeeded);
    }
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_buys_of_one_chapter_charge_once() {
    let app = deploy(2).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 1, 0, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 1000).await;
    let jobs = futures_join((0..20).map(|_| app.buy(reader, chapters[0]))).await;
    let outcomes = app.outcomes(&jobs).await;
    let codes: Vec<&str> = outcomes.iter().map(code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "succeeded").count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "already_bought").count(),
        19,
        "{codes:?}"
    );
    assert_eq!(app.buy_records(reader).await, 1);
    assert_eq!(balance(&app.db, reader).await, 1000 - 15);
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_skips_owned_and_free_chapters_and_charges_the_rest() {
    let app = deploy(1).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 6, 2, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 100).await;
    let first = app.buy(reader, chapters[2]).await;
    assert_eq!(code(&app.outcomes(&[first]).await[0]), "succeeded");
    let batch = app.buy_batch(reader, chapters.clone()).await;
    let view = app.outcomes(&[batch]).await.remove(0);
    assert_eq!(code(&view), "succeeded");
    let result = view.result.unwrap();
    let ids = |v: &[ChapterId]| {
        v.iter()
            .map(|i| serde_json::Value::String(i.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(result["bought"].as_array().unwrap(), &ids(&chapters[3..]));
    let mut skipped = ids(&chapters[..3]);
    skipped.sort_by_key(|v| v.as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(result["skipped"].as_array().unwrap(), &skipped);
    assert_eq!(result["spent"], 45);
    assert_eq!(result["balance"], 100 - 15 - 45);
    // Everything owned or free now: succeeds with nothing spent.
    let again = app.buy_batch(reader, chapters.clone()).await;
    let view = app.outcomes(&[again]).await.remove(0);
    assert_eq!(view.result.unwrap()["spent"], 0);
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_the_balance_cannot_cover_or_with_a_missing_chapter_changes_nothing() {
    let app = deploy(1).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 5, 0, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 50).await;
    let batch = app.buy_batch(reader, chapters.clone()).await;
    assert_eq!(
        code(&app.outcomes(&[batch]).await[0]),
        "insufficient_balance"
    );
    let mut with_missing = chapters[..2].to_vec();
    with_missing.push(ChapterId::from_raw(123_456_789));
    let batch = app.buy_batch(reader, with_missing).await;
    assert_eq!(code(&app.outcomes(&[batch]).await[0]), "chapter_not_found");
    assert_eq!(balance(&app.db, reader).await, 50);
    assert_eq!(app.buy_records(reader).await, 0);
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_free_chapter_is_not_for_sale_and_an_unknown_one_not_found() {
    let app = deploy(1).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 2, 1, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 50).await;
    let jobs = vec![
        app.buy(reader, chapters[0]).await,
        app.buy(reader, ChapterId::from_raw(987_654_321)).await,
    ];
    let outcomes = app.outcomes(&jobs).await;
    assert_eq!(code(&outcomes[0]), "not_for_sale");
    assert_eq!(code(&outcomes[1]), "chapter_not_found");
    assert_eq!(balance(&app.db, reader).await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_job_delivered_twice_charges_once() {
    let app = deploy(2).await;
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 3, 0, 3000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 100).await;
    let job_id = app.buy_batch(reader, chapters.clone()).await;
    app.outcomes(std::slice::from_ref(&job_id)).await;
    // Redeliver: forget apalis's copy (its id dedupe) and push the very same payload again.
    let config = app
        .queues
        .batch_purchase
        .for_job(&job_id)
        .unwrap()
        .get_config()
        .clone();
    let mut redis = jobs::redis_conn::connect(&app.settings.redis)
        .await
        .unwrap();
    redis::pipe()
        .hdel(config.job_data_hash(), job_id.as_str())
        .del(format!("{}:{job_id}", config.job_meta_hash()))
        .exec_async(&mut redis)
        .await
        .unwrap();
    let again = BatchPurchaseJob {
        job_id: job_id.clone(),
        user_id: reader,
        index_ids: chapters.clone(),
        enqueued_at_ms: jobs::clock::now_ms(),
        max_total: None,
    };
    queue::push(&app.queues.batch_purchase, &job_id, again.clone())
        .await
        .unwrap();
    queue::push(&app.queues.batch_purchase, &job_id, again)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let done: bool = redis::cmd("SISMEMBER")
            .arg(config.done_jobs_set())
            .arg(job_id.as_str())
            .query_async(&mut redis)
            .await
            .unwrap();
        if done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "redelivery never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(balance(&app.db, reader).await, 100 - 45);
    assert_eq!(app.buy_records(reader).await, 3);
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_buyers_over_a_thousand_chapters_for_ten_seconds_never_deadlock_the_books() {
    let app = deploy(2).await;
    let (book_id, _) = book(&app.db, &app.ids, &app.settings, 1, 1, 10).await;
    let chapters = bulk_chapters(&app.db, &app.ids, book_id, 1000, 3).await;
    let mut buyers = Vec::new();
    for n in 0..32 {
        buyers.push(reader_with_coins(&app.db, &app.ids, &format!("buyer{n}"), 600).await);
    }
    let app = std::sync::Arc::new(app);
    let chapters = std::sync::Arc::new(chapters);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for (n, buyer) in buyers.into_iter().enumerate() {
        let (app, chapters) = (app.clone(), chapters.clone());
        tasks.push(tokio::spawn(async move {
            let mut jobs = Vec::new();
            let mut k = n * 7919;
            while Instant::now() < deadline {
                k = (k * 31 + 17) % chapters.len();
                let job = if k % 4 == 0 {
                    app.buy_batch(
                        buyer,
                        (0..5)
                            .map(|j| chapters[(k + j * 13) % chapters.len()])
                            .collect(),
                    )
                    .await
                } else {
                    app.buy(buyer, chapters[k]).await
                };
                app.outcomes(std::slice::from_ref(&job)).await;
                jobs.push(job);
            }
            jobs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let outcomes = app.outcomes(&all).await;
    assert!(
        outcomes.iter().all(|v| code(v) != "internal"),
        "no job may fail on a deadlock"
    );
    assert!(
        outcomes.iter().filter(|v| code(v) == "succeeded").count() > 100,
        "{} jobs ran",
        all.len()
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_while_holding_jobs_loses_none_and_charges_none_twice() {
    let mut app = deploy(2).await;
    let (book_id, _) = book(&app.db, &app.ids, &app.settings, 1, 1, 10).await;
    let chapters = bulk_chapters(&app.db, &app.ids, book_id, 400, 2).await;
    let reader = reader_with_coins(&app.db, &app.ids, "reader1", 10_000).await;
    let mut jobs = Vec::new();
    for chapter in &chapters {
        jobs.push(app.buy(reader, *chapter).await);
    }
    // Kill one worker mid-stream, while jobs are still queued and in flight.
    let started = Instant::now();
    while jobs::audit::unfinished(&app.db.main, &jobs)
        .await
        .unwrap()
        .len()
        > 350
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.workers[0].kill9();
    let outcomes = app.outcomes(&jobs).await;
    assert!(
        outcomes.iter().all(|v| code(v) == "succeeded"),
        "every purchase succeeds exactly once"
    );
    assert_eq!(app.buy_records(reader).await, 400);
    assert_eq!(balance(&app.db, reader).await, 10_000 - 800);
    assert_books_balance(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_worker_takes_a_pushed_job_at_once_not_on_its_next_poll() {
    let mut app = deploy(0).await;
    // Polls and heartbeats a minute apart: only the push announcement can wake the worker.
    app.workers.push(WorkerProcess::spawn_with(
        &app.settings,
        &[
            ("NOVEL__JOBS__POLL_INTERVAL_MS", "60000"),
            ("NOVEL__JOBS__HEARTBEAT_SECS", "60"),
        ],
    ));
    let (_, chapters) = book(&app.db, &app.ids, &app.settings, 2, 0, 1000).await;
    let reader = reader_with_coins(&app.db, &app.ids, "idle1", 100).await;
    // The first job may also be found by the worker's first look at start-up.
    let first = app.buy(reader, chapters[0]).await;
    app.outcomes(std::slice::from_ref(&first)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = app.buy(reader, chapters[1]).await;
    wait_for_outcomes(&app.db, &[second], Duration::from_secs(10)).await;
}
