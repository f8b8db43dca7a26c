//! Hostile input: SQL metacharacters, huge strings, overflowing and negative ids, broken bodies,
//! other users' tokens. Always a 4xx in the error shape (or a harmless empty answer), never a
//! 5xx, and nothing changes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, expect_error, spawn_app};

const NASTY: [&str; 4] = ["' OR '1'='1", "\"; DROP TABLE user; --", "%_\\", "🙂\u{0}"];

/// Row counts and balances: what "nothing changed" means.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "SELECT COUNT(*) FROM user",
        "SELECT COUNT(*) FROM author",
        "SELECT COUNT(*) FROM book",
        "SELECT COUNT(*) FROM book_index",
        "SELECT COUNT(*) FROM user_buy_record",
        "SELECT COUNT(*) FROM account_flow",
        "SELECT COUNT(*) FROM purchase_job",
        "SELECT CAST(COALESCE(SUM(account_balance), 0) AS SIGNED) FROM user",
    ] {
        counts.push(
            sqlx::query_scalar(table)
                .fetch_one(&app.state.db.main)
                .await
                .unwrap(),
        );
    }
    counts
}

async fn send(app: &TestApp, method: Method, path: &str, who: As<'_>, body: Value) -> StatusCode {
    let response = app.request(method, path, who, Some(body)).await;
    let status = response.status();
    assert!(status.is_client_error(), "{path}: {status}");
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"].is_string() && error["message"].is_string(),
        "{error}"
    );
    status
}

#[tokio::test]
async fn metacharacters_and_huge_strings_in_every_field_get_4xx_and_change_nothing() {
    let app = spawn_app().await;
    app.load_demo().await;
    app.create_user("writer", "reader").await;
    let writer = app.sign_in("writer").await;
    app.become_author(writer.bearer(), "Writer").await;
    let book: Value = app
        .request(
            Method::POST,
            "/api/author/books",
            writer.bearer(),
            Some(json!({ "book_name": "Mine" })),
        )
        .await
        .json()
        .await
        .unwrap();
    let book = book["book_id"].as_str().unwrap().to_owned();
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let before = snapshot(&app).await;
    let huge = "x".repeat(100_000);
    for bad in NASTY.iter().copied().chain([huge.as_str()]) {
        let anon = As::Anonymous;
        send(
            &app,
            Method::POST,
            "/api/auth/register",
            anon,
            json!({ "username": bad, "password": "password123" }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/auth/register",
            anon,
            json!({ "username": "okname", "password": "password123", "nick_name": huge }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/auth/login",
            anon,
            json!({ "username": bad, "password": bad }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/me/password",
            writer.bearer(),
            json!({ "old_password": bad, "new_password": huge }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/author/books",
            writer.bearer(),
            json!({ "book_name": huge }),
        )
        .await;
        let chapter = json!({ "index_name": huge, "content": bad, "is_vip": false });
        send(
            &app,
            Method::POST,
            &format!("/api/author/books/{book}/chapters"),
            writer.bearer(),
            chapter,
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/purchases",
            writer.bearer(),
            json!({ "index_id": bad }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/purchases/batch",
            writer.bearer(),
            json!({ "index_ids": [bad] }),
        )
        .await;
        send(
            &app,
            Method::POST,
            &format!("/api/admin/users/{}/credit", writer.user_id),
            admin.bearer(),
            json!({ "amount": 5, "note": huge }),
        )
        .await;
        send(
            &app,
            Method::POST,
            "/api/admin/users/1/credit",
            admin.bearer(),
            json!({ "amount": bad, "note": bad }),
        )
        .await;
        // URLs carry at most a few KiB (clients refuse longer ones); bodies carry the whole string.
        let encoded: String = url_encode(&bad[..bad.len().min(4000)]);
        for path in [
            format!("/api/books/{encoded}"),
            format!("/api/jobs/{encoded}"),
            format!("/api/books/1/chapters/{encoded}"),
        ] {
            let status = app.get_as(writer.bearer(), &path).await.status();
            assert!(status.is_client_error(), "{path}: {status}");
        }
        for path in [
            format!("/api/admin/sessions/{encoded}/freeze"),
            format!("/api/admin/sessions/{encoded}/unfreeze"),
        ] {
            let status = app
                .request(Method::POST, &path, admin.bearer(), None)
                .await
                .status();
            assert!(status.is_client_error(), "{path}: {status}");
        }
        // Searches take metacharacters literally: an empty answer, not an error.
        for path in [
            "/api/books?q=",
            "/api/admin/users?q=",
            "/api/admin/sessions?fuzzy=true&q=",
        ] {
            let response = app
                .get_as(admin.bearer(), &format!("{path}{encoded}"))
                .await;
            let status = response.status();
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{path}{bad}: {status}"
            );
            if status == StatusCode::OK {
                assert_eq!(
                    response.json::<Value>().await.unwrap()["total"],
                    0,
                    "{path}{bad}"
                );
            }
        }
    }
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn overflowing_negative_and_malformed_numbers_and_bodies_get_400() {
    let app = spawn_app().await;
    let reader = app.reader_with_coins("reader1", 10).await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let before = snapshot(&app).await;
    for path in [
        "/api/books/18446744073709551616",
        "/api/books/9223372036854775808",
        "/api/books?page=4294967296",
        "/api/books?size=-1",
        "/api/me/purchases?page=0",
        "/api/jobs/x?wait_ms=-1",
    ] {
        expect_error(
            app.get_as(reader.bearer(), path).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    expect_error(
        app.get("/api/books/-1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for amount in [
        json!(9_223_372_036_854_775_807i64),
        json!(1e30),
        json!(-1),
        json!("5"),
    ] {
        send(
            &app,
            Method::POST,
            &format!("/api/admin/users/{}/credit", reader.user_id),
            admin.bearer(),
            json!({ "amount": amount }),
        )
        .await;
    }
    let raw = |body: Vec<u8>| {
        app.plain
            .post(format!("{}/api/purchases", app.address))
            .bearer_auth(&reader.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        vec![0xff, 0xfe, b'{'],
        b"{\"index_id\": \"\xc3\x28\"}".to_vec(),
        br#"{"index_id": 1, "index_id": 2}"#.to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
    ] {
        expect_error(
            raw(body).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    let too_big = vec![b' '; 2 * 1024 * 1024];
    let response = raw(too_big).await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}

#[tokio::test]
async fn another_users_token_reaches_none_of_their_resources() {
    let app = spawn_app().await;
    let (book, chapters) = app.book(2, 0).await;
    let owner = app.reader_with_coins("owner", 100).await;
    let thief = app.reader_with_coins("thief", 1).await;
    let job_id = &app.bought(owner.bearer(), &chapters[0]).await;
    expect_error(
        app.job(thief.bearer(), job_id, 0).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let theirs = app.my_purchases(thief.bearer()).await;
    assert_eq!(theirs["total"], 0, "purchases are per token");
    let path = format!("/api/books/{book}/chapters/{}", chapters[0]);
    expect_error(
        app.get_as(thief.bearer(), &path).await,
        StatusCode::PAYMENT_REQUIRED,
        "purchase_required",
    )
    .await;
    let before = snapshot(&app).await;
    for (method, path) in [
        (Method::POST, format!("/api/author/books/{book}/publish")),
        (
            Method::DELETE,
            format!("/api/author/books/{book}/chapters/{}", chapters[1]),
        ),
    ] {
        expect_error(
            app.request(method, &path, thief.bearer(), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    expect_error(
        app.credit(thief.bearer(), &thief.user_id, 100).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}
