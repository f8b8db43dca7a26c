//! Passwords: changing one, and the failed-login limits.

use reqwest::StatusCode;

use crate::helpers::{As, PASSWORD, expect_error, json, retry_after, spawn_app, spawn_app_with};

#[tokio::test]
async fn changing_the_password_ends_older_tokens_and_issues_a_new_one() {
    let app = spawn_app().await;
    app.create_user("changer", "reader").await;
    let signed = app.sign_in("changer").await;
    let wrong = app
        .change_password(signed.bearer(), "not-my-password", "brand-new-pass")
        .await;
    expect_error(wrong, StatusCode::BAD_REQUEST, "invalid_request").await;
    let short = app
        .change_password(signed.bearer(), PASSWORD, "short")
        .await;
    expect_error(short, StatusCode::BAD_REQUEST, "invalid_request").await;

    let changed = app
        .change_password(signed.cookie(), PASSWORD, "brand-new-pass")
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let cookie = changed.headers()["set-cookie"].to_str().unwrap().to_owned();
    let new_token = json(changed).await["token"].as_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("novel_token={new_token};")));
    expect_error(
        app.me(signed.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        json(app.me(As::Bearer(&new_token)).await).await["username"],
        "changer"
    );
    let old = app.login("changer", PASSWORD, false).await;
    expect_error(old, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    assert_eq!(
        app.login("changer", "brand-new-pass", false).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_eleventh_failed_login_of_an_account_is_rate_limited() {
    let app = spawn_app().await;
    app.create_user("target", "reader").await;
    for _ in 0..10 {
        let failed = app.login("target", "wrong-password", false).await;
        expect_error(failed, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    let limited = app.login("target", "wrong-password", false).await;
    let retry_after = retry_after(&limited);
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let correct = app.login("target", PASSWORD, false).await;
    expect_error(correct, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let metrics = app.metrics().await;
    for outcome in ["success", "failure", "frozen", "rate_limited"] {
        let line = format!("novel_logins_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(metrics.contains("novel_sessions_active"), "{metrics}");
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_checks_at_most_the_limit() {
    let app = spawn_app().await;
    app.create_user("target", "reader").await;
    let guesses = (0..40).map(|_| app.login("target", "wrong-password", false));
    let mut checked = 0;
    for answer in futures::future::join_all(guesses).await {
        if answer.status() == StatusCode::UNAUTHORIZED {
            checked += 1;
            expect_error(answer, StatusCode::UNAUTHORIZED, "bad_credentials").await;
        } else {
            assert!(answer.headers().contains_key("retry-after"));
            expect_error(answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        }
    }
    assert!(
        (1..=10).contains(&checked),
        "{checked} guesses were checked"
    );
}

#[tokio::test]
async fn failed_logins_from_one_ip_are_limited_across_accounts() {
    let app = spawn_app_with(|s| s.sessions.login_failures_per_ip = 3).await;
    app.create_user("someone", "reader").await;
    for name in ["alpha", "bravo", "charlie"] {
        let failed = app.login(name, "wrong-password", false).await;
        expect_error(failed, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    let limited = app.login("someone", PASSWORD, false).await;
    assert!(limited.headers().contains_key("retry-after"));
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn successful_logins_are_not_limited() {
    let app = spawn_app_with(|s| s.sessions.login_failures_per_account = 2).await;
    app.create_user("regular", "reader").await;
    for _ in 0..4 {
        assert_eq!(
            app.login("regular", PASSWORD, false).await.status(),
            StatusCode::OK
        );
    }
}
