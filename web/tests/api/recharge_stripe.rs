//! Coins in through Stripe Checkout, driven over HTTP against testkit's fake Stripe, and the
//! `order_expiry` cron that asks Stripe about orders whose webhook never came.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;
use testkit::WorkerProcess;
use testkit::fake_stripe::{FakeStripe, SECRET_KEY, WEBHOOK_SECRET};

use crate::client::As;
use crate::helpers::{TestApp, json, spawn_app_with};

async fn stripe_app(fake: &FakeStripe) -> TestApp {
    let stripe = fake.settings();
    spawn_app_with(move |s| s.payments.stripe = stripe).await
}

/// A Stripe order of package `p600`: its id and its Checkout Session's id.
async fn stripe_order(app: &TestApp, who: As<'_>) -> (String, String) {
    let body = json!({"package_id": "p600", "provider": "stripe"});
    let created = app.create_order(who, body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let order = json(created).await;
    assert_eq!(order["provider"], "stripe");
    let url = order["checkout_url"].as_str().unwrap();
    let session = url
        .strip_prefix("https://checkout.stripe.com/c/pay/")
        .unwrap();
    (
        order["order_id"].as_str().unwrap().to_owned(),
        session.to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stripe_checkout_paid_through_its_signed_webhook_credits_the_order() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let reader = app.reader("striper").await;
    let (order_id, session) = stripe_order(&app, reader.bearer()).await;
    let created = fake
        .created(&session)
        .expect("the session was created at Stripe");
    assert_eq!(created.idempotency_key.as_deref(), Some(order_id.as_str()));
    for (field, value) in [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "cny"),
        ("line_items[0][price_data][unit_amount]", "600"),
        ("line_items[0][quantity]", "1"),
        ("client_reference_id", order_id.as_str()),
        ("metadata[order_id]", order_id.as_str()),
    ] {
        assert_eq!(created.field(field), Some(value), "{field}");
    }
    fake.complete(&session, true);
    let webhook = format!("{}/api/payments/stripe/webhook", app.address);
    let (status, answer) = fake
        .deliver(&webhook, "checkout.session.completed", &session)
        .await;
    assert_eq!((status, answer.as_str()), (200, r#"{"received":true}"#));
    app.order_reaches(reader.bearer(), &order_id, "paid").await;
    assert_eq!(app.recharges(reader.bearer()).await.len(), 1);
    // Stripe retries the event: kept once, credited once.
    fake.deliver(&webhook, "checkout.session.completed", &session)
        .await;
    let user_id = reader.user_id.parse().unwrap();
    assert_eq!(testkit::balance(&app.state.db, user_id).await, 600);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn order_expiry_expires_lost_orders_and_credits_one_stripe_says_is_paid() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let _worker = WorkerProcess::spawn_with(
        &app.state.settings,
        &[
            ("NOVEL__PAYMENTS__ORDER_EXPIRY_CRON", "* * * * * *"),
            ("NOVEL__PAYMENTS__STRIPE__ENABLED", "true"),
            ("NOVEL__PAYMENTS__STRIPE__API_BASE", &fake.base_url),
            ("NOVEL__PAYMENTS__STRIPE__SECRET_KEY", SECRET_KEY),
            ("NOVEL__PAYMENTS__STRIPE__WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
    );
    let reader = app.reader("forgetful").await;
    let sandbox = app.order_600(reader.bearer()).await;
    let (paid, paid_session) = stripe_order(&app, reader.bearer()).await;
    let (open, _) = stripe_order(&app, reader.bearer()).await;
    // Paid at Stripe, but its webhook was lost.
    fake.complete(&paid_session, true);
    sqlx::query("UPDATE order_pay SET expires_at = ?")
        .bind(jobs::clock::now() - TimeDelta::minutes(1))
        .execute(&app.state.db.main)
        .await
        .unwrap();
    app.order_reaches(reader.bearer(), &sandbox, "expired")
        .await;
    app.order_reaches(reader.bearer(), &paid, "paid").await;
    let still = json(app.order(reader.bearer(), &open).await).await;
    assert_eq!(still["status"], "pending", "Stripe says it is still open");
    let rows = app.recharges(reader.bearer()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ref_id"], paid.as_str());
    testkit::assert_books_balance(&app.state.db).await;
}
