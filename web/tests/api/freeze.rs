//! Admins freeze, unfreeze and kick out sessions.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, Signed, TestApp, expect_error, json, spawn_app};

async fn session_of(app: &TestApp, admin: &Signed, account: &str) -> serde_json::Value {
    let list = json(
        app.admin_sessions(admin.bearer(), &format!("?q={account}"))
            .await,
    )
    .await;
    list["items"][0].clone()
}

#[tokio::test]
async fn a_frozen_session_can_do_nothing_until_an_admin_unfreezes_it() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    app.create_user("suspect", "reader").await;
    let admin = app.sign_in("boss").await;
    let suspect = app.sign_in("suspect").await;
    assert_eq!(
        app.admin_freeze(admin.bearer(), "suspect").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(session_of(&app, &admin, "suspect").await["frozen"], true);

    for who in [suspect.bearer(), suspect.cookie()] {
        for response in [
            app.me(who).await,
            app.logout(who).await,
            app.get_as(who, "/api/books").await,
            app.become_author(who, "Pen").await,
        ] {
            expect_error(response, StatusCode::FORBIDDEN, "session_frozen").await;
        }
    }
    let login = app.login("suspect", PASSWORD, false).await;
    expect_error(login, StatusCode::FORBIDDEN, "session_frozen").await;
    let users = json(app.admin_users(admin.bearer(), "?q=suspect").await).await;
    assert_eq!(users["items"][0]["frozen"], true);

    assert_eq!(
        app.admin_unfreeze(admin.bearer(), "suspect").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        json(app.me(suspect.bearer()).await).await["username"],
        "suspect"
    );
    expect_error(
        app.admin_freeze(admin.bearer(), "nobody_here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.admin_unfreeze(admin.bearer(), "nobody_here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_freeze_survives_a_kick_and_lost_redis_keys_until_unfreeze() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    app.create_user("suspect", "reader").await;
    let admin = app.sign_in("boss").await;
    let suspect = app.sign_in("suspect").await;
    app.admin_freeze(admin.bearer(), "suspect").await;
    assert_eq!(
        app.admin_kick(admin.bearer(), "suspect").await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        app.me(suspect.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let login = app.login("suspect", PASSWORD, false).await;
    expect_error(login, StatusCode::FORBIDDEN, "session_frozen").await;

    app.flush_redis().await;
    let login = app.login("suspect", PASSWORD, false).await;
    expect_error(login, StatusCode::FORBIDDEN, "session_frozen").await;
    let admin = app.sign_in("boss").await;
    app.admin_unfreeze(admin.bearer(), "suspect").await;
    let back = app.sign_in("suspect").await;
    assert_eq!(
        json(app.me(back.bearer()).await).await["username"],
        "suspect"
    );
}

#[tokio::test]
async fn a_kicked_session_stops_working_at_once() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    app.create_user("rowdy", "reader").await;
    let admin = app.sign_in("boss").await;
    let rowdy = app.sign_in("rowdy").await;
    assert_eq!(
        app.admin_kick(admin.bearer(), "rowdy").await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        app.me(rowdy.bearer()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let list = json(app.admin_sessions(admin.bearer(), "?q=rowdy").await).await;
    assert_eq!(list["total"], 0);
    assert_eq!(
        app.admin_kick(admin.bearer(), "rowdy").await.status(),
        StatusCode::NO_CONTENT
    );
}
