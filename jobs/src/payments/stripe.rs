//! Stripe Checkout through its HTTP API: create a Checkout Session for an order, read one back,
//! and verify the events its webhooks send.
//!
//! Protocol facts this follows (docs.stripe.com): requests are form-encoded with bracketed
//! nested keys (`line_items[0][price_data][currency]`) and authenticated with
//! `Authorization: Bearer sk_...` (api/authentication); `Idempotency-Key` makes a retried create
//! return the first session (api/idempotent_requests); currencies are three-letter ISO codes in
//! lower case; a session's `expires_at` must be 30 minutes to 24 hours after its creation
//! (payments/checkout/managing-limited-inventory); a session has `status` open | complete |
//! expired and `payment_status` paid | unpaid | no_payment_required
//! (api/checkout/sessions/object); errors answer `{"error": {"message", "type", ...}}` with 4xx
//! for a request Stripe refuses, 429 for rate limits, 409 for an idempotency conflict and 5xx
//! for its own failures (stripe-mock's server answers a bad key 401 in the same shape).

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Currency;
use super::provider::{Checkout, CheckoutOrder, ProviderError, Remote, RemoteState};
use super::signature::WebhookKey;
use crate::config::{STRIPE_SESSION_TTL_SECS, StripeSettings};

/// Seconds added to Stripe's 30-minute minimum, so a session created a moment after its order
/// is never refused for expiring too soon.
const EXPIRY_MARGIN_SECS: i64 = 60;

pub struct Stripe {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
    pub(super) key: WebhookKey,
    success_url: String,
    cancel_url: String,
}

#[derive(Deserialize)]
struct Session {
    id: String,
    url: Option<String>,
    status: Option<String>,
    payment_status: Option<String>,
    amount_total: Option<i64>,
    currency: Option<String>,
}

impl Stripe {
    pub fn new(settings: &StripeSettings, tolerance_secs: u64) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            api_base: settings.api_base.clone(),
            secret_key: settings.secret_key.clone(),
            key: WebhookKey::new(settings.webhook_secret.clone(), tolerance_secs),
            success_url: settings.success_url.clone(),
            cancel_url: settings.cancel_url.clone(),
        })
    }

    /// `POST /v1/checkout/sessions` for the order, keyed by the order id, so a retry after a
    /// lost answer gets the same session.
    pub async fn create_checkout(
        &self,
        order: &CheckoutOrder,
        now: DateTime<Utc>,
    ) -> Result<Checkout, ProviderError> {
        let order_id = order.order_id.to_string();
        let form = [
            ("mode", "payment".to_owned()),
            (
                "line_items[0][price_data][currency]",
                order.currency.lower(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                order.amount.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                order.description.clone(),
            ),
            ("line_items[0][quantity]", "1".to_owned()),
            ("client_reference_id", order_id.clone()),
            ("metadata[order_id]", order_id.clone()),
            // So a later refund or dispute (on the payment, not the session) names the order.
            ("payment_intent_data[metadata][order_id]", order_id.clone()),
            ("success_url", self.success_url.clone()),
            ("cancel_url", self.cancel_url.clone()),
            (
                "expires_at",
                session_expiry(order.expires_at, now).to_string(),
            ),
        ];
        let request = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.api_base))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", order_id)
            .form(&form);
        let session: Session = send(request).await?;
        let checkout_url = session
            .url
            .ok_or_else(|| unexpected("a session without url"))?;
        Ok(Checkout {
            checkout_url,
            provider_ref: session.id,
        })
    }

    /// `GET /v1/checkout/sessions/{id}`: paid, still open, or expired.
    pub async fn lookup(&self, session_id: &str) -> Result<Remote, ProviderError> {
        let well_formed = !session_id.is_empty()
            && session_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return Err(ProviderError::Permanent(format!(
                "`{session_id}` is not a Checkout Session id"
            )));
        }
        let request = self
            .http
            .get(format!(
                "{}/v1/checkout/sessions/{session_id}",
                self.api_base
            ))
            .bearer_auth(self.secret_key.expose_secret());
        let session: Session = send(request).await?;
        let state = match (session.payment_status.as_deref(), session.status.as_deref()) {
            (Some("paid"), _) => RemoteState::Paid,
            (_, Some("expired")) => RemoteState::Expired,
            _ => RemoteState::Unpaid,
        };
        Ok(Remote {
            state,
            amount: session.amount_total,
            currency: session.currency.as_deref().and_then(Currency::parse),
        })
    }
}

/// The session's `expires_at` (unix seconds): the order's expiry, kept inside the window Stripe
/// takes (a session created a moment after an order of 30 minutes outlives it by a minute; a
/// success event after the order expired still credits).
fn session_expiry(order_expires: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let now = now.timestamp();
    let earliest = now + *STRIPE_SESSION_TTL_SECS.start() as i64 + EXPIRY_MARGIN_SECS;
    let latest = now + *STRIPE_SESSION_TTL_SECS.end() as i64;
    order_expires.timestamp().clamp(earliest, latest)
}

fn unexpected(what: &str) -> ProviderError {
    ProviderError::Permanent(format!("Stripe answered {what}"))
}

/// Sends a request and reads Stripe's JSON answer, sorting failures into transient and permanent.
async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| ProviderError::Transient(format!("Stripe: {e}")))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| ProviderError::Transient(format!("Stripe: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|_| unexpected("something unreadable"));
    }
    #[derive(Deserialize)]
    struct Failure {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let message = serde_json::from_slice::<Failure>(&body)
        .ok()
        .map(|f| {
            let kind = f.error.kind.unwrap_or_default();
            format!("{kind}: {}", f.error.message.unwrap_or_default())
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
    let code = status.as_u16();
    let message = format!("Stripe {code}: {message}");
    if status.is_server_error() || code == 429 || code == 409 {
        Err(ProviderError::Transient(message))
    } else {
        Err(ProviderError::Permanent(message))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn a_session_expires_with_its_order_inside_stripes_window() {
        let now = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let at = |secs: i64| (now + TimeDelta::seconds(secs)).timestamp();
        // An order of 30 minutes made a moment ago: Stripe's minimum plus a margin.
        assert_eq!(
            session_expiry(now + TimeDelta::seconds(1799), now),
            at(1860)
        );
        assert_eq!(session_expiry(now + TimeDelta::hours(2), now), at(7200));
        assert_eq!(session_expiry(now + TimeDelta::hours(30), now), at(86_400));
    }
}
