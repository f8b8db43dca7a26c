//! Admins freeze, unfreeze and kick out sessions.

use reqwest::StatusCode;

use crate::helpers::{As, PASSWORD, Signed, TestApp, expect_error, json, spawn_app};

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

#[tokio::test]
async fn a_password_change_racing_a_freeze_is_refused_and_keeps_the_password() {
    let app = spawn_app().await;
    app.create_user("suspect", "reader").await;
    let suspect = app.sign_in("suspect").await;
    // The admin's freeze lands in MySQL while the change, already past the session check,
    // runs its hashes.
    let db = &app.state.db.main;
    jobs::users::set_frozen(db, &username("suspect"), true)
        .await
        .unwrap();
    let change = app
        .change_password(suspect.bearer(), PASSWORD, "brand-new-pass")
        .await;
    expect_error(change, StatusCode::FORBIDDEN, "session_frozen").await;

    jobs::users::set_frozen(db, &username("suspect"), false)
        .await
        .unwrap();
    let new = app.login("suspect", "brand-new-pass", false).await;
    expect_error(new, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    app.sign_in("suspect").await;
}

#[tokio::test]
async fn a_session_opened_after_a_freeze_landed_is_frozen() {
    let app = spawn_app().await;
    app.create_user("suspect", "reader").await;
    let db = &app.state.db.main;
    let row = jobs::accounts::find_login(db, &username("suspect"))
        .await
        .unwrap()
        .unwrap();
    assert!(!row.session_frozen);
    // The freeze lands after the login or password change checked the account, before the new
    // session is written: its Redis half found the old session, or none.
    jobs::users::set_frozen(db, &username("suspect"), true)
        .await
        .unwrap();
    let opened = web::sessions::open(&app.state, &row, false).await.unwrap();
    assert!(opened.frozen);
    let me = app.me(As::Bearer(&opened.created.token)).await;
    expect_error(me, StatusCode::FORBIDDEN, "session_frozen").await;
}

fn username(name: &str) -> jobs::accounts::Username {
    jobs::accounts::Username::parse(name).unwrap()
}
