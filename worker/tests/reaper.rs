//! Jobs that can never succeed still end: the reaper records them as failed / internal.

use std::time::Duration;

use jobs::ids::{ChapterId, EntityId, UserId};
use jobs::job::{JobId, JobView, Kind, Status, StatusStore, StoredStatus};
use jobs::job::{queue, submit};
use testkit::{WorkerProcess, prepare, settings, wait_for_outcomes};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_in_the_dead_set_is_recorded_as_failed_internal_and_its_poll_ends() {
    let settings = settings();
    let (db, _ids) = prepare(&settings).await;
    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let status = StatusStore::new(redis.clone(), &settings.redis.prefix, 60);
    let job_id = JobId::new();
    // As apalis leaves a job after its last retry: its status still `queued`, its id dead.
    let prefix = &settings.redis.prefix;
    let config = queue::config(
        prefix,
        Kind::Purchase,
        job_id.partition(),
        &settings.jobs,
        1,
    );
    let view = JobView::new(&job_id, Kind::Purchase, Status::Queued);
    redis::pipe()
        .hset_multiple(
            status.key(&job_id),
            &[
                ("status", "queued".to_owned()),
                ("view", jobs::job::to_json(&view)),
                ("owner", "42".to_owned()),
            ],
        )
        .sadd(config.dead_jobs_set(), job_id.as_str())
        .exec_async(&mut redis)
        .await
        .unwrap();
    let _worker = WorkerProcess::spawn(&settings);
    wait_for_outcomes(&db, std::slice::from_ref(&job_id), Duration::from_secs(20)).await;
    let StoredStatus { owner, view } = jobs::job::outcome::recorded_with_owner(&db.main, &job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner, UserId::from_raw(42));
    assert_eq!(view.status, Status::Failed);
    assert_eq!(view.error.unwrap().code.as_str(), "internal");
    // The status is published right after the outcome is recorded (MySQL first).
    let mut published = Status::Queued;
    for _ in 0..100 {
        published = status.get(&job_id).await.unwrap().unwrap().view.status;
        if published != Status::Queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(published, Status::Failed);
    // The reaper removes the dead entry right after publishing the status.
    let mut left = true;
    for _ in 0..100 {
        left = redis::cmd("SISMEMBER")
            .arg(config.dead_jobs_set())
            .arg(job_id.as_str())
            .query_async(&mut redis)
            .await
            .unwrap();
        if !left {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!left, "the dead entry is removed once recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_payload_is_not_retried_forever_and_ends_failed() {
    let settings = settings();
    let (db, _ids) = prepare(&settings).await;
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let status = StatusStore::new(redis.clone(), &settings.redis.prefix, 60);
    let prefix = &settings.redis.prefix;
    let raw = queue::Partitioned::<serde_json::Value>::new(
        &redis,
        prefix,
        Kind::Purchase,
        &settings.jobs,
        1,
    );
    let job_id = raw.new_id(UserId::from_raw(7));
    let view = JobView::new(&job_id, Kind::Purchase, Status::Queued);
    let malformed = serde_json::json!({ "index_id": "not a purchase" });
    submit::submit(&raw, &status, UserId::from_raw(7), &view, None, &malformed)
        .await
        .unwrap();
    // A well-formed job queued behind it still runs: the bad one does not block the queue.
    let queues = jobs::queues::Queues::new(&redis, &settings.redis.prefix, &settings.jobs, 1);
    let good_id = queues.purchase.new_id(UserId::from_raw(7));
    let good = jobs::purchase::PurchaseJob {
        job_id: good_id.clone(),
        user_id: UserId::from_raw(7),
        index_id: ChapterId::from_raw(99),
        enqueued_at_ms: 0,
        max_price: None,
    };
    submit::enqueue(&queues.purchase, &status, good)
        .await
        .unwrap();
    let _worker = WorkerProcess::spawn(&settings);
    wait_for_outcomes(
        &db,
        &[job_id.clone(), good_id.clone()],
        Duration::from_secs(30),
    )
    .await;
    let view = jobs::job::outcome::recorded(&db.main, &job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.error.unwrap().code.as_str(), "internal");
    let good = jobs::job::outcome::recorded(&db.main, &good_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(good.error.unwrap().code.as_str(), "chapter_not_found");
}
