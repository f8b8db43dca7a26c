//! An author's edits of a book's details: name, description, category, ongoing/finished.

use axum::extract::State;
use axum::routing::patch;
use axum::{Json, Router};
use jobs::catalog::{self, BookChanges, BookDetail, BookStatus, ChapterPage};
use jobs::ids::{BookId, CategoryId};
use serde::{Deserialize, Deserializer};

use super::author_books::{MAX_BOOK_NAME, may_edit, text};
use super::errors::WriteToErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, PathId};
use crate::reading;
use crate::sessions::EditorSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/author/books/{book_id}", patch(edit))
}

pub const MAX_DESCRIPTION: usize = 2000;

/// At least one field; a field left out keeps its value.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub(super) struct BookDetails {
    /// 1 to 50 characters, not blank (trimmed)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 50, pattern = "\\S")]
    book_name: Option<String>,
    /// at most 2000 characters, may be empty
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 2000)]
    description: Option<String>,
    /// an existing category (400 otherwise); null takes the book out of its category
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CategoryId>)]
    category_id: Option<Option<CategoryId>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = BookStatus)]
    book_status: Option<BookStatus>,
}

/// A field that is present: its value as `T` (so `null` is refused unless `T` is an `Option`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[utoipa::path(
    patch, path = "/api/author/books/{book_id}", operation_id = "edit_book", tag = "authors",
    params(("book_id" = BookId, Path)),
    request_body = BookDetails,
    responses((status = 200, body = BookDetail), WriteToErrors)
)]
pub(super) async fn edit(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
    body: Result<ApiJson<BookDetails>, ApiError>,
) -> ApiResult<Json<BookDetail>> {
    // The target before the body: a stranger learns nothing from how their body is wrong.
    may_edit(&state, &session, book_id).await?;
    let ApiJson(body) = body?;
    let changes = BookChanges {
        book_name: body
            .book_name
            .as_deref()
            .map(|name| text("book_name", name, MAX_BOOK_NAME))
            .transpose()?,
        description: body.description.as_deref(),
        category_id: body.category_id,
        book_status: body.book_status,
    };
    if changes.book_name.is_none()
        && changes.description.is_none()
        && changes.category_id.is_none()
        && changes.book_status.is_none()
    {
        return Err(ApiError::invalid(
            "give at least one of book_name, description, category_id, book_status",
        ));
    }
    if changes
        .description
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(ApiError::invalid("description: at most 2000 characters"));
    }
    if let Some(Some(category_id)) = changes.category_id
        && !catalog::category_exists(&state.db.main, category_id).await?
    {
        return Err(ApiError::invalid("category_id: no such category"));
    }
    catalog::update_book(&state.db.main, book_id, &changes).await?;
    let viewer = reading::viewer(Some(&session));
    catalog::book_detail(&state.db.main, book_id, &viewer, ChapterPage::first())
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
