//! The catalog: published books, a book's chapters, reading a chapter.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::catalog::{self, BookDetail, BookSummary};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Page, Paging, offset};
use crate::reading::{self, Chapter};
use crate::sessions::MaybeSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/books", get(list))
        .route("/api/books/{book_id}", get(show))
        .route("/api/books/{book_id}/chapters/{index_id}", get(read))
}

pub const MAX_QUERY_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<BookSummary>>> {
    let (page, size) = query.paging.checked()?;
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::invalid("q: at most 100 characters"));
    }
    let (total, items) = catalog::list_books(&state.db.main, q, size, offset(page, size)).await?;
    Ok(Json(Page {
        total,
        page,
        size,
        items,
    }))
}

async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ApiPath(book_id): ApiPath<i64>,
) -> ApiResult<Json<BookDetail>> {
    let viewer = reading::viewer(session.as_ref());
    catalog::book_detail(&state.db.main, book_id, &viewer)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

async fn read(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ApiPath((book_id, index_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Chapter>> {
    let viewer = reading::viewer(session.as_ref());
    reading::chapter(&state, &viewer, book_id, index_id)
        .await
        .map(Json)
}
