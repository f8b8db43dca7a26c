//! An author's books and chapters: create, publish, add and delete chapters (editing one is
//! `chapter_edit`'s). Only the book's own author (or an admin) may change a book.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use jobs::accounts::Role;
use jobs::authoring::{self, AddedChapter, AuthorBook, AuthoringError, NewChapter};
use jobs::coins::Coins;
use jobs::ids::{BookId, ChapterId};
use jobs::paging::Page;
use serde::{Deserialize, Serialize};

use super::errors::{ListErrors, LookupErrors, WriteErrors, WriteToErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ChapterPath, Paging, PathId};
use crate::sessions::{AuthorSession, EditorSession, Session};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/author/books", get(list).post(create))
        .route("/api/author/books/{book_id}/publish", post(publish))
        .route("/api/author/books/{book_id}/chapters", post(add_chapter))
        .route(
            "/api/author/books/{book_id}/chapters/{index_id}",
            delete(delete_chapter).patch(super::chapter_edit::edit),
        )
}

pub const MAX_BOOK_NAME: usize = 50;
pub const MAX_CHAPTER_NAME: usize = 100;
pub const MAX_CONTENT_CHARS: usize = 200_000;

#[utoipa::path(
    get, path = "/api/author/books", operation_id = "list_author_books", tag = "authors",
    params(Paging),
    responses((status = 200, body = Page<AuthorBook>), ListErrors)
)]
pub(super) async fn list(
    State(state): State<AppState>,
    author: AuthorSession,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<AuthorBook>>> {
    let page = authoring::author_books(&state.db.main, author.author_id, paging.checked()?).await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewBook {
    /// 1 to 50 characters, not blank (trimmed)
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    book_name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct BookCreated {
    book_id: BookId,
}

/// Checks a required text field: trimmed, 1 to `max` characters.
pub(super) fn text<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(format!("{field}: 1 to {max} characters")));
    }
    Ok(value)
}

/// Checks a chapter's text: not blank, at most 200 000 characters (kept as written).
pub(super) fn chapter_text(content: &str) -> ApiResult<&str> {
    if content.trim().is_empty() || content.chars().count() > MAX_CONTENT_CHARS {
        return Err(ApiError::invalid("content: 1 to 200000 characters"));
    }
    Ok(content)
}

#[utoipa::path(
    post, path = "/api/author/books", operation_id = "create_book", tag = "authors",
    request_body = NewBook,
    responses((status = 201, body = BookCreated), WriteErrors)
)]
pub(super) async fn create(
    State(state): State<AppState>,
    author: AuthorSession,
    ApiJson(body): ApiJson<NewBook>,
) -> ApiResult<(StatusCode, Json<BookCreated>)> {
    let book_name = text("book_name", &body.book_name, MAX_BOOK_NAME)?;
    let book_id = state.ids.mint().await?;
    authoring::create_book(&state.db.main, book_id, author.author_id, book_name).await?;
    Ok((StatusCode::CREATED, Json(BookCreated { book_id })))
}

/// 404 when there is no such book, 403 when it is someone else's (admins may change any).
pub(super) async fn may_edit(
    state: &AppState,
    session: &Session,
    book_id: BookId,
) -> ApiResult<()> {
    let author_id = authoring::book_author(&state.db.main, book_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if session.has_role(Role::Admin) || session.author_id == Some(author_id) {
        return Ok(());
    }
    Err(ApiError::Forbidden)
}

#[utoipa::path(
    post, path = "/api/author/books/{book_id}/publish", tag = "authors",
    params(("book_id" = BookId, Path)),
    responses((status = 204, description = "published"), LookupErrors)
)]
pub(super) async fn publish(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
) -> ApiResult<StatusCode> {
    may_edit(&state, &session, book_id).await?;
    authoring::publish_book(&state.db.main, book_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ChapterBody {
    /// 1 to 100 characters, not blank (trimmed)
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    index_name: String,
    /// 1 to 200 000 characters, not blank
    #[schema(min_length = 1, max_length = 200000, pattern = "\\S")]
    content: String,
    is_vip: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ChapterCreated {
    index_id: ChapterId,
    price: Coins,
}

#[utoipa::path(
    post, path = "/api/author/books/{book_id}/chapters", tag = "authors",
    params(("book_id" = BookId, Path)),
    request_body = ChapterBody,
    responses((status = 201, body = ChapterCreated), WriteToErrors)
)]
pub(super) async fn add_chapter(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
    body: Result<ApiJson<ChapterBody>, ApiError>,
) -> ApiResult<(StatusCode, Json<ChapterCreated>)> {
    // The target before the body: a stranger learns nothing from how their body is wrong.
    may_edit(&state, &session, book_id).await?;
    let ApiJson(body) = body?;
    let index_name = text("index_name", &body.index_name, MAX_CHAPTER_NAME)?;
    let content = chapter_text(&body.content)?;
    let chapter = NewChapter {
        book_id,
        index_name,
        content,
        is_vip: body.is_vip,
    };
    let AddedChapter { index_id, price } =
        authoring::add_chapter(&state.db, &state.ids, &state.settings.pricing, chapter)
            .await
            .map_err(authoring_error)?;
    Ok((
        StatusCode::CREATED,
        Json(ChapterCreated { index_id, price }),
    ))
}

#[utoipa::path(
    delete, path = "/api/author/books/{book_id}/chapters/{index_id}", tag = "authors",
    params(("book_id" = BookId, Path), ("index_id" = ChapterId, Path)),
    responses(
        (status = 204, description = "deleted; its purchases are refunded by the next sweep"),
        LookupErrors,
    )
)]
pub(super) async fn delete_chapter(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(ids): ChapterPath,
) -> ApiResult<StatusCode> {
    let (PathId(book_id), PathId(index_id)) = ids;
    may_edit(&state, &session, book_id).await?;
    authoring::delete_chapter(&state.db, book_id, index_id)
        .await
        .map_err(authoring_error)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn authoring_error(error: AuthoringError) -> ApiError {
    match error {
        AuthoringError::NotFound => ApiError::NotFound,
        AuthoringError::Id(error) => error.into(),
        AuthoringError::Db(error) => error.into(),
    }
}
