//! Registration, login and logout.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jobs::accounts::{
    self, AccountError, LoginRow, NewUser, NickName, Password, Role, Roles, Username,
};
use jobs::ids::UserId;
use serde::{Deserialize, Serialize};

use super::errors::{LoginErrors, RegisterErrors, SessionErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::sessions::store::{Created, Store};
use crate::sessions::{self, CSRF_HEADER, Opened, Session, limits};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct NewAccount {
    #[schema(pattern = "^[A-Za-z0-9_]{3,32}$")]
    username: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// 1 to 64 characters, not blank (trimmed); the username when absent
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    nick_name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AccountCreated {
    user_id: UserId,
}

#[utoipa::path(
    post, path = "/api/auth/register", operation_id = "register_account", tag = "accounts",
    security(()),
    request_body = NewAccount,
    responses((status = 201, body = AccountCreated), RegisterErrors)
)]
pub(super) async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let username = Username::parse(&body.username).map_err(ApiError::Invalid)?;
    let password = Password::parse("password", body.password).map_err(ApiError::Invalid)?;
    let nick_name = body.nick_name.as_deref().unwrap_or(username.as_str());
    let nick_name = NickName::parse(nick_name).map_err(ApiError::Invalid)?;
    if let Some(retry_after_secs) = limits::reserve_registration(&state, peer.ip()).await? {
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let hash = state.hasher.hash(password.into_string()).await?;
    let user_id = state.ids.mint().await?;
    let user = NewUser {
        id: user_id,
        username: &username,
        nick_name: &nick_name,
        roles: &Roles::from(&[Role::Reader][..]),
    };
    match accounts::insert_user(&state.db.main, user, &hash).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(AccountCreated { user_id }))),
        Err(AccountError::AlreadyExists) => Err(ApiError::Conflict("username is taken".into())),
        Err(AccountError::Db(error)) => Err(error.into()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct LoginBody {
    username: String,
    password: String,
    #[serde(default)]
    remember_me: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct LoggedIn {
    token: String,
    user: UserSummary,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct UserSummary {
    id: UserId,
    username: String,
    nick_name: String,
    roles: Roles,
}

#[utoipa::path(
    post, path = "/api/auth/login", tag = "accounts", security(()),
    request_body = LoginBody,
    responses((status = 200, body = LoggedIn), LoginErrors)
)]
pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    // Names that cannot exist share one bucket, so junk never becomes a Redis key.
    let username = Username::parse(&body.username).ok();
    let password = Password::parse("password", body.password).ok();
    let plausible = username.as_ref().zip(password);
    let bucket = match &plausible {
        Some((username, _)) => username.as_str(),
        None => "-",
    };
    let mut store = Store::new(&state);
    if let Some(retry_after_secs) = store.reserve_login(bucket, peer.ip()).await? {
        sessions::count_login("rate_limited");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    // Only a wrong password keeps its reserved attempt; a right one, or one never checked (an
    // outage, a shed hash), gives it back.
    let checked = check_password(&state, plausible).await;
    if !matches!(checked, Ok(None)) {
        store.release_login(bucket, peer.ip()).await?;
    }
    let Some(row) = checked? else {
        sessions::count_login("failure");
        return Err(ApiError::BadCredentials);
    };
    if row.session_frozen {
        sessions::count_login("frozen");
        return Err(ApiError::SessionFrozen);
    }
    // A freeze that landed after the check above holds for the new session too.
    let Opened { created, frozen } = sessions::open(&state, &row, body.remember_me).await?;
    if frozen {
        sessions::count_login("frozen");
        return Err(ApiError::SessionFrozen);
    }
    sessions::count_login("success");
    let user = UserSummary {
        id: row.id,
        username: row.username,
        nick_name: row.nick_name,
        roles: row.roles,
    };
    let headers = session_headers(&state, &created, body.remember_me)?;
    let body = LoggedIn {
        token: created.token,
        user,
    };
    Ok((headers, Json(body)).into_response())
}

/// The account when the username exists and the password is its own (none: not a possible
/// username and password).
async fn check_password(
    state: &AppState,
    plausible: Option<(&Username, Password)>,
) -> ApiResult<Option<LoginRow>> {
    let Some((username, password)) = plausible else {
        return Ok(None);
    };
    let row = accounts::find_login(&state.db.main, username).await?;
    let stored = row.as_ref().map(|r| r.password_hash.clone());
    let verified = state.hasher.verify(password.into_string(), stored).await?;
    Ok(row.filter(|_| verified))
}

/// `Set-Cookie` with the new token and `X-CSRF-Token` with its first CSRF token.
pub(crate) fn session_headers(
    state: &AppState,
    created: &Created,
    remember_me: bool,
) -> ApiResult<HeaderMap> {
    let (_, absolute_ms) = state.settings.sessions.timeouts_ms(remember_me);
    let max_age = remember_me.then_some(absolute_ms / 1000);
    let cookie = sessions::cookie(&created.token, max_age, state.settings.http.cookie_secure);
    let mut headers = HeaderMap::new();
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
    };
    headers.insert(header::SET_COOKIE, value(&cookie)?);
    headers.insert(CSRF_HEADER, value(&created.csrf)?);
    Ok(headers)
}

#[utoipa::path(
    post, path = "/api/auth/logout", tag = "accounts",
    responses((status = 204, description = "signed out"), SessionErrors)
)]
pub(super) async fn logout(State(state): State<AppState>, session: Session) -> ApiResult<Response> {
    let mut store = Store::new(&state);
    store.end(&session.key, &session.account).await?;
    store.publish_count().await?;
    let cookie = sessions::expired_cookie(state.settings.http.cookie_secure);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
