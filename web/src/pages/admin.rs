//! The admin console: sessions (freeze, unfreeze, kick) and users (credit coins).

use axum::response::Response;
use minijinja::context;

use super::{PageError, render, sign_in_first};
use crate::error::ApiError;
use crate::sessions::MaybeSession;

/// The lists are loaded by the page script through the admin API, which checks the role again.
pub async fn show(MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/admin"));
    };
    if !session.has_role(jobs::accounts::Role::Admin) {
        return Err(ApiError::Forbidden.into());
    }
    render("admin.html", Some(&session), context! {})
}
