//! Admin: the live sessions (search, kick out, freeze) and the user list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::DateTime;
use jobs::accounts::{Roles, Username};
use jobs::coins::Coins;
use jobs::ids::UserId;
use jobs::paging::Page;
use jobs::users;
use serde::{Deserialize, Serialize};

use super::errors::{AccountErrors, ListErrors, SessionErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Paging, Search};
use crate::sessions::AdminSession;
use crate::sessions::list::Listed;
use crate::sessions::store::Store;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/sessions", get(sessions))
        .route("/api/admin/sessions/{account}", delete(kick))
        .route("/api/admin/sessions/{account}/freeze", post(freeze))
        .route("/api/admin/sessions/{account}/unfreeze", post(unfreeze))
        .route("/api/admin/users", get(users))
}

#[derive(Debug, Deserialize)]
pub(super) struct SessionQuery {
    #[serde(flatten)]
    search: Search,
    fuzzy: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SessionPage {
    total: usize,
    page: u32,
    size: u32,
    #[serde(rename = "match")]
    matched: &'static str,
    items: Vec<SessionItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SessionItem {
    account: String,
    user_id: UserId,
    last_active: String,
    created: String,
    remember_me: bool,
    frozen: bool,
}

impl From<Listed> for SessionItem {
    fn from(l: Listed) -> Self {
        let time = |ms| {
            DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| jobs::json::time(&t))
        };
        Self {
            account: l.account,
            user_id: l.user_id,
            last_active: time(l.last_active_ms),
            created: time(l.created_ms),
            remember_me: l.remember_me,
            frozen: l.frozen,
        }
    }
}

/// Whether the caller asked for a fuzzy (substring) search.
fn fuzzy(fuzzy: Option<&str>) -> ApiResult<bool> {
    match fuzzy {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid("fuzzy: true or false")),
    }
}

/// Newest activity first. Fuzzy search reads the whole set, so it is honoured only while the
/// set is small (`sessions.fuzzy_search_limit`); otherwise the search is exact.
#[utoipa::path(
    get, path = "/api/admin/sessions", tag = "admin",
    params(
        Paging,
        ("q" = Option<String>, Query, max_length = 100, description = "account"),
        (
            "fuzzy" = Option<bool>, Query,
            description = "substring search while the session count is small",
        ),
    ),
    responses((status = 200, body = SessionPage), ListErrors)
)]
pub(super) async fn sessions(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionPage>> {
    let request = query.paging.checked()?;
    let q = query.search.checked()?;
    let fuzzy = fuzzy(query.fuzzy.as_deref())?;
    let (start, size) = (request.offset(), request.size());
    let mut store = Store::new(&state);
    let (matched, total, items) = match q {
        None => {
            let items = store.page(start, u64::from(size)).await?;
            let total = store.publish_count().await?;
            ("all", total as usize, items)
        }
        Some(q)
            if fuzzy
                && store.publish_count().await? <= state.settings.sessions.fuzzy_search_limit =>
        {
            let everyone = store
                .page(0, state.settings.sessions.fuzzy_search_limit)
                .await?;
            let hits: Vec<Listed> = everyone
                .into_iter()
                .filter(|l| l.account.contains(q.as_str()))
                .collect();
            let total = hits.len();
            let items = hits
                .into_iter()
                .skip(start as usize)
                .take(size as usize)
                .collect();
            ("fuzzy", total, items)
        }
        Some(q) => {
            let found: Vec<Listed> = store.find(q.as_str()).await?.into_iter().collect();
            let total = found.len();
            let items = found.into_iter().skip(start as usize).collect();
            ("exact", total, items)
        }
    };
    Ok(Json(SessionPage {
        total,
        page: request.page(),
        size,
        matched,
        items: items.into_iter().map(SessionItem::from).collect(),
    }))
}

/// Ends the account's session at once; idempotent (204 when there was none).
#[utoipa::path(
    delete, path = "/api/admin/sessions/{account}", tag = "admin",
    params(("account" = String, Path)),
    responses((status = 204, description = "kicked out"), SessionErrors)
)]
pub(super) async fn kick(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiPath(account): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if Username::parse(&account).is_ok() {
        let mut store = Store::new(&state);
        store.kick(&account).await?;
        store.publish_count().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/admin/sessions/{account}/freeze", tag = "admin",
    params(("account" = String, Path, pattern = "^[A-Za-z0-9_]{3,32}$")),
    responses((status = 204, description = "frozen"), AccountErrors)
)]
pub(super) async fn freeze(
    state: State<AppState>,
    _admin: AdminSession,
    account: ApiPath<String>,
) -> ApiResult<StatusCode> {
    set_frozen(state, account, true).await
}

#[utoipa::path(
    post, path = "/api/admin/sessions/{account}/unfreeze", tag = "admin",
    params(("account" = String, Path, pattern = "^[A-Za-z0-9_]{3,32}$")),
    responses((status = 204, description = "unfrozen"), AccountErrors)
)]
pub(super) async fn unfreeze(
    state: State<AppState>,
    _admin: AdminSession,
    account: ApiPath<String>,
) -> ApiResult<StatusCode> {
    set_frozen(state, account, false).await
}

/// MySQL keeps the flag (it outlives sessions and Redis); the live session follows at once.
async fn set_frozen(
    State(state): State<AppState>,
    ApiPath(account): ApiPath<String>,
    frozen: bool,
) -> ApiResult<StatusCode> {
    let Ok(username) = Username::parse(&account) else {
        return Err(ApiError::NotFound);
    };
    if !users::set_frozen(&state.db.main, &username, frozen).await? {
        return Err(ApiError::NotFound);
    }
    Store::new(&state).set_frozen(&account, frozen).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub(super) struct UserQuery {
    #[serde(flatten)]
    search: Search,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct UserItem {
    id: UserId,
    username: String,
    nick_name: String,
    roles: Roles,
    balance: Coins,
    frozen: bool,
}

#[utoipa::path(
    get, path = "/api/admin/users", tag = "admin",
    params(
        Paging,
        (
            "q" = Option<String>, Query, max_length = 100,
            description = "username or nick name, substring",
        ),
    ),
    responses((status = 200, body = Page<UserItem>), ListErrors)
)]
pub(super) async fn users(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> ApiResult<Json<Page<UserItem>>> {
    let request = query.paging.checked()?;
    let q = query.search.checked()?;
    let rows = users::list_users(&state.db.main, q.as_ref(), request).await?;
    let items = rows
        .items
        .into_iter()
        .map(|u| UserItem {
            id: u.id,
            roles: u.roles,
            username: u.username,
            nick_name: u.nick_name,
            balance: u.balance,
            frozen: u.frozen,
        })
        .collect();
    Ok(Json(request.answer(rows.total, items)))
}
