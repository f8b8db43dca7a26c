//! The payment providers over real HTTP: Stripe against a local server that answers as Stripe's
//! API does, its signed webhooks received by a local endpoint, and the sandbox's own events.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{TimeDelta, Utc};
use jobs::ids::{EntityId, OrderId};
use jobs::payments::event::{Charge, EventKind, PaymentEvent};
use jobs::payments::provider::{CheckoutOrder, Provider, ProviderError, Providers, RemoteState};
use jobs::payments::sandbox::{self, Sandbox};
use jobs::payments::stripe::Stripe;
use jobs::payments::{Currency, ProviderKind};
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use testkit::fake_stripe::FakeStripe;

fn stripe(fake: &FakeStripe) -> Provider {
    Provider::Stripe(Stripe::new(&fake.settings(), 300).unwrap())
}

fn order(order_id: i64) -> CheckoutOrder {
    CheckoutOrder {
        order_id: OrderId::from_raw(order_id),
        amount: 600,
        currency: Currency::parse("CNY").unwrap(),
        description: "600 coins".into(),
        expires_at: Utc::now() + TimeDelta::minutes(30),
    }
}

fn cny(order_id: i64, amount: i64) -> Charge {
    let currency = Currency::parse("CNY").unwrap();
    Charge {
        order_id: OrderId::from_raw(order_id),
        amount,
        currency,
    }
}

#[tokio::test]
async fn a_checkout_is_created_with_stripes_form_fields_once_per_order() {
    let fake = FakeStripe::start().await;
    let provider = stripe(&fake);
    let checkout = provider.create_checkout(&order(4242)).await.unwrap();
    assert!(
        checkout.provider_ref.starts_with("cs_test_"),
        "{checkout:?}"
    );
    assert_eq!(
        checkout.checkout_url,
        format!(
            "https://checkout.stripe.com/c/pay/{}",
            checkout.provider_ref
        )
    );
    let created = fake
        .created(&checkout.provider_ref)
        .expect("the fake saw it");
    assert_eq!(created.idempotency_key.as_deref(), Some("4242"));
    for (key, value) in [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "cny"),
        ("line_items[0][price_data][unit_amount]", "600"),
        ("line_items[0][price_data][product_data][name]", "600 coins"),
        ("line_items[0][quantity]", "1"),
        ("client_reference_id", "4242"),
        ("metadata[order_id]", "4242"),
        ("payment_intent_data[metadata][order_id]", "4242"),
        ("success_url", "http://127.0.0.1:8080/me"),
        ("cancel_url", "http://127.0.0.1:8080/recharge"),
    ] {
        assert_eq!(created.field(key), Some(value), "{key}");
    }
    let expires_at: i64 = created.field("expires_at").unwrap().parse().unwrap();
    let ahead = expires_at - Utc::now().timestamp();
    assert!((1800..=1870).contains(&ahead), "{ahead}");

    let again = provider.create_checkout(&order(4242)).await.unwrap();
    assert_eq!(
        again, checkout,
        "the idempotency key returns the first session"
    );
    assert_eq!(fake.sessions_created(), 1);
}

#[tokio::test]
async fn lookup_follows_a_session_from_open_to_paid_or_expired() {
    let fake = FakeStripe::start().await;
    let provider = stripe(&fake);
    let paid = provider
        .create_checkout(&order(1))
        .await
        .unwrap()
        .provider_ref;
    let state = |remote: Option<jobs::payments::provider::Remote>| remote.unwrap().state;
    assert_eq!(
        state(provider.lookup(&paid).await.unwrap()),
        RemoteState::Unpaid
    );
    fake.complete(&paid, false);
    assert_eq!(
        state(provider.lookup(&paid).await.unwrap()),
        RemoteState::Unpaid
    );
    fake.settle(&paid);
    let remote = provider.lookup(&paid).await.unwrap().unwrap();
    assert_eq!(remote.state, RemoteState::Paid);
    assert_eq!(remote.amount, Some(600));
    assert_eq!(remote.currency, Currency::parse("CNY"));

    let lapsed = provider
        .create_checkout(&order(2))
        .await
        .unwrap()
        .provider_ref;
    fake.expire(&lapsed);
    assert_eq!(
        state(provider.lookup(&lapsed).await.unwrap()),
        RemoteState::Expired
    );

    let missing = provider.lookup("cs_test_nosuch").await.unwrap_err();
    assert!(!missing.is_transient(), "{missing}");
    let not_an_id = provider.lookup("../../v1/charges").await.unwrap_err();
    assert!(!not_an_id.is_transient(), "{not_an_id}");
}

#[tokio::test]
async fn with_the_sandbox_off_stripe_is_the_provider_and_the_sandbox_is_gone() {
    let fake = FakeStripe::start().await;
    let mut settings = jobs::config::load_with("test").unwrap().payments;
    settings.sandbox.enabled = false;
    settings.stripe = fake.settings();
    let providers = Providers::from_settings(&settings).unwrap();
    assert!(providers.get(ProviderKind::Sandbox).is_none());
    let provider = providers.default_provider().expect("Stripe is on");
    assert_eq!(provider.kind(), ProviderKind::Stripe);
    let checkout = provider.create_checkout(&order(31)).await.unwrap();
    assert!(fake.created(&checkout.provider_ref).is_some());
}

#[tokio::test]
async fn a_wrong_key_is_permanent_and_outages_are_transient() {
    let fake = FakeStripe::start().await;
    let mut settings = fake.settings();
    settings.secret_key = SecretString::from("sk_test_wrong");
    let wrong_key = Provider::Stripe(Stripe::new(&settings, 300).unwrap());
    let error = wrong_key.create_checkout(&order(7)).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Permanent(m) if m.contains("401")),
        "{error}"
    );
    assert!(error.to_string().contains("Invalid API Key"), "{error}");

    let provider = stripe(&fake);
    for status in [500, 503, 429] {
        fake.fail_next(status);
        let error = provider.create_checkout(&order(8)).await.unwrap_err();
        assert!(error.is_transient(), "{status}: {error}");
    }
    fake.fail_next(400);
    assert!(
        !provider
            .lookup("cs_test_x")
            .await
            .unwrap_err()
            .is_transient()
    );
    fake.fail_next(502);
    assert!(
        provider
            .lookup("cs_test_x")
            .await
            .unwrap_err()
            .is_transient()
    );
    assert_eq!(fake.sessions_created(), 0);

    let mut gone = fake.settings();
    gone.api_base = "http://127.0.0.1:1".into();
    let unreachable = Provider::Stripe(Stripe::new(&gone, 300).unwrap());
    let error = unreachable.create_checkout(&order(9)).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
}

type Received = Arc<Mutex<Vec<PaymentEvent>>>;

/// A webhook endpoint as the web tier will have it: verify the raw body, read it, answer.
async fn webhook(
    State((provider, received)): State<(Arc<Provider>, Received)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match provider.verify_and_parse(&headers, &body, Utc::now().timestamp()) {
        Ok(event) => {
            received.lock().unwrap().push(event);
            provider.webhook_answer()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.code()).into_response(),
    }
}

/// Serves [`webhook`] for `provider`: its URL and the events it took.
async fn serve(provider: Provider) -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/webhook", post(webhook))
        .with_state((Arc::new(provider), received.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn kinds(received: &Received) -> Vec<EventKind> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.kind.clone())
        .collect()
}

const RECEIVED: (u16, &str) = (200, r#"{"received":true}"#);

#[tokio::test]
async fn stripes_signed_events_verify_and_read_as_payments_over_http() {
    let fake = FakeStripe::start().await;
    let session = stripe(&fake)
        .create_checkout(&order(77))
        .await
        .unwrap()
        .provider_ref;
    let (url, received) = serve(stripe(&fake)).await;
    let deliver = |event_type| fake.deliver(&url, event_type, &session);

    fake.complete(&session, false);
    let (status, body) = deliver("checkout.session.completed").await;
    assert_eq!((status, body.as_str()), RECEIVED);
    fake.settle(&session);
    let (status, body) = deliver("checkout.session.async_payment_succeeded").await;
    assert_eq!((status, body.as_str()), RECEIVED);
    let (status, _) = deliver("checkout.session.expired").await;
    assert_eq!(status, 200);
    assert_eq!(
        kinds(&received),
        [
            EventKind::Ignored,
            EventKind::Succeeded(cny(77, 600)),
            EventKind::Failed(cny(77, 600)),
        ]
    );
    let first = received.lock().unwrap()[1].clone();
    assert_eq!(first.provider, ProviderKind::Stripe);
    assert!(first.event_id.starts_with("evt_"), "{first:?}");

    let mut other = fake.settings();
    other.webhook_secret = SecretString::from("whsec_another");
    let (other_url, other_received) =
        serve(Provider::Stripe(Stripe::new(&other, 300).unwrap())).await;
    let (status, body) = fake
        .deliver(&other_url, "checkout.session.completed", &session)
        .await;
    assert_eq!((status, body.as_str()), (400, "bad_signature"));
    assert!(kinds(&other_received).is_empty());
}

async fn post_signed(url: &str, header: &str, signature: &str, body: Vec<u8>) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header(header, signature)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_sandbox_signs_its_own_events_and_refuses_anyone_elses() {
    let settings = jobs::config::load_with("test").unwrap().payments;
    let providers = Providers::from_settings(&settings).unwrap();
    assert!(
        providers.get(ProviderKind::Stripe).is_none(),
        "Stripe is off by default"
    );
    let provider = providers
        .get(ProviderKind::Sandbox)
        .expect("the sandbox is on");
    assert_eq!(
        providers.default_provider().map(Provider::kind),
        Some(ProviderKind::Sandbox)
    );
    let checkout = provider.create_checkout(&order(5150)).await.unwrap();
    assert_eq!(checkout.checkout_url, "/pay/sandbox/5150");
    assert_eq!(checkout.provider_ref, "5150");
    assert_eq!(provider.lookup(&checkout.provider_ref).await.unwrap(), None);

    let own = Sandbox::new(&settings.sandbox, settings.signature_tolerance_secs);
    let (url, received) = serve(Provider::Sandbox(own)).await;
    let own = Sandbox::new(&settings.sandbox, settings.signature_tolerance_secs);
    let now = Utc::now().timestamp();
    let paid = sandbox::event_body(true, &cny(5150, 600), "evt_pay_1", now);
    let answer = post_signed(&url, "Novel-Signature", &own.sign(&paid, now), paid.clone()).await;
    assert_eq!((answer.0, answer.1.as_str()), RECEIVED);
    let cancelled = sandbox::event_body(false, &cny(5150, 600), "evt_cancel_1", now);
    let answer = post_signed(
        &url,
        "Novel-Signature",
        &own.sign(&cancelled, now),
        cancelled,
    )
    .await;
    assert_eq!(answer.0, 200);
    assert_eq!(
        kinds(&received),
        [
            EventKind::Succeeded(cny(5150, 600)),
            EventKind::Failed(cny(5150, 600))
        ]
    );

    let mut forged = settings.sandbox.clone();
    forged.webhook_secret = SecretString::from("guessed-secret");
    let forger = Sandbox::new(&forged, 300);
    let answer = post_signed(
        &url,
        "Novel-Signature",
        &forger.sign(&paid, now),
        paid.clone(),
    )
    .await;
    assert_eq!(answer, (400, "bad_signature".to_owned()));
    let stale = own.sign(&paid, now - 301);
    assert_eq!(
        post_signed(&url, "Novel-Signature", &stale, paid.clone())
            .await
            .1,
        "bad_signature"
    );
    let stripe_header = post_signed(&url, "Stripe-Signature", &own.sign(&paid, now), paid).await;
    assert_eq!(stripe_header.1, "bad_signature");
    let junk = b"{\"id\": 1}".to_vec();
    let answer = post_signed(&url, "Novel-Signature", &own.sign(&junk, now), junk).await;
    assert_eq!(answer, (400, "invalid_request".to_owned()));
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "nothing refused was taken"
    );
}
