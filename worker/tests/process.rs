//! The worker binary as operators run it: starts, serves metrics, stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn a_worker_serves_health_and_metrics_and_stops_cleanly_on_sigterm() {
    let mut settings = jobs::config::load_with("test").unwrap();
    settings.redis.prefix = format!("tw{}", ulid::Ulid::new());
    let prefix = settings.redis.prefix.clone();
    let mut child = Command::new(env!("CARGO_BIN_EXE_worker"))
        .envs(testkit::redis_env(&settings))
        .env("NOVEL_ENV", "test")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = testkit::first_line(&mut child);
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let client = reqwest::Client::new();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("novel_id_lease_lost_total"), "{metrics}");

    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let leases: Vec<String> = (0..32)
        .map(|m| jobs::keys::id_lease(&prefix, 0, m))
        .collect();
    let held: u32 = redis::cmd("EXISTS")
        .arg(&leases)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(held, 1, "the worker holds exactly one machine id");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "a SIGTERM ends the worker cleanly: {status}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let held: u32 = redis::cmd("EXISTS")
        .arg(&leases)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(held, 0, "the lease is released on shutdown");
}
