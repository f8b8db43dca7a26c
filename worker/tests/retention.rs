//! Redis stays bounded: finished jobs are removed incrementally after the retention.

use std::time::Duration;

use jobs::ids::{ChapterId, UserId};
use jobs::job::submit;
use jobs::job::{JobId, StatusStore};
use jobs::purchase::PurchaseJob;
use jobs::queues::Queues;
use jobs::redis_conn::RedisConn;
use testkit::{
    WorkerProcess, book, bulk_chapters, prepare, reader_with_coins, settings, wait_for_outcomes,
};

/// Keys of this test's prefix and the memory they use (SCAN is fine in a test, never in code).
async fn footprint(redis: &mut RedisConn, prefix: &str) -> (usize, u64) {
    let keys = redis.keys_of(prefix).await.unwrap();
    let mut bytes = 0;
    for key in &keys {
        let used: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .query_async(redis)
            .await
            .unwrap();
        bytes += used.unwrap_or(0);
    }
    (keys.len(), bytes)
}

async fn run_jobs(
    queues: &Queues,
    status: &StatusStore,
    pairs: &[(UserId, ChapterId)],
) -> Vec<JobId> {
    let mut ids = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(200) {
        let pushes = chunk.iter().map(|(user_id, index_id)| async move {
            let job_id = queues.purchase.new_id(*user_id);
            let job = PurchaseJob {
                job_id: job_id.clone(),
                user_id: *user_id,
                index_id: *index_id,
                enqueued_at_ms: 0,
                max_price: None,
            };
            submit::enqueue(&queues.purchase, status, job)
                .await
                .unwrap();
            job_id
        });
        ids.extend(futures::future::join_all(pushes).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_ten_thousand_jobs_redis_no_longer_grows_with_the_jobs_run() {
    let mut settings = settings();
    settings.jobs.result_ttl_secs = 2;
    let (db, ids) = prepare(&settings).await;
    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let queues = Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let status = StatusStore::new(
        redis.clone(),
        &settings.redis.prefix,
        settings.jobs.result_ttl_secs,
    );
    let env = [
        ("NOVEL__JOBS__FINISHED_RETENTION_SECS", "1"),
        ("NOVEL__JOBS__RESULT_TTL_SECS", "2"),
    ];
    let _workers = [
        WorkerProcess::spawn_with(&settings, &env),
        WorkerProcess::spawn_with(&settings, &env),
    ];
    let (book_id, _) = book(&db, &ids, &settings, 1, 1, 10).await;
    let chapters = bulk_chapters(&db, &ids, book_id, 500, 1).await;
    let mut readers = Vec::new();
    for n in 0..20 {
        readers.push(reader_with_coins(&db, &ids, &format!("reader{n}"), 1000).await);
    }
    let pairs: Vec<(UserId, ChapterId)> = readers
        .iter()
        .flat_map(|r| chapters.iter().map(move |c| (*r, *c)))
        .collect();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(5000)
        .exec_async(&mut redis)
        .await
        .unwrap();
    redis::cmd("SLOWLOG")
        .arg("RESET")
        .exec_async(&mut redis)
        .await
        .unwrap();

    let settle = Duration::from_secs(4);
    let first = run_jobs(&queues, &status, &pairs[..5000]).await;
    wait_for_outcomes(&db, &first, Duration::from_secs(300)).await;
    tokio::time::sleep(settle).await;
    let (keys_after_5k, bytes_after_5k) = footprint(&mut redis, &settings.redis.prefix).await;
    let second = run_jobs(&queues, &status, &pairs[5000..]).await;
    wait_for_outcomes(&db, &second, Duration::from_secs(300)).await;
    tokio::time::sleep(settle).await;
    let (keys_after_10k, bytes_after_10k) = footprint(&mut redis, &settings.redis.prefix).await;
    println!(
        "after 5k jobs: {keys_after_5k} keys, {bytes_after_5k} B; after 10k: {keys_after_10k} keys, {bytes_after_10k} B"
    );
    assert!(
        keys_after_10k <= keys_after_5k + 5,
        "keys grew: {keys_after_5k} -> {keys_after_10k}"
    );
    assert!(
        keys_after_10k < 100,
        "finished jobs left behind: {keys_after_10k} keys"
    );
    assert!(
        bytes_after_10k < bytes_after_5k * 2 + 64 * 1024,
        "memory grew: {bytes_after_5k} -> {bytes_after_10k}"
    );

    let slow: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(128)
        .query_async(&mut redis)
        .await
        .unwrap();
    let ours: Vec<String> = slow
        .iter()
        .map(|entry| format!("{entry:?}"))
        .filter(|e| e.contains(&settings.redis.prefix))
        .collect();
    // A figure, not a verdict: on this shared machine any command can land in the slowlog when
    // Redis is descheduled. That each cleanup command does a bounded amount of work is proven
    // by `housekeeping::tests` (one batch per round), which is what keeps Redis unblocked.
    let cleanup = ours
        .iter()
        .filter(|e| {
            ["\"sscan\"", "\"srem\"", "\"hdel\""]
                .iter()
                .any(|c| e.to_lowercase().contains(c))
        })
        .count();
    println!("cleanup commands in the slowlog (over 5 ms): {cleanup}");
}
