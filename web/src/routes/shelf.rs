//! The signed-in reader's shelf and reading history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use jobs::ids::BookId;
use jobs::paging::Page;
use jobs::shelf::{self, HistoryItem, ShelfItem, Shelved};

use super::errors::{ListErrors, LookupErrors, ShelveErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Paging, PathId};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/shelf", get(list))
        .route("/api/me/shelf/{book_id}", put(add).delete(remove))
        .route("/api/me/history", get(history))
}

#[utoipa::path(
    get, path = "/api/me/shelf", tag = "library",
    params(Paging),
    responses((status = 200, body = Page<ShelfItem>), ListErrors)
)]
pub(super) async fn list(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<ShelfItem>>> {
    let page = shelf::list(&state.db.main, session.user_id, paging.checked()?).await?;
    Ok(Json(page))
}

#[utoipa::path(
    put, path = "/api/me/shelf/{book_id}", tag = "library",
    params(("book_id" = BookId, Path)),
    responses((status = 204, description = "on the shelf"), ShelveErrors)
)]
pub(super) async fn add(
    State(state): State<AppState>,
    session: Session,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
) -> ApiResult<StatusCode> {
    let limit = state.settings.library.shelf_limit;
    match shelf::add(&state.db.main, session.user_id, book_id, limit).await? {
        Shelved::Kept => Ok(StatusCode::NO_CONTENT),
        Shelved::NotFound => Err(ApiError::NotFound),
        Shelved::Full => Err(ApiError::ShelfFull),
    }
}

#[utoipa::path(
    delete, path = "/api/me/shelf/{book_id}", tag = "library",
    params(("book_id" = BookId, Path)),
    responses((status = 204, description = "not on the shelf"), LookupErrors)
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    session: Session,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
) -> ApiResult<StatusCode> {
    if !shelf::remove(&state.db.main, session.user_id, book_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/api/me/history", tag = "library",
    params(Paging),
    responses((status = 200, body = Page<HistoryItem>), ListErrors)
)]
pub(super) async fn history(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<HistoryItem>>> {
    let page = shelf::history(&state.db.main, session.user_id, paging.checked()?).await?;
    Ok(Json(page))
}
