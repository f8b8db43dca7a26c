//! Admin: every recharge order (by status, by buyer) and the resolution of a flagged one.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::ids::OrderId;
use jobs::paging::Page;
use jobs::payments::orders::{self, AdminOrder, Order, OrderStatus};
use jobs::payments::resolve::{self, Action, Resolution, Resolved};
use serde::Deserialize;

use super::errors::{ListErrors, ResolveErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Paging, PathId, Search};
use crate::sessions::AdminSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/orders", get(list))
        .route("/api/admin/orders/{order_id}/resolve", post(resolve))
}

/// The longest note an admin writes with a resolution.
const MAX_NOTE_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
pub(super) struct OrderQuery {
    status: Option<OrderStatus>,
    #[serde(flatten)]
    search: Search,
    #[serde(flatten)]
    paging: Paging,
}

#[utoipa::path(
    get, path = "/api/admin/orders", operation_id = "list_orders", tag = "admin",
    params(
        Paging,
        ("status" = Option<OrderStatus>, Query),
        ("q" = Option<String>, Query, max_length = 100, description = "username, substring"),
    ),
    responses((status = 200, body = Page<AdminOrder>), ListErrors)
)]
pub(super) async fn list(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> ApiResult<Json<Page<AdminOrder>>> {
    let request = query.paging.checked()?;
    let q = query.search.checked()?;
    let page = orders::list_all(&state.db.main, query.status, q.as_ref(), request).await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveRequest {
    /// `credit`: the order is paid and its coins credited; `reject`: it stays flagged for good.
    action: Action,
    /// Why (kept on the order, and on the ledger row of a credit).
    #[schema(min_length = 1, max_length = 200)]
    note: String,
}

/// A flagged order (its charge differed from it) resolved once; any other order is 409.
#[utoipa::path(
    post, path = "/api/admin/orders/{order_id}/resolve", operation_id = "resolve_order",
    tag = "admin",
    params(("order_id" = OrderId, Path)),
    request_body = ResolveRequest,
    responses((status = 200, body = Order), ResolveErrors)
)]
pub(super) async fn resolve(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    ApiPath(PathId(order_id)): ApiPath<PathId<OrderId>>,
    body: Result<ApiJson<ResolveRequest>, ApiError>,
) -> ApiResult<Json<Order>> {
    // The target before the body.
    orders::get(&state.db.main, order_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ApiJson(body) = body?;
    let note = body.note.as_str();
    if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid("note: 1 to 200 characters"));
    }
    let resolution = Resolution {
        order_id,
        admin_id: admin.user_id,
        action: body.action,
        note,
    };
    let retries = state.settings.database.deadlock_retries;
    match resolve::resolve(&state.db.main, &state.ids, resolution, retries).await? {
        Resolved::Done(order) => {
            tracing::info!(%order_id, action = ?body.action, admin = %admin.account, "order resolved");
            Ok(Json(order))
        }
        Resolved::NotFound => Err(ApiError::NotFound),
        Resolved::NotFlagged => Err(ApiError::Conflict(
            "only a flagged order not yet resolved can be resolved".into(),
        )),
    }
}
