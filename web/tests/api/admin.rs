//! Admin control of sessions and the user list.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jobs::keys::{SessionKeys, session_part, session_part_of_key};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    As, PASSWORD, Signed, TestApp, expect_error, json, spawn_app, spawn_app_with,
};

fn accounts(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap().to_owned())
        .collect()
}

async fn session_of(app: &TestApp, admin: &Signed, account: &str) -> Value {
    let list = json(
        app.admin_sessions(admin.bearer(), &format!("?q={account}"))
            .await,
    )
    .await;
    list["items"][0].clone()
}

#[tokio::test]
async fn sessions_are_listed_newest_activity_first_in_pages_and_fuzzy_search_respects_the_limit() {
    let app = spawn_app_with(|s| s.sessions.fuzzy_search_limit = 50).await;
    app.create_admin("boss").await;
    let names: Vec<String> = (0..50).map(|n| format!("user_{n:02}")).collect();
    let mut signed = Vec::new();
    for name in &names {
        app.create_user(name, "reader").await;
        signed.push(app.sign_in(name).await);
    }
    // Touch the sessions in a shuffled order, so activity differs from login order.
    let order: Vec<usize> = (0..50).map(|n| (n * 7) % 50).collect();
    let (admin, expected) = touch_then_sign_in_boss(&app, &names, &signed, &order).await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let list = json(
            app.admin_sessions(admin.bearer(), &format!("?page={page}&size=20"))
                .await,
        )
        .await;
        assert_eq!(
            (list["total"].as_u64(), list["match"].as_str()),
            (Some(51), Some("all"))
        );
        seen.extend(accounts(&list));
    }
    assert_eq!(seen, expected);
    let item = session_of(&app, &admin, "user_07").await;
    assert_eq!(item["user_id"], signed[7].user_id.as_str());
    assert_eq!(
        (item["remember_me"].as_bool(), item["frozen"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(item["last_active"].as_str().unwrap() > item["created"].as_str().unwrap());

    let over = json(
        app.admin_sessions(admin.bearer(), "?q=user_1&fuzzy=true")
            .await,
    )
    .await;
    assert_eq!(
        (over["match"].as_str(), over["total"].as_u64()),
        (Some("exact"), Some(0)),
        "51 > 50"
    );
    app.admin_kick(admin.bearer(), "user_00").await;
    let fuzzy = json(
        app.admin_sessions(admin.bearer(), "?q=user_1&fuzzy=true&size=4")
            .await,
    )
    .await;
    assert_eq!(
        (fuzzy["match"].as_str(), fuzzy["total"].as_u64()),
        (Some("fuzzy"), Some(10))
    );
    assert_eq!(accounts(&fuzzy).len(), 4);
    let literal = json(
        app.admin_sessions(admin.bearer(), "?q=%25&fuzzy=true")
            .await,
    )
    .await;
    assert_eq!(literal["total"], 0, "% is taken literally");
    let exact = json(app.admin_sessions(admin.bearer(), "?q=user_13").await).await;
    assert_eq!(
        (exact["match"].as_str(), accounts(&exact)),
        (Some("exact"), vec!["user_13".to_owned()])
    );
}

#[tokio::test]
async fn the_admin_list_pages_sessions_of_accounts_in_different_partitions_newest_first() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    // Ten accounts, at most two per session partition, so they span several partitions and
    // some partitions hold two.
    let mut per_part = BTreeMap::<u8, usize>::new();
    let names: Vec<String> = (0..)
        .map(|n| format!("part_{n}"))
        .filter(|name| {
            let held = per_part.entry(session_part(name)).or_default();
            *held += 1;
            *held <= 2
        })
        .take(10)
        .collect();
    let parts: BTreeSet<u8> = names.iter().map(|name| session_part(name)).collect();
    assert!(parts.len() >= 5, "{parts:?}");
    assert!(parts.len() < names.len(), "some partition holds two");
    let mut signed = Vec::new();
    for name in &names {
        app.create_user(name, "reader").await;
        signed.push(app.sign_in(name).await);
    }
    // The session's keys are in its account's partition.
    let mut redis = app.state.redis.clone();
    let prefix = &app.state.settings.redis.prefix;
    for name in &names {
        let key: String = redis::cmd("GET")
            .arg(SessionKeys::of_account(prefix, name).account(name))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(session_part_of_key(&key), session_part(name), "{name}");
    }
    let order: Vec<usize> = (0..10).map(|n| (n * 3) % 10).collect();
    let (admin, expected) = touch_then_sign_in_boss(&app, &names, &signed, &order).await;
    let mut seen = Vec::new();
    for page in 1..=4 {
        let list = json(
            app.admin_sessions(admin.bearer(), &format!("?page={page}&size=3"))
                .await,
        )
        .await;
        assert_eq!(list["total"], 11);
        let items = accounts(&list);
        assert_eq!(items.len(), if page == 4 { 2 } else { 3 }, "page {page}");
        seen.extend(items);
    }
    assert_eq!(seen, expected, "newest first, each once");
    let beyond = json(app.admin_sessions(admin.bearer(), "?page=5&size=3").await).await;
    assert_eq!(accounts(&beyond), Vec::<String>::new());
}

#[tokio::test]
async fn expired_sessions_drop_out_of_the_list_without_breaking_it() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    for name in ["gone_one", "stays"] {
        app.create_user(name, "reader").await;
        app.sign_in(name).await;
    }
    // Expire one session behind the app's back, as Redis does after the idle timeout.
    let mut redis = app.state.redis.clone();
    let keys = SessionKeys::of_account(&app.state.settings.redis.prefix, "gone_one");
    let key: String = redis::cmd("GET")
        .arg(keys.account("gone_one"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(keys.token(&key))
        .query_async(&mut redis)
        .await
        .unwrap();
    let admin = app.sign_in("boss").await;
    let list = json(app.admin_sessions(admin.bearer(), "").await).await;
    assert_eq!(accounts(&list), ["boss", "stays"]);
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn expired_sessions_no_longer_count_for_the_total_or_the_fuzzy_search_limit() {
    let app = spawn_app_with(|s| {
        s.sessions.idle_timeout_secs = 1;
        s.sessions.fuzzy_search_limit = 1;
    })
    .await;
    app.create_admin("boss").await;
    for name in ["idle_one", "idle_two"] {
        app.create_user(name, "reader").await;
        app.sign_in(name).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let admin = app.sign_in("boss").await;
    // The expired sessions are not on this page, so listing it cannot notice them.
    let list = json(app.admin_sessions(admin.bearer(), "?size=1").await).await;
    assert_eq!(accounts(&list), ["boss"]);
    assert_eq!(list["total"], 1);
    let search = json(app.admin_sessions(admin.bearer(), "?q=bo&fuzzy=true").await).await;
    assert_eq!(search["match"], "fuzzy");
    assert_eq!(accounts(&search), ["boss"]);
}

#[tokio::test]
async fn a_reader_gets_403_on_every_admin_route_and_nothing_changes() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    app.create_user("curious", "reader").await;
    app.create_user("victim", "reader").await;
    let reader = app.sign_in("curious").await;
    let victim = app.sign_in("victim").await;
    for who in [reader.bearer(), reader.cookie()] {
        for response in [
            app.admin_sessions(who, "").await,
            app.admin_users(who, "").await,
            app.admin_kick(who, "victim").await,
            app.admin_freeze(who, "victim").await,
            app.admin_unfreeze(who, "victim").await,
        ] {
            expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    expect_error(
        app.admin_users(As::Anonymous, "").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        json(app.me(victim.bearer()).await).await["username"],
        "victim"
    );
    let frozen: bool =
        sqlx::query_scalar("SELECT session_frozen = 1 FROM user WHERE username = 'victim'")
            .fetch_one(&app.state.db.main)
            .await
            .unwrap();
    assert!(!frozen);
}

#[tokio::test]
async fn admins_list_and_search_users() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    let id = app.create_user("findme", "reader,author").await;
    app.create_user("other", "reader").await;
    let admin = app.sign_in("boss").await;
    let all = json(app.admin_users(admin.bearer(), "?size=2").await).await;
    assert_eq!(
        (
            all["total"].as_u64(),
            all["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let found = json(app.admin_users(admin.bearer(), "?q=ndm").await).await;
    assert_eq!(found["total"], 1);
    let user = &found["items"][0];
    assert_eq!(user["id"], id.to_string());
    assert_eq!(user["roles"], serde_json::json!(["reader", "author"]));
    assert_eq!(
        (user["balance"].as_i64(), user["frozen"].as_bool()),
        (Some(0), Some(false))
    );
    assert_eq!(user["nick_name"], "findme");
}

#[tokio::test]
async fn the_create_admin_command_makes_an_admin_outside_the_api() {
    use secrecy::ExposeSecret;
    let app = spawn_app().await;
    let settings = &app.state.settings;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_web"))
        .args(["create-admin", "root_admin"])
        .envs(testkit::redis_env(settings))
        .env("NOVEL_ENV", "test")
        .env(
            "NOVEL__DATABASE__URL",
            settings.database.url.expose_secret(),
        )
        .env("NOVEL_ADMIN_PASSWORD", PASSWORD)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let admin = app.sign_in("root_admin").await;
    assert_eq!(
        app.admin_users(admin.bearer(), "").await.status(),
        StatusCode::OK
    );
    app.create_user("promoted", "reader").await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_web"))
        .args(["create-admin", "promoted"])
        .envs(testkit::redis_env(settings))
        .env("NOVEL_ENV", "test")
        .env(
            "NOVEL__DATABASE__URL",
            settings.database.url.expose_secret(),
        )
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let promoted = app.sign_in("promoted").await;
    let me = json(app.me(promoted.bearer()).await).await;
    assert_eq!(me["roles"], serde_json::json!(["reader", "admin"]));
}

/// Uses `signed[n]` for each n of `order`, a few milliseconds apart, then signs in the admin
/// `boss`: the admin, and the accounts the session list shows newest first.
async fn touch_then_sign_in_boss(
    app: &TestApp,
    names: &[String],
    signed: &[Signed],
    order: &[usize],
) -> (Signed, Vec<String>) {
    for &n in order {
        assert_eq!(app.me(signed[n].bearer()).await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let admin = app.sign_in("boss").await;
    let mut expected = vec!["boss".to_owned()];
    expected.extend(order.iter().rev().map(|&n| names[n].clone()));
    (admin, expected)
}
