//! What a worker checks in Redis at start: its persistence (it refuses one without AOF when the
//! deployment requires it, `redis.require_aof`), and that the deployment's processes all run
//! with its `jobs.partitions`.

use std::time::Duration;

use testkit::redis_server::RedisServer;
use tokio::net::TcpListener;

async fn run_briefly(redis: &RedisServer, require_aof: bool) -> anyhow::Result<()> {
    let mut settings = testkit::settings();
    testkit::single_redis(&mut settings.redis, redis.url());
    settings.redis.require_aof = require_aof;
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = tokio::time::sleep(Duration::from_millis(500));
    worker::run(settings, metrics, shutdown).await
}

#[tokio::test]
async fn with_require_aof_a_worker_refuses_a_redis_without_aof_naming_the_setting() {
    let volatile = RedisServer::start(false).unwrap();
    let error = run_briefly(&volatile, true)
        .await
        .expect_err("refuses to start")
        .to_string();
    assert!(error.contains("redis.require_aof"), "{error}");
    assert!(error.contains("persistence: none"), "{error}");

    run_briefly(&volatile, false)
        .await
        .expect("without the requirement it only warns, and runs");
    let durable = RedisServer::start(true).unwrap();
    run_briefly(&durable, true).await.expect("with AOF it runs");
}

#[tokio::test]
async fn a_worker_refuses_another_partition_count_than_the_deployments() {
    let settings = testkit::settings();
    let prefix = settings.redis.prefix.clone();
    let run = |partitions: u16| {
        let mut settings = settings.clone();
        settings.jobs.partitions = partitions;
        async move {
            let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let shutdown = tokio::time::sleep(Duration::from_millis(300));
            worker::run(settings, metrics, shutdown).await
        }
    };
    run(3).await.expect("the first process records its count");
    let error = run(2).await.expect_err("refuses another").to_string();
    assert!(error.contains("jobs.partitions"), "{error}");
    assert!(
        error.contains(&format!("{prefix}:config:partitions")),
        "{error}"
    );
    run(3).await.expect("the same count runs");
}
