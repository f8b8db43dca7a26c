//! The API on a Redis Cluster of the test's own (three primaries, three replicas): the path a
//! reader takes, checked on every run; the cluster pass of scripts/test.sh runs the whole suite
//! on a cluster.

use jobs::job::Kind;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::WorkerProcess;
use testkit::redis_cluster::RedisCluster;

use crate::helpers::{expect_error, json, spawn_app_with, start};

/// On a three-primary cluster with three job partitions a reader signs in, buys, is answered
/// by a long-poll, and the admin lists the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_three_primary_cluster_a_reader_signs_in_buys_gets_a_long_poll_answer_and_is_listed() {
    // Dropped last: the app and the worker stop before their Redis does.
    let cluster = RedisCluster::start(5000).expect("a cluster of the test's own starts");
    let app = spawn_app_with(|s| {
        cluster.configure(&mut s.redis);
        s.jobs.partitions = 3;
    })
    .await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let (book, chapters) = app.book(2, 1).await;
    let reader = app.reader_with_coins("reader1", 100).await;

    let job_id = app.bought(reader.bearer(), &chapters[1]).await;
    let job = app.outcome(reader.bearer(), &job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["result"],
        json!({ "bought": [chapters[1]], "skipped": [], "spent": 15, "balance": 85 })
    );
    let read = json(
        app.get_as(
            reader.bearer(),
            &format!("/api/books/{book}/chapters/{}", chapters[1]),
        )
        .await,
    )
    .await;
    assert!(read["content"].as_str().unwrap().starts_with('字'));

    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let list = json(app.admin_sessions(admin.bearer(), "").await).await;
    let mut accounts: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s: &Value| s["account"].as_str().unwrap())
        .collect();
    accounts.sort_unstable();
    assert_eq!(accounts, ["boss", "reader1", "reader1_admin"], "{list}");
    assert_eq!(list["total"], 3);
}

/// With `redis.wait_replicas = 1` a purchase is accepted only once a replica holds it: while
/// the replica of the reader's partition is stopped the request gets 503 (nothing confirmed),
/// also when repeated through another web process, and the same request again, once the
/// replica is back, gets the job, charged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_wait_replicas_a_purchase_is_accepted_only_once_a_replica_holds_it() {
    let cluster = RedisCluster::start(5000).expect("a cluster of the test's own starts");
    let app = spawn_app_with(|s| {
        cluster.configure(&mut s.redis);
        s.jobs.partitions = 3;
        s.redis.wait_replicas = 1;
        s.redis.wait_timeout_ms = 300;
    })
    .await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let (_, chapters) = app.book(2, 1).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    let settings = &app.state.settings;
    let user = reader.user_id.parse().unwrap();
    let partition = jobs::keys::partition_of_user(user, settings.jobs.partitions);
    let queue = jobs::keys::job_queue(&settings.redis.prefix, partition, Kind::Purchase);
    let primary = cluster.primary_of(&queue).unwrap();
    let replica = cluster.replica_of(primary).unwrap();
    let pid = cluster.pid(replica).unwrap().to_string();
    let signal = |which: &str| {
        let sent = std::process::Command::new("kill")
            .args([which, pid.as_str()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    let body = json!({ "index_id": chapters[1] });

    // Another web process, whose connections for waiting submits have written nothing yet.
    let other = start(settings.clone()).await;

    signal("-STOP");
    let refused = app
        .keyed(&reader.token, "buy-wait", "/api/purchases", body.clone())
        .await;
    // The retry reaches the other web process: the replay must not be confirmed while the job
    // it answers is on the primary only.
    let replayed = other
        .keyed(&reader.token, "buy-wait", "/api/purchases", body.clone())
        .await;
    signal("-CONT");
    expect_error(refused, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    expect_error(replayed, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    let accepted = other
        .keyed(&reader.token, "buy-wait", "/api/purchases", body)
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let job_id = json(accepted).await["job_id"].as_str().unwrap().to_owned();
    let job = app.outcome(reader.bearer(), &job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["balance"], 85, "charged once: {job}");
}
