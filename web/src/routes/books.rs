//! The catalog: published books, a book's chapters, reading a chapter.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::accounts::ADMIN;
use jobs::catalog::{self, BookDetail, BookSummary, Viewer};
use jobs::content;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Page, Paging, offset};
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
pub(super) struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[utoipa::path(
    get,
    path = "/api/books",
    tag = "catalog",
    params(("page" = Option<u32>, Query, description = "page, from 1"), ("size" = Option<u32>, Query, description = "page size, 1 to 100"), ("q" = Option<String>, Query, description = "book or pen name, substring")),
    responses((status = 200, body = Page<jobs::catalog::BookSummary>), (status = 400, description = "invalid request", body = crate::error::ErrorBody), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody))
)]
pub(super) async fn list(
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

/// Who is reading: signed-in readers see their `owned` marks, authors and admins their drafts.
fn viewer(MaybeSession(session): MaybeSession) -> Viewer {
    session.map_or_else(Viewer::default, |s| Viewer {
        user_id: Some(s.user_id),
        author_id: s.author_id,
        is_admin: s.has_role(ADMIN),
    })
}

#[utoipa::path(
    get,
    path = "/api/books/{book_id}",
    tag = "catalog",
    params(("book_id" = i64, Path)),
    responses((status = 200, body = jobs::catalog::BookDetail), (status = 400, description = "invalid request", body = crate::error::ErrorBody), (status = 403, description = "frozen, CSRF or forbidden", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    session: MaybeSession,
    ApiPath(book_id): ApiPath<i64>,
) -> ApiResult<Json<BookDetail>> {
    let viewer = viewer(session);
    catalog::book_detail(&state.db.main, book_id, &viewer)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Chapter {
    #[serde(with = "jobs::json::id")]
    #[schema(value_type = String)]
    id: i64,
    #[serde(with = "jobs::json::id")]
    #[schema(value_type = String)]
    book_id: i64,
    index_num: i32,
    index_name: String,
    is_vip: bool,
    price: i64,
    content: String,
}

#[utoipa::path(
    get,
    path = "/api/books/{book_id}/chapters/{index_id}",
    tag = "catalog",
    params(("book_id" = i64, Path), ("index_id" = i64, Path)),
    responses((status = 200, body = Chapter), (status = 400, description = "invalid request", body = crate::error::ErrorBody), (status = 401, description = "not signed in", body = crate::error::ErrorBody), (status = 402, description = "purchase required", body = crate::error::ErrorBody), (status = 403, description = "frozen, CSRF or forbidden", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody))
)]
pub(super) async fn read(
    State(state): State<AppState>,
    session: MaybeSession,
    ApiPath((book_id, index_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Chapter>> {
    let viewer = viewer(session);
    let row = catalog::chapter(&state.db.main, book_id, index_id)
        .await?
        .filter(|row| row.visible_to(&viewer))
        .ok_or(ApiError::NotFound)?;
    if row.is_vip {
        let Some(user_id) = viewer.user_id else {
            return Err(ApiError::Unauthenticated);
        };
        let may_read = viewer.is_admin
            || viewer.author_id == Some(row.author_id)
            || catalog::owns(&state.db.main, user_id, index_id).await?;
        if !may_read {
            return Err(ApiError::PurchaseRequired { price: row.price });
        }
    }
    let content = content::read(&state.db, book_id, index_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("chapter {index_id} has no content")))?;
    Ok(Json(Chapter {
        id: row.id,
        book_id: row.book_id,
        index_num: row.index_num,
        index_name: row.index_name,
        is_vip: row.is_vip,
        price: row.price,
        content,
    }))
}
