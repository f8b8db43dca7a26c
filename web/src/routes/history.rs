//! The signed-in reader's purchases and ledger.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::history::{self, LedgerEntry, Purchase};

use crate::error::ApiResult;
use crate::extract::{ApiQuery, Page, Paging, offset};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/purchases", get(purchases))
        .route("/api/me/ledger", get(ledger))
}

async fn purchases(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Purchase>>> {
    let (page, size) = paging.checked()?;
    let (total, items) =
        history::purchases(&state.db.main, session.user_id, size, offset(page, size)).await?;
    Ok(Json(Page {
        total,
        page,
        size,
        items,
    }))
}

async fn ledger(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<LedgerEntry>>> {
    let (page, size) = paging.checked()?;
    let (total, items) =
        history::ledger(&state.db.main, session.user_id, size, offset(page, size)).await?;
    Ok(Json(Page {
        total,
        page,
        size,
        items,
    }))
}
