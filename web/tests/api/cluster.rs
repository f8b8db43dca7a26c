//! The API on a Redis Cluster of the test's own (three primaries, three replicas): the path a
//! reader takes, checked on every run; the cluster pass of scripts/test.sh runs the whole suite
//! on a cluster.

use serde_json::{Value, json};
use testkit::WorkerProcess;
use testkit::redis_cluster::RedisCluster;

use crate::helpers::{json, spawn_app_with};

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
