//! One interface over the payment providers: create a checkout for an order, verify and read a
//! webhook, answer it as the provider expects, and ask about a payment whose event may be lost.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::event::{self, EventError, PaymentEvent};
use super::sandbox::Sandbox;
use super::signature::{SANDBOX_HEADER, STRIPE_HEADER, SignatureError, WebhookKey};
use super::stripe::Stripe;
use super::{Currency, ProviderKind};
use crate::config::PaymentSettings;
use crate::ids::OrderId;

/// What a provider needs to know about an order to take its payment.
#[derive(Debug, Clone)]
pub struct CheckoutOrder {
    pub order_id: OrderId,
    /// In minor units of `currency`.
    pub amount: i64,
    pub currency: Currency,
    /// What the payer sees on the provider's page ("600 coins + 100 bonus").
    pub description: String,
    pub expires_at: DateTime<Utc>,
}

/// Where to send the payer, and the provider's handle on the payment (`order_pay.provider_ref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub checkout_url: String,
    pub provider_ref: String,
}

/// What the provider says about a payment when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub state: RemoteState,
    pub amount: Option<i64>,
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteState {
    /// The money was taken: credit as for a success event.
    Paid,
    /// Open, or completed with a delayed payment still on its way: ask again later.
    Unpaid,
    /// It can no longer be paid: the order may expire.
    Expired,
}

/// The webhook's answer to the sandbox and Stripe.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    pub received: bool,
}

/// A provider's API call that failed. Transient ones (timeouts, connection errors, 5xx, 429,
/// 409 idempotency races) are worth retrying; permanent ones (other 4xx, nonsense answers) not.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider is unavailable: {0}")]
    Transient(String),
    #[error("the payment provider refused the request: {0}")]
    Permanent(String),
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// A webhook delivery that is refused; nothing is kept or credited.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 400 `bad_signature`.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not an event of the expected shape: 400 `invalid_request`.
    #[error(transparent)]
    Event(#[from] EventError),
}

impl WebhookError {
    /// The API's error code for it (both answer 400).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature(_) => "bad_signature",
            Self::Event(_) => "invalid_request",
        }
    }
}

/// The value of header `name`; one that is not text is malformed, not missing.
pub(super) fn header<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a str>, SignatureError> {
    headers
        .get(name)
        .map(|value| value.to_str().map_err(|_| SignatureError::Malformed))
        .transpose()
}

pub enum Provider {
    Sandbox(Sandbox),
    Stripe(Stripe),
}

impl Provider {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Sandbox(_) => ProviderKind::Sandbox,
            Self::Stripe(_) => ProviderKind::Stripe,
        }
    }

    pub async fn create_checkout(&self, order: &CheckoutOrder) -> Result<Checkout, ProviderError> {
        match self {
            Self::Sandbox(sandbox) => Ok(sandbox.checkout(order)),
            Self::Stripe(stripe) => stripe.create_checkout(order, crate::clock::now()).await,
        }
    }

    /// Verifies the signature over the raw body (before anything reads it), then reads the
    /// event. `now` is the server's clock in unix seconds.
    pub fn verify_and_parse(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        type Parse = fn(&[u8]) -> Result<PaymentEvent, EventError>;
        let (name, key, parse): (&str, &WebhookKey, Parse) = match self {
            Self::Sandbox(sandbox) => (SANDBOX_HEADER, &sandbox.key, event::parse_sandbox),
            Self::Stripe(stripe) => (STRIPE_HEADER, &stripe.key, event::parse_stripe),
        };
        key.verify(header(headers, name)?, body, now)?;
        Ok(parse(body)?)
    }

    /// The answer to a verified event, once it is kept and queued (or was already): both
    /// providers take `200 {"received": true}` (Stripe wants any 2xx, quickly).
    pub fn webhook_answer(&self) -> Response {
        axum::Json(Received { received: true }).into_response()
    }

    /// Asks the provider about a payment (`order_pay.provider_ref`); `None` when it keeps
    /// nothing to ask (the sandbox: its orders simply expire).
    pub async fn lookup(&self, provider_ref: &str) -> Result<Option<Remote>, ProviderError> {
        match self {
            Self::Sandbox(_) => Ok(None),
            Self::Stripe(stripe) => stripe.lookup(provider_ref).await.map(Some),
        }
    }
}

/// The providers switched on in the configuration.
pub struct Providers {
    sandbox: Option<Provider>,
    stripe: Option<Provider>,
}

impl Providers {
    pub fn from_settings(settings: &PaymentSettings) -> Result<Self, reqwest::Error> {
        let tolerance = settings.signature_tolerance_secs;
        let sandbox = settings
            .sandbox
            .enabled
            .then(|| Provider::Sandbox(Sandbox::new(&settings.sandbox, tolerance)));
        let stripe = match settings.stripe.enabled {
            true => Some(Provider::Stripe(Stripe::new(&settings.stripe, tolerance)?)),
            false => None,
        };
        Ok(Self { sandbox, stripe })
    }

    /// The provider of that kind if it is on; `None` answers 404.
    pub fn get(&self, kind: ProviderKind) -> Option<&Provider> {
        match kind {
            ProviderKind::Sandbox => self.sandbox.as_ref(),
            ProviderKind::Stripe => self.stripe.as_ref(),
        }
    }

    /// The sandbox, if it is on: its checkout page delivers events itself.
    pub fn sandbox(&self) -> Option<&Sandbox> {
        match &self.sandbox {
            Some(Provider::Sandbox(sandbox)) => Some(sandbox),
            _ => None,
        }
    }

    /// The provider of an order that names none: the sandbox where it is on (local use and
    /// tests), else Stripe.
    pub fn default_provider(&self) -> Option<&Provider> {
        self.sandbox.as_ref().or(self.stripe.as_ref())
    }
}
