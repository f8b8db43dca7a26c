//! Admin credits: validation, the order of checks, and at most one credit per key.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_error, spawn_app};

async fn balance(app: &TestApp, user_id: &str) -> jobs::coins::Coins {
    testkit::balance(&app.state.db, user_id.parse().unwrap()).await
}

#[tokio::test]
async fn admin_credit_validates_its_input_and_only_admins_may_credit() {
    let app = spawn_app().await;
    let reader = app.reader_with_coins("reader1", 10).await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    for amount in [0, -5, 1_000_000_001] {
        expect_error(
            app.credit(admin.bearer(), &reader.user_id, amount).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    expect_error(
        app.credit(admin.bearer(), "4242", 5).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.credit(reader.bearer(), &reader.user_id, 5).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let ok: Value = app
        .credit(admin.bearer(), &reader.user_id, 1_000_000_000)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["balance"], 1_000_000_010i64);
    assert_eq!(balance(&app, &reader.user_id).await, 1_000_000_010);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test]
async fn an_unknown_user_is_not_found_before_a_bad_credit_body_is_read() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    expect_error(
        app.credit(admin.bearer(), "4242", 0).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_credit_retried_with_its_key_credits_once_and_the_key_cannot_be_reused() {
    let app = spawn_app().await;
    let user_id = app.create_user("creditee", "reader").await.to_string();
    app.create_admin("banker").await;
    let admin = app.sign_in("banker").await;
    let path = format!("/api/admin/users/{user_id}/credit");
    let body = json!({ "amount": 40, "note": "goodwill" });
    let retries = (0..8).map(|_| app.keyed(&admin.token, "credit-1", &path, body.clone()));
    for response in join_all(retries).await {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["balance"], 40);
    }
    let other = json!({ "amount": 41, "note": "goodwill" });
    expect_error(
        app.keyed(&admin.token, "credit-1", &path, other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let next = app.keyed(&admin.token, "credit-2", &path, body).await;
    assert_eq!(next.json::<Value>().await.unwrap()["balance"], 80);
    assert_eq!(balance(&app, &user_id).await, 80);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account_flow WHERE user_id = ?")
        .bind(user_id.parse::<i64>().unwrap())
        .fetch_one(&app.state.db.main)
        .await
        .unwrap();
    assert_eq!(rows, 2, "two credits, two ledger rows");
    testkit::assert_books_balance(&app.state.db).await;
}

/// JSON Schema counts `5.0` as an integer, so a client generated from the document may send it.
#[tokio::test]
async fn whole_numbers_written_with_a_zero_fraction_are_integers() {
    let app = spawn_app().await;
    let reader = app.reader_with_coins("reader1", 10).await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let path = format!("/api/admin/users/{}/credit", reader.user_id);
    let body = json!({ "amount": 5.0 });
    let response = app
        .request(Method::POST, &path, admin.bearer(), Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(balance(&app, &reader.user_id).await, 15);
    let body = json!({ "amount": 5.5 });
    let response = app
        .request(Method::POST, &path, admin.bearer(), Some(body))
        .await;
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let body = json!({ "index_id": 42.0 });
    let response = app
        .request(Method::POST, "/api/purchases", reader.bearer(), Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}
