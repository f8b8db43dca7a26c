//! The sandbox provider's checkout page: Pay and Cancel make this server deliver a signed event
//! to its own webhook over HTTP, exactly as an outside provider would (retrying in the
//! background), then send the payer to `/me`. Only the order's owner sees it; off, it is 404.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jobs::payments::event::Charge;
use jobs::payments::orders::{self, Order};
use jobs::payments::{Currency, ProviderKind, sandbox};
use minijinja::context;

use super::{PageError, render, sign_in_first};
use crate::error::ApiError;
use crate::extract::{ApiPath, PathId};
use crate::sessions::{MaybeSession, Session};
use crate::state::AppState;
use jobs::ids::OrderId;

type PageResult = Result<Response, PageError>;

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    order_id: Result<ApiPath<PathId<OrderId>>, ApiError>,
) -> PageResult {
    let ApiPath(PathId(order_id)) = order_id.map_err(|_| ApiError::NotFound)?;
    state.providers.sandbox().ok_or(ApiError::NotFound)?;
    let Some(session) = session else {
        return Ok(sign_in_first(&format!("/pay/sandbox/{order_id}")));
    };
    let order = own_order(&state, &session, order_id).await?;
    render("sandbox.html", Some(&session), context! { order })
}

pub async fn pay(
    state: State<AppState>,
    session: Result<Session, ApiError>,
    order_id: Result<ApiPath<PathId<OrderId>>, ApiError>,
) -> PageResult {
    deliver(state, session, order_id, true).await
}

pub async fn cancel(
    state: State<AppState>,
    session: Result<Session, ApiError>,
    order_id: Result<ApiPath<PathId<OrderId>>, ApiError>,
) -> PageResult {
    deliver(state, session, order_id, false).await
}

/// The owner's sandbox order (another's, or one of another provider, is not found).
async fn own_order(
    state: &AppState,
    session: &Session,
    order_id: OrderId,
) -> Result<Order, PageError> {
    let order = orders::get(&state.db.main, order_id).await?;
    order
        .filter(|o| o.user_id == session.user_id && o.provider == ProviderKind::Sandbox)
        .ok_or_else(|| ApiError::NotFound.into())
}

/// Builds the event for the order (Pay: a success, Cancel: a failure, for the order's amount)
/// and delivers it in the background; the payer goes to `/me` at once.
async fn deliver(
    State(state): State<AppState>,
    session: Result<Session, ApiError>,
    order_id: Result<ApiPath<PathId<OrderId>>, ApiError>,
    succeeded: bool,
) -> PageResult {
    let ApiPath(PathId(order_id)) = order_id.map_err(|_| ApiError::NotFound)?;
    state.providers.sandbox().ok_or(ApiError::NotFound)?;
    let order = own_order(&state, &session?, order_id).await?;
    let currency = Currency::parse(&order.currency)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("order {order_id}: bad currency")))?;
    let charge = Charge {
        order_id,
        amount: order.amount,
        currency,
    };
    let event_id = format!("evt_{}", ulid::Ulid::new());
    let now = jobs::clock::now().timestamp();
    let body = sandbox::event_body(succeeded, &charge, &event_id, now);
    let url = webhook_url(&state);
    let background = state.clone();
    tokio::spawn(async move {
        let Some(sandbox) = background.providers.sandbox() else {
            return;
        };
        if !sandbox.deliver(&background.http, &url, &body).await {
            tracing::error!(%order_id, event_id, "the sandbox event was not delivered");
        }
    });
    Ok(Redirect::to("/me").into_response())
}

/// `payments.sandbox.webhook_url`, or this web tier's own sandbox webhook.
fn webhook_url(state: &AppState) -> String {
    let configured = &state.settings.payments.sandbox.webhook_url;
    if !configured.is_empty() {
        return configured.clone();
    }
    let own = state
        .own_url
        .get()
        .map_or("http://127.0.0.1", String::as_str);
    format!("{own}/api/payments/sandbox/webhook")
}
