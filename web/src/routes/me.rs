//! The signed-in account: its profile and password.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::accounts::{self, Password, Roles};
use jobs::coins::Coins;
use jobs::ids::{AuthorId, UserId};
use jobs::users;
use serde::{Deserialize, Serialize};

use super::auth::session_headers;
use super::errors::{SessionErrors, WriteErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::sessions::{self, Session};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me", get(show))
        .route("/api/me/password", post(change_password))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Me {
    id: UserId,
    username: String,
    nick_name: String,
    roles: Roles,
    balance: Coins,
    author_id: Option<AuthorId>,
}

#[utoipa::path(
    get, path = "/api/me", operation_id = "show_me", tag = "accounts",
    responses((status = 200, body = Me), SessionErrors)
)]
pub(super) async fn show(State(state): State<AppState>, session: Session) -> ApiResult<Json<Me>> {
    let user = users::user(&state.db.main, session.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Json(Me {
        id: user.id,
        username: user.username,
        nick_name: user.nick_name,
        roles: user.roles,
        balance: user.balance,
        author_id: user.author_id,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct PasswordBody {
    old_password: String,
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct NewToken {
    token: String,
}

/// Sets a new password and replaces the session: every older token of the account stops working.
#[utoipa::path(
    post, path = "/api/me/password", tag = "accounts",
    request_body = PasswordBody,
    responses((status = 200, body = NewToken), WriteErrors)
)]
pub(super) async fn change_password(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let new_password =
        Password::parse("new_password", body.new_password).map_err(ApiError::Invalid)?;
    let row = accounts::find_login_by_id(&state.db.main, session.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let stored = Some(row.password_hash.clone());
    if !state.hasher.verify(body.old_password, stored).await? {
        return Err(ApiError::invalid("old_password: does not match"));
    }
    let new_hash = state.hasher.hash(new_password.into_string()).await?;
    // The middleware saw the session unfrozen; a freeze may have landed since (the hashes take
    // a while), and a frozen account keeps its password.
    if !users::set_password_hash(&state.db.main, row.id, &new_hash).await? {
        return Err(ApiError::SessionFrozen);
    }
    // A freeze landing after the change freezes the new session: the password did change.
    let created = sessions::open(&state, &row, session.remember_me)
        .await?
        .created;
    let headers = session_headers(&state, &created, session.remember_me)?;
    Ok((
        headers,
        Json(NewToken {
            token: created.token,
        }),
    )
        .into_response())
}
