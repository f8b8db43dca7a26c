//! Argon2 work is bounded: hashing beyond its concurrency is shed, registrations are limited.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, expect_error, retry_after, spawn_app_with};

#[tokio::test]
async fn a_burst_of_logins_runs_at_most_the_bound_of_hashes_and_sheds_the_rest() {
    let app = spawn_app_with(|s| {
        s.http.hash_concurrency = 1;
        s.http.hash_queue_timeout_ms = 1;
    })
    .await;
    let names: Vec<String> = (0..20).map(|i| format!("reader{i}")).collect();
    for name in &names {
        app.create_user(name, "reader").await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (state, done) = (app.state.clone(), done.clone());
        async move {
            let mut peak = 0;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(state.hasher.running());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            peak
        }
    });
    let logins = names.iter().map(|name| app.login(name, PASSWORD, false));
    let answers = futures::future::join_all(logins).await;
    done.store(true, Ordering::SeqCst);
    let (mut signed_in, mut shed) = (0, 0);
    for answer in answers {
        if answer.status() == StatusCode::OK {
            signed_in += 1;
        } else {
            shed += 1;
            assert_eq!(retry_after(&answer), 1);
            expect_error(answer, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        }
    }
    assert!(signed_in >= 1 && shed >= 1, "{signed_in} in, {shed} shed");
    assert!(
        sampler.await.unwrap() <= 1,
        "more hashes ran than the bound"
    );
}

#[tokio::test]
async fn registrations_beyond_the_per_ip_limit_are_rate_limited() {
    let app = spawn_app_with(|s| s.limits.registrations_per_ip_per_hour = 3).await;
    for name in ["first", "second", "third"] {
        assert_eq!(
            app.register(name, PASSWORD).await.status(),
            StatusCode::CREATED
        );
    }
    let limited = app.register("fourth", PASSWORD).await;
    let retry_after = retry_after(&limited);
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let bad = app.register("x", PASSWORD).await;
    expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
}
