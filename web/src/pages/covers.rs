//! Cover images: the uploaded files by content hash (cached for a year: a name never changes
//! meaning) and the cover generated for every book, as SVG under a CSP that lets it run nothing.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jobs::covers::{self, store, svg};
use jobs::ids::{BookId, EntityId};

use super::PageError;
use crate::error::ApiError;
use crate::reading;
use crate::sessions::MaybeSession;
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// `GET /covers/{file}`: a stored cover; any other name is 404 (no path ever leaves the folder).
pub async fn stored(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let bytes = store::read(&state.settings.library.cover_dir, &file)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .ok_or(ApiError::NotFound)?;
    let headers = [
        (header::CONTENT_TYPE, store::content_type(&file)),
        (header::CACHE_CONTROL, IMMUTABLE),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    Ok((headers, bytes).into_response())
}

/// `GET /covers/book/{book_id}.svg`: the generated cover of any book the viewer may see.
pub async fn generated(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let book_id = file
        .strip_suffix(".svg")
        .and_then(|id| id.parse::<i64>().ok())
        .map(BookId::from_raw)
        .ok_or(ApiError::NotFound)?;
    let viewer = reading::viewer(session.as_ref());
    let text = covers::cover_text(&state.db.main, book_id, &viewer)
        .await?
        .ok_or(ApiError::NotFound)?;
    // A draft's cover is for its author's eyes: no shared cache may keep it.
    let cache = if text.is_published() {
        "public, max-age=300"
    } else {
        "private, max-age=300"
    };
    let body = svg::generated(book_id, &text.book_name, &text.pen_name);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SVG_CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    Ok((headers, body).into_response())
}
