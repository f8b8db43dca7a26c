//! Buying coins: the packages of the configuration, each with a Buy button that opens an order
//! through the API (`static/app.js`) and sends the browser to the order's checkout.

use axum::extract::State;
use axum::response::Response;
use jobs::users;
use minijinja::context;

use super::{PageError, render, sign_in_first};
use crate::error::ApiError;
use crate::sessions::MaybeSession;
use crate::state::AppState;

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/recharge"));
    };
    let user = users::user(&state.db.main, session.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let packages = &state.settings.payments.packages;
    let available = state.providers.default_provider().is_some();
    let ctx = context! { balance => user.balance, packages, available };
    render("recharge.html", Some(&session), ctx)
}
