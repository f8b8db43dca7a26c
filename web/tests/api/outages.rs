//! Dependency outages: 503 `unavailable` (never a hang or a 500), `/readyz` names the dependency,
//! and everything recovers by itself when it returns.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use testkit::WorkerProcess;
use testkit::proxy::Proxy;

use crate::helpers::{TestApp, expect_error, spawn_app_with, test_settings};
use crate::money::code;

/// Retries `check` for up to 20 s: recovery takes a reconnect or two.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn timed(app: &TestApp, path: &str, token: &str) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = app
        .plain
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response, started.elapsed())
}

async fn ready_down(app: &TestApp) -> Value {
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_mysql_down_reads_get_503_purchases_still_queue_and_all_recovers() {
    let mysql = testkit::address_of(&test_settings().database.url);
    let proxy = Proxy::start(mysql).await;
    let app = spawn_app_with(|s| {
        let url = s
            .database
            .url
            .expose_secret()
            .replace(&mysql.to_string(), &proxy.addr.to_string());
        s.database.url = SecretString::from(url);
        s.database.acquire_timeout_ms = 1000;
    })
    .await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let (_, chapters) = app.book(2, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    assert_eq!(
        code(&app.buy_and_wait(reader.bearer(), &chapters[0]).await),
        "succeeded"
    );

    proxy.cut();
    let (response, took) = timed(&app, "/api/me", &reader.token).await;
    assert!(
        took < Duration::from_secs(5),
        "answered in {took:?}, not a hang"
    );
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    expect_error(
        app.get("/api/books").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_eq!(ready_down(&app).await["down"], serde_json::json!(["mysql"]));
    // The queue is in Redis: a purchase is still accepted, and runs once MySQL is back.
    let job_id = app.bought(reader.bearer(), &chapters[1]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    proxy.restore().await;
    eventually("the catalog", || async {
        app.get("/api/books").await.status() == StatusCode::OK
    })
    .await;
    eventually("readiness", || async {
        app.get("/readyz").await.status() == StatusCode::OK
    })
    .await;
    assert_eq!(
        code(&app.outcome(reader.bearer(), &job_id).await),
        "succeeded"
    );
    let me: Value = app.me(reader.bearer()).await.json().await.unwrap();
    assert_eq!(me["balance"], 70);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_down_signed_in_requests_get_503_and_all_recovers() {
    let proxy = Proxy::start(testkit::address_of(&test_settings().redis.url)).await;
    let app =
        spawn_app_with(|s| testkit::single_redis(&mut s.redis, format!("redis://{}", proxy.addr)))
            .await;
    app.load_demo().await;
    let (_, chapters) = app.book(1, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;

    proxy.cut();
    let (response, took) = timed(&app, "/api/me", &reader.token).await;
    assert!(
        took < Duration::from_secs(5),
        "answered in {took:?}, not a hang"
    );
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    expect_error(
        app.buy(reader.bearer(), &chapters[0]).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_eq!(ready_down(&app).await["down"], serde_json::json!(["redis"]));
    assert_eq!(
        app.get("/api/books").await.status(),
        StatusCode::OK,
        "the signed-out catalog needs no Redis"
    );

    proxy.restore().await;
    eventually("sessions", || async {
        app.me(reader.bearer()).await.status() == StatusCode::OK
    })
    .await;
    eventually("readiness", || async {
        app.get("/readyz").await.status() == StatusCode::OK
    })
    .await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    assert_eq!(
        code(&app.buy_and_wait(reader.bearer(), &chapters[0]).await),
        "succeeded"
    );
}
