//! Accounts and token sessions: register, login, logout, CSRF, password change, limits.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{As, PASSWORD, csrf_of, expect_error, json, spawn_app, spawn_app_with};

#[tokio::test]
async fn registering_and_logging_in_gives_a_token_a_cookie_and_a_csrf_token() {
    let app = spawn_app().await;
    let registered = app.register("new_reader", PASSWORD).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let user_id = json(registered).await["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = app.register("new_reader", "another-password").await;
    expect_error(again, StatusCode::CONFLICT, "conflict").await;
    for (username, password) in [
        ("ab", PASSWORD),
        ("bad-name", PASSWORD),
        ("okname", "short"),
    ] {
        let bad = app.register(username, password).await;
        expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
    }

    let response = app.login("new_reader", PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let csrf = csrf_of(&response).expect("a CSRF token");
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert_eq!(body["user"]["id"], user_id.as_str());
    assert_eq!(body["user"]["roles"], serde_json::json!(["reader"]));
    assert_eq!(
        cookie,
        format!("novel_token={token}; HttpOnly; SameSite=Lax; Path=/")
    );
    assert!(!csrf.is_empty());

    for who in [As::Bearer(token), As::Cookie(token, None)] {
        let me = app.me(who).await;
        assert!(
            csrf_of(&me).is_some(),
            "authenticated answers carry the CSRF token"
        );
        let me = json(me).await;
        assert_eq!(me["username"], "new_reader");
        assert_eq!(me["nick_name"], "new_reader");
        assert_eq!(me["balance"], 0);
        assert_eq!(me["author_id"], Value::Null);
    }
    let remembered = app.login("new_reader", PASSWORD, true).await;
    let cookie = remembered.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Max-Age=2592000"), "{cookie}");
}

#[tokio::test]
async fn logging_in_twice_ends_the_first_session() {
    let app = spawn_app().await;
    app.create_user("twice", "reader").await;
    app.create_admin("boss").await;
    let first = app.sign_in("twice").await;
    let second = app.sign_in("twice").await;
    expect_error(
        app.me(first.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        json(app.me(second.bearer()).await).await["username"],
        "twice"
    );
    let admin = app.sign_in("boss").await;
    let list = json(app.admin_sessions(admin.bearer(), "").await).await;
    let twice: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["account"] == "twice")
        .collect();
    assert_eq!(twice.len(), 1, "{list}");
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn logging_out_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    app.create_user("leaver", "reader").await;
    let signed = app.sign_in("leaver").await;
    let response = app.logout(signed.cookie()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("novel_token=;") && cookie.contains("Max-Age=0"));
    expect_error(
        app.me(signed.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn unknown_tokens_are_signed_out_on_public_routes_and_401_on_protected_ones() {
    let app = spawn_app().await;
    app.create_user("holder", "reader").await;
    let signed = app.sign_in("holder").await;
    let garbage = "x".repeat(43);
    let books = app.get_as(As::Bearer(&garbage), "/api/books").await;
    assert_eq!(books.status(), StatusCode::OK);
    assert!(csrf_of(&books).is_none());
    expect_error(
        app.me(As::Bearer(&garbage)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_error(
        app.me(As::Anonymous).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // A Bearer header alone decides, even next to a valid cookie.
    let both = app
        .plain
        .get(format!("{}/api/me", app.address))
        .bearer_auth(&garbage)
        .header("cookie", format!("novel_token={}", signed.token))
        .send()
        .await
        .unwrap();
    expect_error(both, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn becoming_an_author_updates_the_live_session_with_the_same_token() {
    let app = spawn_app().await;
    app.create_user("novice", "reader").await;
    let signed = app.sign_in("novice").await;
    let created = app.become_author(signed.bearer(), "  Quill  ").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let author_id = json(created).await["author_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = json(app.me(signed.bearer()).await).await;
    assert_eq!(me["author_id"], author_id.as_str());
    assert_eq!(me["roles"], serde_json::json!(["reader", "author"]));
    let pen: String = sqlx::query_scalar("SELECT pen_name FROM author WHERE user_id = ?")
        .bind(signed.user_id.parse::<i64>().unwrap())
        .fetch_one(&app.state.db.main)
        .await
        .unwrap();
    assert_eq!(pen, "Quill");
    let again = app.become_author(signed.bearer(), "Quill").await;
    expect_error(again, StatusCode::CONFLICT, "conflict").await;
    let bad = app.become_author(signed.bearer(), "").await;
    expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
    let anonymous = app
        .request(
            Method::POST,
            "/api/author/register",
            As::Anonymous,
            Some(serde_json::json!({"pen_name": "x"})),
        )
        .await;
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn an_idle_session_expires_and_an_active_one_ends_at_the_absolute_timeout() {
    let app = spawn_app_with(|s| {
        s.sessions.idle_timeout_secs = 1;
        s.sessions.absolute_timeout_secs = 2;
    })
    .await;
    app.create_user("sleepy", "reader").await;
    app.create_user("busy", "reader").await;
    let sleepy = app.sign_in("sleepy").await;
    let busy = app.sign_in("busy").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(app.me(busy.bearer()).await.status(), StatusCode::OK);
    }
    expect_error(
        app.me(sleepy.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    expect_error(
        app.me(busy.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}
