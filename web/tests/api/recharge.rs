//! Coins in through the sandbox: orders, signed events over HTTP, exactly-once credits.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::WorkerProcess;

use crate::helpers::{TestApp, expect_error, json, spawn_app, spawn_app_with};
use crate::payments::{SANDBOX_SECRET, sandbox_event};

async fn balance(app: &TestApp, user_id: &str) -> i64 {
    testkit::balance(&app.state.db, user_id.parse().unwrap())
        .await
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paying_in_the_sandbox_over_http_credits_the_order_once() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let packages = json(app.get("/api/recharge/packages").await).await;
    assert_eq!(
        packages["items"][1],
        json!({"id": "p3000", "amount": 3000,
        "currency": "CNY", "coins": 3000, "bonus_coins": 100})
    );
    let reader = app.reader("payer").await;
    let created = app
        .create_order(reader.bearer(), json!({"package_id": "p3000"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let order = json(created).await;
    let order_id = order["order_id"].as_str().unwrap();
    assert_eq!(order["status"], "pending");
    assert_eq!(order["provider"], "sandbox");
    assert_eq!(
        (&order["amount"], &order["coins"]),
        (&json!(3000), &json!(3000))
    );
    assert_eq!(order["checkout_url"], format!("/pay/sandbox/{order_id}"));
    assert_eq!(order["paid_at"], Value::Null);
    let checkout = format!("/pay/sandbox/{order_id}");
    let page = app
        .get_as(reader.bearer(), &checkout)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/pay/sandbox/{order_id}/pay")),
        "{page}"
    );

    let pay = app.sandbox_checkout(reader.bearer(), order_id, "pay").await;
    // Redirected to My account (the client follows it).
    assert_eq!((pay.status(), pay.url().path()), (StatusCode::OK, "/me"));
    let paid = app.order_reaches(reader.bearer(), order_id, "paid").await;
    assert!(paid["paid_at"].is_string());
    assert_eq!(balance(&app, &reader.user_id).await, 3100);
    let rows = app.recharges(reader.bearer()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (&rows[0]["ref_id"], &rows[0]["delta"]),
        (&json!(order_id), &json!(3100))
    );
    let mine = json(app.get_as(reader.bearer(), "/api/me/orders").await).await;
    assert_eq!(
        (&mine["total"], &mine["items"][0]["status"]),
        (&json!(1), &json!("paid"))
    );
    // The recharge job is a job like any other: its buyer polls it by its derived id.
    let job = app
        .outcome(reader.bearer(), &format!("rch-{order_id}-paid"))
        .await;
    assert_eq!(
        (&job["kind"], &job["status"], &job["result"]["status"]),
        (&json!("recharge"), &json!("succeeded"), &json!("paid"))
    );
    // A second Pay delivers another event: kept, and nothing more is credited.
    let again = app.sandbox_checkout(reader.bearer(), order_id, "pay").await;
    assert_eq!(again.url().path(), "/me");
    for _ in 0..100 {
        if app.count_rows("payment_event").await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.count_rows("payment_event").await, 2);
    assert_eq!(balance(&app, &reader.user_id).await, 3100);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_credit_once() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let reader = app.reader("racer").await;
    let order_id = app.order_600(reader.bearer()).await;
    let body = sandbox_event("payment.succeeded", &order_id, 600, "CNY");
    let now = chrono::Utc::now().timestamp();
    let answers = join_all((0..20).map(|_| app.deliver_signed(&body, SANDBOX_SECRET, now))).await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(
            answer.json::<Value>().await.unwrap(),
            json!({"received": true})
        );
    }
    app.order_reaches(reader.bearer(), &order_id, "paid").await;
    assert_eq!(app.count_rows("payment_event").await, 1);
    assert_eq!(balance(&app, &reader.user_id).await, 600);
    assert_eq!(app.recharges(reader.bearer()).await.len(), 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"novel_payments_total{provider="sandbox",outcome="duplicate"}"#),
        "{metrics}"
    );
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test]
async fn a_bad_or_stale_signature_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let reader = app.reader("forger").await;
    let order_id = app.order_600(reader.bearer()).await;
    let body = sandbox_event("payment.succeeded", &order_id, 600, "CNY");
    let now = chrono::Utc::now().timestamp();
    for (secret, t) in [("not-the-secret", now), (SANDBOX_SECRET, now - 301)] {
        let refused = app.deliver_signed(&body, secret, t).await;
        expect_error(refused, StatusCode::BAD_REQUEST, "bad_signature").await;
    }
    let unsigned = app
        .plain
        .post(format!("{}/api/payments/sandbox/webhook", app.address))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_error(unsigned, StatusCode::BAD_REQUEST, "bad_signature").await;
    assert_eq!(app.count_rows("payment_event").await, 0);
    let order = json(app.order(reader.bearer(), &order_id).await).await;
    assert_eq!(order["status"], "pending");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"novel_payments_total{provider="sandbox",outcome="bad_signature"}"#)
    );
}

#[tokio::test]
async fn an_unknown_order_a_malformed_event_and_an_oversized_body_are_refused() {
    let app = spawn_app().await;
    let unknown = app.deliver("payment.succeeded", "4242", 600).await;
    expect_error(unknown, StatusCode::BAD_REQUEST, "invalid_request").await;
    let now = chrono::Utc::now().timestamp();
    let malformed = app
        .deliver_signed(b"{\"id\": 1}", SANDBOX_SECRET, now)
        .await;
    expect_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;
    let limit = app.state.settings.payments.webhook_body_limit_bytes;
    let huge = vec![b' '; limit + 1];
    let too_large = app.deliver_signed(&huge, SANDBOX_SECRET, now).await;
    expect_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    let other = app
        .plain
        .post(format!("{}/api/payments/alipay/webhook", app.address))
        .send()
        .await
        .unwrap();
    expect_error(other, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.count_rows("payment_event").await, 0);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"novel_payments_total{provider="sandbox",outcome="invalid"} 3"#),
        "the unknown order, the malformed event and the oversized body are counted: {metrics}"
    );
}

#[tokio::test]
async fn a_webhook_carrying_a_session_cookie_needs_no_csrf_token() {
    let app = spawn_app().await;
    let reader = app.reader("cookied").await;
    let order_id = app.order_600(reader.bearer()).await;
    let body = sandbox_event("payment.failed", &order_id, 600, "CNY");
    let now = chrono::Utc::now().timestamp();
    let signature = jobs::payments::signature::sign(SANDBOX_SECRET.as_bytes(), now, &body);
    let answer = app
        .plain
        .post(format!("{}/api/payments/sandbox/webhook", app.address))
        .header("cookie", format!("novel_token={}", reader.token))
        .header("Novel-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_charge_that_differs_is_flagged_and_an_admin_credit_pays_it_once() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let reader = app.reader("shorted").await;
    let order_id = app.order_600(reader.bearer()).await;
    let short = app.deliver("payment.succeeded", &order_id, 599).await;
    assert_eq!(short.status(), StatusCode::OK);
    app.order_reaches(reader.bearer(), &order_id, "flagged")
        .await;
    assert_eq!(balance(&app, &reader.user_id).await, 0);
    // The right amount afterwards changes nothing: a flagged order waits for an admin.
    app.deliver("payment.succeeded", &order_id, 600).await;
    app.create_admin("cashier").await;
    let admin = app.sign_in("cashier").await;
    let listed = app.get_as(admin.bearer(), "/api/admin/orders?status=flagged&q=short");
    let listed = json(listed.await).await;
    assert_eq!(listed["total"], 1, "{listed}");
    let item = &listed["items"][0];
    assert_eq!(
        (&item["order_id"], &item["username"]),
        (&json!(order_id), &json!("shorted"))
    );
    assert_eq!(item["user_id"], reader.user_id.as_str());
    assert!(item["note"].as_str().unwrap().contains("599"), "{item}");
    let path = format!("/api/admin/orders/{order_id}/resolve");
    let body = json!({"action": "credit", "note": "paid by bank transfer"});
    let forbidden = app.request(Method::POST, &path, reader.bearer(), Some(body.clone()));
    expect_error(forbidden.await, StatusCode::FORBIDDEN, "forbidden").await;
    let resolved = app.request(Method::POST, &path, admin.bearer(), Some(body.clone()));
    let resolved = json(resolved.await).await;
    assert_eq!(resolved["status"], "paid");
    let again = app
        .request(Method::POST, &path, admin.bearer(), Some(body))
        .await;
    expect_error(again, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(balance(&app, &reader.user_id).await, 600);
    assert_eq!(app.recharges(reader.bearer()).await.len(), 1);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_success_after_a_failure_or_after_expiry_still_credits() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let reader = app.reader("retrier").await;
    let failed = app.order_600(reader.bearer()).await;
    app.deliver("payment.failed", &failed, 600).await;
    app.order_reaches(reader.bearer(), &failed, "failed").await;
    app.deliver("payment.succeeded", &failed, 600).await;
    app.order_reaches(reader.bearer(), &failed, "paid").await;
    let expired = app.order_600(reader.bearer()).await;
    sqlx::query("UPDATE order_pay SET status = 'expired' WHERE id = ?")
        .bind(expired.parse::<i64>().unwrap())
        .execute(&app.state.db.main)
        .await
        .unwrap();
    app.deliver("payment.succeeded", &expired, 600).await;
    app.order_reaches(reader.bearer(), &expired, "paid").await;
    // A failure for a paid order changes nothing.
    app.deliver("payment.failed", &expired, 600).await;
    assert_eq!(balance(&app, &reader.user_id).await, 1200);
    assert_eq!(app.recharges(reader.bearer()).await.len(), 2);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_order_and_another_body_is_refused() {
    let app = spawn_app().await;
    let reader = app.reader("keyed").await;
    let body = json!({"package_id": "p600"});
    let first = app.keyed(&reader.token, "k-1", "/api/recharge/orders", body.clone());
    let first = first.await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json(first).await;
    let again = app
        .keyed(&reader.token, "k-1", "/api/recharge/orders", body)
        .await;
    assert_eq!(json(again).await["order_id"], first["order_id"]);
    let other = json!({"package_id": "p3000"});
    let reused = app
        .keyed(&reader.token, "k-1", "/api/recharge/orders", other)
        .await;
    expect_error(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.count_rows("order_pay").await, 1);
    for bad in [
        json!({"package_id": "p1"}),
        json!({"package_id": "p600", "provider": "stripe"}),
    ] {
        let refused = app.create_order(reader.bearer(), bad).await;
        expect_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test]
async fn another_users_order_is_not_found_but_an_admin_sees_it() {
    let app = spawn_app().await;
    let owner = app.reader("owner").await;
    let other = app.reader("other").await;
    let order_id = app.order_600(owner.bearer()).await;
    let hidden = app.order(other.bearer(), &order_id).await;
    expect_error(hidden, StatusCode::NOT_FOUND, "not_found").await;
    let pay = app.sandbox_checkout(other.bearer(), &order_id, "pay");
    assert_eq!(pay.await.status(), StatusCode::NOT_FOUND);
    app.create_admin("auditor").await;
    let admin = app.sign_in("auditor").await;
    let seen = json(app.order(admin.bearer(), &order_id).await).await;
    assert_eq!(seen["order_id"], order_id.as_str());
}

#[tokio::test]
async fn with_the_sandbox_off_its_webhook_and_checkout_are_not_found() {
    let app = spawn_app_with(|s| s.payments.sandbox.enabled = false).await;
    let reader = app.reader("nosandbox").await;
    let refused = app
        .create_order(reader.bearer(), json!({"package_id": "p600"}))
        .await;
    expect_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    let webhook = app.deliver("payment.succeeded", "4242", 600).await;
    expect_error(webhook, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        app.get_as(reader.bearer(), "/pay/sandbox/4242")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let pay = app.sandbox_checkout(reader.bearer(), "4242", "pay");
    assert_eq!(pay.await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_kept_by_a_web_tier_that_crashed_before_queueing_is_queued_by_the_retry() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let reader = app.reader("retried").await;
    let order_id = app.order_600(reader.bearer()).await;
    let body = sandbox_event("payment.succeeded", &order_id, 600, "CNY");
    let event: Value = serde_json::from_slice(&body).unwrap();
    // What a web tier that died between keeping the event and queueing its job left behind.
    sqlx::query(
        r"INSERT INTO payment_event (provider, event_id, order_id, type, amount, currency,
                                     received_at)
          VALUES ('sandbox', ?, ?, 'payment.succeeded', 600, 'CNY', NOW(3))",
    )
    .bind(event["id"].as_str().unwrap())
    .bind(order_id.parse::<i64>().unwrap())
    .execute(&app.state.db.main)
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let retry = app.deliver_signed(&body, SANDBOX_SECRET, now).await;
    assert_eq!(retry.status(), StatusCode::OK);
    app.order_reaches(reader.bearer(), &order_id, "paid").await;
    assert_eq!(balance(&app, &reader.user_id).await, 600);
    assert_eq!(app.count_rows("payment_event").await, 1);
}
