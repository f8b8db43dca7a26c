//! A local HTTP server that answers as Stripe's API does for Checkout Sessions (create and
//! retrieve), and sends webhook events signed as Stripe signs them, so tests drive the real
//! provider code over real HTTP.
//!
//! Shapes follow Stripe's API reference and stripe-mock: form-encoded requests, Bearer keys
//! (a wrong one answers 401 `{"error": {"message", "type": "invalid_request_error"}}`), session
//! objects `{"id": "cs_test_…", "object": "checkout.session", "url":
//! "https://checkout.stripe.com/c/pay/cs_test_…", …}` and events `{"id": "evt_…", "object":
//! "event", "type": …, "data": {"object": <session>}}` under a `Stripe-Signature` header.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jobs::config::StripeSettings;
use secrecy::SecretString;
use serde_json::{Value, json};

pub const SECRET_KEY: &str = "sk_test_novelfake";
pub const WEBHOOK_SECRET: &str = "whsec_novelfake";

/// What a create request sent and the session it made.
#[derive(Debug, Clone)]
pub struct Created {
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub session: Value,
}

impl Created {
    /// The form field `key` as sent (`line_items[0][price_data][currency]`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Fake {
    sessions: HashMap<String, Created>,
    by_idempotency_key: HashMap<String, String>,
    failures: Vec<u16>,
}

type Shared = Arc<Mutex<Fake>>;

pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`: the `api_base` to configure.
    pub base_url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl FakeStripe {
    pub async fn start() -> Self {
        let state = Shared::default();
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create))
            .route("/v1/checkout/sessions/{id}", get(retrieve))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url,
            state,
            server,
        }
    }

    /// Stripe settings pointing at this server, with its keys.
    pub fn settings(&self) -> StripeSettings {
        StripeSettings {
            enabled: true,
            api_base: self.base_url.clone(),
            secret_key: SecretString::from(SECRET_KEY),
            webhook_secret: SecretString::from(WEBHOOK_SECRET),
            success_url: "http://127.0.0.1:8080/me".into(),
            cancel_url: "http://127.0.0.1:8080/recharge".into(),
            timeout_ms: 5000,
        }
    }

    pub fn created(&self, session_id: &str) -> Option<Created> {
        self.state.lock().unwrap().sessions.get(session_id).cloned()
    }

    pub fn sessions_created(&self) -> usize {
        self.state.lock().unwrap().sessions.len()
    }

    /// The next request answers `status` with Stripe's error shape (`api_error` for a 5xx).
    pub fn fail_next(&self, status: u16) {
        self.state.lock().unwrap().failures.push(status);
    }

    /// The payer finished the checkout: `complete`, and `paid` unless the method is delayed.
    pub fn complete(&self, session_id: &str, paid: bool) {
        self.update(session_id, |session| {
            session["status"] = json!("complete");
            session["payment_status"] = json!(if paid { "paid" } else { "unpaid" });
            session["payment_intent"] = json!(format!("pi_test_{}", ulid::Ulid::new()));
        });
    }

    /// A delayed payment arrived after the session completed.
    pub fn settle(&self, session_id: &str) {
        self.update(session_id, |session| {
            session["payment_status"] = json!("paid")
        });
    }

    pub fn expire(&self, session_id: &str) {
        self.update(session_id, |session| session["status"] = json!("expired"));
    }

    fn update(&self, session_id: &str, change: impl FnOnce(&mut Value)) {
        let mut fake = self.state.lock().unwrap();
        let created = fake
            .sessions
            .get_mut(session_id)
            .expect("a created session");
        change(&mut created.session);
    }

    /// The raw body of an event of `event_type` about the session as it is now.
    fn event(&self, event_type: &str, session_id: &str) -> Vec<u8> {
        let session = self.created(session_id).expect("a created session").session;
        json!({
            "id": format!("evt_{}", ulid::Ulid::new()),
            "object": "event",
            "api_version": "2024-06-20",
            "created": chrono::Utc::now().timestamp(),
            "data": {"object": session},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": event_type,
        })
        .to_string()
        .into_bytes()
    }

    /// POSTs the event to `url` as Stripe's webhooks do (JSON body, `Stripe-Signature` signed
    /// with [`WEBHOOK_SECRET`] now); the answer's status and body.
    pub async fn deliver(&self, url: &str, event_type: &str, session_id: &str) -> (u16, String) {
        let body = self.event(event_type, session_id);
        let now = chrono::Utc::now().timestamp();
        let signature = jobs::payments::signature::sign(WEBHOOK_SECRET.as_bytes(), now, &body);
        let response = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Stripe-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("the webhook answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An error answered in Stripe's shape: `{"error": {"type", "message", "param"?}}`.
struct StripeError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    param: Option<&'static str>,
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let mut error = json!({"type": self.kind, "message": self.message});
        if let Some(param) = self.param {
            error["param"] = json!(param);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

fn invalid(param: &'static str, message: &str) -> StripeError {
    StripeError {
        status: StatusCode::BAD_REQUEST,
        kind: "invalid_request_error",
        message: message.to_owned(),
        param: Some(param),
    }
}

/// The checks every request passes first: the key, then any failure a test asked for.
fn admit(state: &Shared, headers: &HeaderMap) -> Result<(), StripeError> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {SECRET_KEY}")) {
        let shown = auth
            .unwrap_or_default()
            .chars()
            .take(15)
            .collect::<String>();
        return Err(StripeError {
            status: StatusCode::UNAUTHORIZED,
            kind: "invalid_request_error",
            message: format!("Invalid API Key provided: {shown}****"),
            param: None,
        });
    }
    if let Some(status) = state.lock().unwrap().failures.pop() {
        let status = StatusCode::from_u16(status).unwrap();
        return Err(StripeError {
            status,
            kind: if status.is_server_error() {
                "api_error"
            } else {
                "invalid_request_error"
            },
            message: "An unknown error occurred".to_owned(),
            param: None,
        });
    }
    Ok(())
}

type Answer = Result<axum::Json<Value>, StripeError>;

async fn create(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    admit(&state, &headers)?;
    let form_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if form_type != Some("application/x-www-form-urlencoded") {
        return Err(invalid(
            "",
            "Stripe takes application/x-www-form-urlencoded bodies",
        ));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut fake = state.lock().unwrap();
    if let Some(id) = key.as_ref().and_then(|k| fake.by_idempotency_key.get(k)) {
        return Ok(axum::Json(fake.sessions[id].session.clone()));
    }
    let session = session_of(&form)?;
    let id = session["id"].as_str().unwrap().to_owned();
    if let Some(key) = &key {
        fake.by_idempotency_key.insert(key.clone(), id.clone());
    }
    let created = Created {
        form,
        idempotency_key: key,
        session: session.clone(),
    };
    fake.sessions.insert(id, created);
    Ok(axum::Json(session))
}

/// The session a create form describes, refused as Stripe refuses a bad parameter.
fn session_of(form: &[(String, String)]) -> Result<Value, StripeError> {
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let number = |key: &str| field(key).and_then(|v| v.parse::<i64>().ok());
    if field("mode") != Some("payment") {
        return Err(invalid("mode", "mode must be payment here"));
    }
    let currency = field("line_items[0][price_data][currency]").unwrap_or_default();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(invalid(
            "line_items[0][price_data][currency]",
            "Invalid currency",
        ));
    }
    let unit_amount = number("line_items[0][price_data][unit_amount]").filter(|a| *a > 0);
    let quantity = number("line_items[0][quantity]").filter(|q| *q > 0);
    let (Some(unit_amount), Some(quantity)) = (unit_amount, quantity) else {
        return Err(invalid(
            "line_items[0]",
            "unit_amount and quantity must be positive",
        ));
    };
    if field("line_items[0][price_data][product_data][name]").is_none_or(str::is_empty) {
        return Err(invalid(
            "line_items[0][price_data][product_data][name]",
            "Missing name",
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let expires_at = number("expires_at").unwrap_or(now + 86_400);
    if !(now + 1800..=now + 86_400).contains(&expires_at) {
        let message = "The `expires_at` timestamp must be between 30 minutes and 24 hours";
        return Err(invalid("expires_at", message));
    }
    let Some(success_url) = field("success_url") else {
        return Err(invalid(
            "success_url",
            "Missing required param: success_url.",
        ));
    };
    let id = format!("cs_test_{}", ulid::Ulid::new());
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), json!(v)))
        })
        .collect();
    Ok(json!({
        "id": id,
        "object": "checkout.session",
        "amount_subtotal": unit_amount * quantity,
        "amount_total": unit_amount * quantity,
        "cancel_url": field("cancel_url"),
        "client_reference_id": field("client_reference_id"),
        "created": now,
        "currency": currency,
        "expires_at": expires_at,
        "livemode": false,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": null,
        "payment_status": "unpaid",
        "status": "open",
        "success_url": success_url,
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
    }))
}

async fn retrieve(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    admit(&state, &headers)?;
    let fake = state.lock().unwrap();
    let created = fake.sessions.get(&id).ok_or_else(|| StripeError {
        status: StatusCode::NOT_FOUND,
        kind: "invalid_request_error",
        message: format!("No such checkout.session: '{id}'"),
        param: Some("session"),
    })?;
    Ok(axum::Json(created.session.clone()))
}
