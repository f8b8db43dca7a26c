use std::time::Duration;

use reqwest::StatusCode;
use secrecy::SecretString;
use testkit::redis_server::RedisServer;
use tokio::net::TcpListener;

use crate::helpers::{
    json, spawn_app, spawn_app_with, spawn_web_process_with, start, test_settings,
};

#[tokio::test]
async fn healthz_and_readyz_answer_ok_with_everything_up() {
    let app = spawn_app().await;
    assert_eq!(json(app.get("/healthz").await).await["status"], "ok");
    let ready = json(app.get("/readyz").await).await;
    assert_eq!(ready["mysql"], "up");
    assert_eq!(ready["redis"], "up");
}

#[tokio::test]
async fn readyz_reports_whether_redis_persists_with_aof() {
    for (aof, expected) in [(false, "none"), (true, "aof")] {
        let redis = RedisServer::start(aof).unwrap();
        let app = spawn_app_with(|s| testkit::single_redis(&mut s.redis, redis.url())).await;
        let ready = json(app.get("/readyz").await).await;
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["redis_persistence"], expected, "appendonly {aof}");
    }
}

#[tokio::test]
async fn with_require_aof_the_web_tier_refuses_a_redis_without_aof_naming_the_setting() {
    let redis = RedisServer::start(false).unwrap();
    let mut settings = test_settings();
    testkit::single_redis(&mut settings.redis, redis.url());
    settings.redis.require_aof = true;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let run = web::run(settings, listener, metrics, std::future::pending());
    let error = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("refuses at start instead of serving")
        .expect_err("refuses to start")
        .to_string();
    assert!(error.contains("redis.require_aof"), "{error}");
    assert!(error.contains("persistence: none"), "{error}");

    let durable = RedisServer::start(true).unwrap();
    let app = spawn_app_with(|s| {
        testkit::single_redis(&mut s.redis, durable.url());
        s.redis.require_aof = true;
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_names_mysql_when_it_is_unreachable() {
    // No MySQL listens on port 1; the pools connect lazily, so the app still starts.
    let mut settings = test_settings();
    settings.database.url = SecretString::from("mysql://root@127.0.0.1:1/novel_none");
    settings.database.acquire_timeout_ms = 500;
    let broken = start(settings).await;
    let response = broken.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert_eq!(body["down"], serde_json::json!(["mysql"]));
}

#[tokio::test]
async fn the_metrics_port_serves_prometheus_text() {
    let app = spawn_app().await;
    app.get("/api/books").await;
    let text = app.metrics().await;
    assert!(
        text.contains(
            "novel_http_requests_total{method=\"GET\",route=\"/api/books\",status=\"200\"}"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_method_a_client_invents_is_counted_as_other() {
    let app = spawn_app().await;
    let invented = reqwest::Method::from_bytes(b"BREW").unwrap();
    app.plain
        .request(invented, format!("{}/api/books", app.address))
        .send()
        .await
        .unwrap();
    let text = app.metrics().await;
    assert!(!text.contains("BREW"), "{text}");
    assert!(
        text.contains("novel_http_requests_total{method=\"other\""),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_stay_on_their_own_private_host_when_the_api_serves_every_address() {
    let app = spawn_web_process_with(&[("NOVEL__HTTP__HOST", "0.0.0.0")]).await;
    assert!(
        app.address.starts_with("http://0.0.0.0:"),
        "{}",
        app.address
    );
    assert!(
        app.metrics_address.starts_with("http://127.0.0.1:"),
        "{}",
        app.metrics_address
    );
    let worker = testkit::WorkerProcess::spawn_with(
        &app.state.settings,
        &[("NOVEL__HTTP__HOST", "0.0.0.0")],
    );
    assert!(
        worker.metrics_url.starts_with("http://127.0.0.1:"),
        "{}",
        worker.metrics_url
    );
}
