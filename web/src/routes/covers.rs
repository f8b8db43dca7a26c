//! Uploading a book's cover: a raw PNG, JPEG or WebP body on a route with its own body limit
//! (`library.cover_max_bytes`), decoded under limits and re-encoded off the async threads, stored
//! by content hash. The files are served by `pages::covers`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use axum::routing::put;
use axum::{Json, Router};
use jobs::covers::reencode::{self, CoverError, UploadFormat};
use jobs::covers::{self, store};
use jobs::ids::BookId;
use serde::Serialize;

use super::author_books::may_edit;
use super::errors::UploadErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, PathId};
use crate::sessions::EditorSession;
use crate::state::AppState;

/// The upload route, with its own body limit (the app-wide one is smaller; see `body_limit`).
pub fn router(cover_max_bytes: usize) -> Router<AppState> {
    Router::new().route(
        UPLOAD_PATH,
        put(upload).layer(DefaultBodyLimit::max(cover_max_bytes)),
    )
}

const UPLOAD_PATH: &str = "/api/author/books/{book_id}/cover";

/// Whether `path` is a cover upload's (the one route past the app-wide body limit).
pub fn is_upload(path: &str) -> bool {
    path.strip_prefix("/api/author/books/")
        .and_then(|rest| rest.strip_suffix("/cover"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CoverUploaded {
    /// Where the stored cover is served (cached for a year: the name is its content hash).
    cover_url: String,
}

/// The raw image is the body; it is re-encoded (JPEG when opaque, PNG when transparent) so none
/// of its metadata is kept.
#[utoipa::path(
    put, path = "/api/author/books/{book_id}/cover", operation_id = "upload_cover",
    tag = "authors",
    params(("book_id" = BookId, Path)),
    request_body(
        description = "the image, at most `library.cover_max_bytes` (2 MiB) and 4096x4096 pixels",
        content(([u8] = "image/png"), ([u8] = "image/jpeg"), ([u8] = "image/webp"))
    ),
    responses((status = 200, body = CoverUploaded), UploadErrors)
)]
pub(super) async fn upload(
    State(state): State<AppState>,
    EditorSession(session): EditorSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CoverUploaded>> {
    // The target before the body: a stranger learns nothing from how their body is wrong.
    may_edit(&state, &session, book_id).await?;
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(UploadFormat::from_content_type)
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType(
                "Content-Type: image/png, image/jpeg or image/webp".to_owned(),
            )
        })?;
    let body = body?;
    // At most `library.cover_concurrency` decodes at once (each may take ~100 MiB and a second).
    let turn = state.cover_turns.take().await?;
    let encoded = tokio::task::spawn_blocking(move || {
        let encoded = reencode::reencode(&body, format);
        drop(turn);
        encoded
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?
    .map_err(|error| match error {
        CoverError::TooLarge | CoverError::Undecodable => {
            ApiError::invalid(format!("body: {error}"))
        }
        CoverError::Encode(_) => ApiError::Internal(error.into()),
    })?;
    let file = store::save(&state.settings.library.cover_dir, &encoded)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?;
    covers::set_cover(&state.db.main, book_id, &file).await?;
    tracing::info!(%book_id, file, "cover stored");
    Ok(Json(CoverUploaded {
        cover_url: covers::cover_url(book_id, Some(&file)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_book_s_cover_path_is_an_upload() {
        assert!(is_upload("/api/author/books/42/cover"));
        assert!(!is_upload("/api/author/books/42/chapters"));
        assert!(!is_upload("/api/author/books//cover"));
        assert!(!is_upload("/api/author/books/42/x/cover"));
    }
}
