//! `PATCH` a chapter: its name, text or VIP flag, under the same bounds as adding one. The
//! price follows the new word count; readers who bought the chapter keep it.

use axum::Json;
use axum::extract::State;
use jobs::chapter_edit::{self, ChapterEdit, EditedChapter};
use jobs::coins::Coins;
use jobs::ids::ChapterId;
use serde::{Deserialize, Serialize};

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};

use super::author_books::{
    MAX_CHAPTER_NAME, MAX_CONTENT_CHARS, authoring_error, chapter_text, may_edit, text,
};
use super::errors::WriteToErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ChapterPath, PathId};
use crate::sessions::EditorSession;
use crate::state::AppState;

/// At least one field; `null` counts as absent. Its schema is written out below: the derive
/// turns `min_properties` into `maxProperties` (utoipa 5.5).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChapterPatch {
    index_name: Option<String>,
    content: Option<String>,
    is_vip: Option<bool>,
}

impl utoipa::PartialSchema for ChapterPatch {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str, max: usize| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
                .min_length(Some(1))
                .max_length(Some(max))
                .pattern(Some("\\S"))
        };
        ObjectBuilder::new()
            .description(Some("At least one field; each as when adding a chapter."))
            .property(
                "index_name",
                text("1 to 100 characters, not blank (trimmed)", MAX_CHAPTER_NAME),
            )
            .property(
                "content",
                text("1 to 200 000 characters, not blank", MAX_CONTENT_CHARS),
            )
            .property("is_vip", ObjectBuilder::new().schema_type(Type::Boolean))
            .min_properties(Some(1))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl utoipa::ToSchema for ChapterPatch {}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ChapterEdited {
    index_id: ChapterId,
    price: Coins,
}

#[utoipa::path(
    patch, path = "/api/author/books/{book_id}/chapters/{index_id}", tag = "authors",
    operation_id = "edit_chapter",
    params(("book_id" = jobs::ids::BookId, Path), ("index_id" = ChapterId, Path)),
    request_body = ChapterPatch,
    responses((status = 200, body = ChapterEdited), WriteToErrors)
)]
pub(super) async fn edit(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(ids): ChapterPath,
    body: Result<ApiJson<ChapterPatch>, ApiError>,
) -> ApiResult<Json<ChapterEdited>> {
    let (PathId(book_id), PathId(index_id)) = ids;
    // The target before the body: a stranger learns nothing from how their body is wrong.
    may_edit(&state, &session, book_id).await?;
    let ApiJson(body) = body?;
    if body.index_name.is_none() && body.content.is_none() && body.is_vip.is_none() {
        return Err(ApiError::invalid(
            "at least one of index_name, content, is_vip",
        ));
    }
    let index_name = body
        .index_name
        .as_deref()
        .map(|name| text("index_name", name, MAX_CHAPTER_NAME))
        .transpose()?;
    let content = body.content.as_deref().map(chapter_text).transpose()?;
    let edit = ChapterEdit {
        book_id,
        index_id,
        index_name,
        content,
        is_vip: body.is_vip,
    };
    let EditedChapter { index_id, price } =
        chapter_edit::edit_chapter(&state.db, &state.ids, &state.settings.pricing, edit)
            .await
            .map_err(authoring_error)?;
    Ok(Json(ChapterEdited { index_id, price }))
}
