//! The catalog: published books, a book's chapters, reading a chapter.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::catalog::{self, BookDetail, BookSummary};
use jobs::ids::{BookId, ChapterId};
use jobs::paging::Page;
use serde::Deserialize;

use super::errors::{PublicLookupErrors, ReadChapterErrors, SearchErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, ChapterPath, Paging, PathId, Search};
use crate::library::Visitor;
use crate::reading::{self, Chapter};
use crate::sessions::MaybeSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/books", get(list))
        .route("/api/books/{book_id}", get(show))
        .route("/api/books/{book_id}/chapters/{index_id}", get(read))
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(flatten)]
    search: Search,
    #[serde(flatten)]
    paging: Paging,
}

#[utoipa::path(
    get, path = "/api/books", operation_id = "list_books", tag = "catalog", security(()),
    params(
        Paging,
        (
            "q" = Option<String>, Query, max_length = 100,
            description = "book or pen name, substring",
        ),
    ),
    responses((status = 200, body = Page<BookSummary>), SearchErrors)
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<BookSummary>>> {
    let request = query.paging.checked()?;
    let q = query.search.checked()?;
    let page = catalog::list_books(&state.db.main, q.as_ref(), request).await?;
    Ok(Json(page))
}

#[utoipa::path(
    get, path = "/api/books/{book_id}", operation_id = "show_book", tag = "catalog", security(()),
    params(("book_id" = BookId, Path)),
    responses((status = 200, body = jobs::catalog::BookDetail), PublicLookupErrors)
)]
pub(super) async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
) -> ApiResult<Json<BookDetail>> {
    let viewer = reading::viewer(session.as_ref());
    catalog::book_detail(&state.db.main, book_id, &viewer)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(
    get, path = "/api/books/{book_id}/chapters/{index_id}", operation_id = "read_chapter",
    tag = "catalog", security(()),
    params(("book_id" = BookId, Path), ("index_id" = ChapterId, Path)),
    responses((status = 200, body = crate::reading::Chapter), ReadChapterErrors)
)]
pub(super) async fn read(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    visitor: Visitor,
    ApiPath(ids): ChapterPath,
) -> ApiResult<Json<Chapter>> {
    let (PathId(book_id), PathId(index_id)) = ids;
    let viewer = reading::viewer(session.as_ref());
    reading::chapter(&state, &viewer, &visitor, book_id, index_id)
        .await
        .map(Json)
}
