//! CSRF synchronizer tokens on cookie writes: rotation and the grace period.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{As, csrf_of, expect_error, json, spawn_app_with};

#[tokio::test]
async fn a_cookie_write_needs_the_current_csrf_token_and_bearer_clients_none() {
    let app = spawn_app_with(|s| s.sessions.csrf_grace_ms = 300).await;
    app.create_user("writer", "reader").await;
    let signed = app.sign_in("writer").await;
    let token = signed.token.as_str();

    let missing = app.become_author(As::Cookie(token, None), "Pen").await;
    expect_error(missing, StatusCode::FORBIDDEN, "csrf_mismatch").await;
    let wrong = app
        .become_author(As::Cookie(token, Some("nope")), "Pen")
        .await;
    expect_error(wrong, StatusCode::FORBIDDEN, "csrf_mismatch").await;
    assert_eq!(
        json(app.me(signed.bearer()).await).await["author_id"],
        Value::Null,
        "nothing changed"
    );

    let accepted = app.become_author(signed.cookie(), "Pen").await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let rotated = csrf_of(&accepted).unwrap();
    assert_ne!(
        rotated, signed.csrf,
        "the token rotates after an accepted write"
    );

    tokio::time::sleep(Duration::from_millis(450)).await;
    let stale = app.become_author(signed.cookie(), "Pen").await;
    expect_error(stale, StatusCode::FORBIDDEN, "csrf_mismatch").await;
    let current = app
        .become_author(As::Cookie(token, Some(&rotated)), "Pen")
        .await;
    expect_error(current, StatusCode::CONFLICT, "conflict").await;

    let bearer = app.become_author(signed.bearer(), "Pen").await;
    expect_error(bearer, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn three_parallel_cookie_writes_with_one_csrf_token_all_pass_but_an_old_token_fails() {
    let app = spawn_app_with(|s| s.sessions.csrf_grace_ms = 1000).await;
    app.create_user("racer", "reader").await;
    let signed = app.sign_in("racer").await;
    let writes = (0..3).map(|_| app.become_author(signed.cookie(), "Racer"));
    let statuses: Vec<StatusCode> = futures::future::join_all(writes)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert!(!statuses.contains(&StatusCode::FORBIDDEN), "{statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let late = app.become_author(signed.cookie(), "Racer").await;
    expect_error(late, StatusCode::FORBIDDEN, "csrf_mismatch").await;
}
