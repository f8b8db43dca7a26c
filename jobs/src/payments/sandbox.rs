//! The built-in provider for local use and tests: a checkout page of our own whose Pay and
//! Cancel deliver signed events to our own webhook over HTTP, as an outside provider would.

use std::time::Duration;

use axum::http::header;

use super::event::Charge;
use super::provider::{Checkout, CheckoutOrder};
use super::signature::{SANDBOX_HEADER, WebhookKey};
use crate::config::SandboxSettings;

/// Attempts of one delivery, and the wait before the first retry (doubling up to the cap).
const DELIVERY_ATTEMPTS: u32 = 6;
const FIRST_RETRY: Duration = Duration::from_millis(200);
const RETRY_CAP: Duration = Duration::from_secs(5);

pub struct Sandbox {
    pub(super) key: WebhookKey,
}

impl Sandbox {
    pub fn new(settings: &SandboxSettings, tolerance_secs: u64) -> Self {
        Self {
            key: WebhookKey::new(settings.webhook_secret.clone(), tolerance_secs),
        }
    }

    /// The checkout page is ours (`/pay/sandbox/{order_id}`); the order is its own reference.
    pub fn checkout(&self, order: &CheckoutOrder) -> Checkout {
        Checkout {
            checkout_url: format!("/pay/sandbox/{}", order.order_id),
            provider_ref: order.order_id.to_string(),
        }
    }

    /// The `Novel-Signature` value for `body` at `now` (unix seconds). A retried delivery keeps
    /// its body (and so its event id) and is signed afresh.
    pub fn sign(&self, body: &[u8], now: i64) -> String {
        self.key.sign(body, now)
    }

    /// POSTs an event to `url` as an outside provider would, signed afresh for each attempt,
    /// until it is answered 2xx. A 5xx or a failed connection is tried again after a growing
    /// wait; a 4xx will not change and ends it. Whether it was delivered.
    pub async fn deliver(&self, http: &reqwest::Client, url: &str, body: &[u8]) -> bool {
        let mut wait = FIRST_RETRY;
        for attempt in 1..=DELIVERY_ATTEMPTS {
            let signed = self.sign(body, crate::clock::now().timestamp());
            let sent = http
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(SANDBOX_HEADER, signed)
                .body(body.to_vec())
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => return true,
                Ok(answer) if answer.status().is_client_error() => {
                    tracing::warn!(status = %answer.status(), "the webhook refused the event");
                    return false;
                }
                Ok(answer) => tracing::warn!(attempt, status = %answer.status(), "delivery failed"),
                Err(error) => tracing::warn!(attempt, %error, "delivery failed"),
            }
            if attempt < DELIVERY_ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_CAP);
            }
        }
        false
    }
}

/// The body of an event the sandbox page sends: `payment.succeeded` (Pay) or `payment.failed`
/// (Cancel), in API.md's shape.
pub fn event_body(succeeded: bool, charge: &Charge, event_id: &str, created: i64) -> Vec<u8> {
    let event_type = if succeeded {
        "payment.succeeded"
    } else {
        "payment.failed"
    };
    serde_json::json!({
        "id": event_id,
        "type": event_type,
        "order_id": charge.order_id.to_string(),
        "amount": charge.amount,
        "currency": charge.currency.as_str(),
        "created": created,
    })
    .to_string()
    .into_bytes()
}
