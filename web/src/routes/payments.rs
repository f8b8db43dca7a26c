//! The payment providers' webhooks: the raw body verified against its signature before anything
//! reads it, the event kept once and its `recharge` job queued; answered as the provider expects.
//! No session: the signature is the only credential (`sessions::resolve` skips these paths).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use jobs::metrics as m;
use jobs::payments::ProviderKind;
use jobs::payments::intake::{self, Intake, Queue};
use jobs::payments::provider::{Received, WebhookError};

use super::errors::WebhookErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;

/// The webhook route, with its own body limit (`payments.webhook_body_limit_bytes`).
pub fn router(body_limit: usize) -> Router<AppState> {
    Router::new().route(
        "/api/payments/{provider}/webhook",
        post(webhook).layer(DefaultBodyLimit::max(body_limit)),
    )
}

/// The provider's signed event as it sent it: the sandbox's under `Novel-Signature`, Stripe's
/// under `Stripe-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`).
#[utoipa::path(
    post, path = "/api/payments/{provider}/webhook", operation_id = "payment_webhook",
    tag = "recharge", security(()),
    params(("provider" = ProviderKind, Path)),
    request_body(content = Object, description = "the provider's event, signed over its raw bytes"),
    responses((status = 200, body = Received), WebhookErrors)
)]
pub(super) async fn webhook(
    State(state): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let provider = ProviderKind::parse(&provider)
        .and_then(|kind| state.providers.get(kind))
        .ok_or(ApiError::NotFound)?;
    let kind = provider.kind().as_str();
    let refused = |outcome: &'static str, error: ApiError| {
        tracing::warn!(provider = kind, %error, "webhook event refused");
        metrics::counter!(m::PAYMENTS, "provider" => kind, "outcome" => outcome).increment(1);
        error
    };
    let body = body.map_err(|rejection| refused("invalid", rejection.into()))?;
    let now = jobs::clock::now().timestamp();
    let event = provider
        .verify_and_parse(&headers, &body, now)
        .map_err(|error| match error {
            WebhookError::Signature(_) => refused("bad_signature", ApiError::BadSignature),
            WebhookError::Event(error) => refused("invalid", ApiError::invalid(error.to_string())),
        })?;
    let queue = Queue {
        storage: &state.queues.recharge,
        status: &state.status,
    };
    let intake = intake::accept(&state.db.main, queue, &event)
        .await
        .map_err(ApiError::Unavailable)?;
    tracing::info!(
        provider = kind,
        event_id = event.event_id,
        ?intake,
        "webhook event"
    );
    match intake {
        Intake::UnknownOrder => Err(refused(
            "invalid",
            ApiError::invalid("order_id: no such order paid through this provider"),
        )),
        Intake::Ignored | Intake::Kept { .. } => Ok(provider.webhook_answer()),
    }
}
