//! The signed-in reader's purchases and ledger.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::history::{self, LedgerEntry, Purchase};
use jobs::paging::Page;

use super::errors::ListErrors;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Paging};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/purchases", get(purchases))
        .route("/api/me/ledger", get(ledger))
}

#[utoipa::path(
    get, path = "/api/me/purchases", tag = "purchases",
    params(Paging),
    responses((status = 200, body = Page<Purchase>), ListErrors)
)]
pub(super) async fn purchases(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Purchase>>> {
    let page = history::purchases(&state.db.main, session.user_id, paging.checked()?).await?;
    Ok(Json(page))
}

#[utoipa::path(
    get, path = "/api/me/ledger", tag = "purchases",
    params(Paging),
    responses((status = 200, body = Page<LedgerEntry>), ListErrors)
)]
pub(super) async fn ledger(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<LedgerEntry>>> {
    let page = history::ledger(&state.db.main, session.user_id, paging.checked()?).await?;
    Ok(Json(page))
}
