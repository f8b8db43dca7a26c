//! Becoming an author.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use jobs::accounts::{self, AccountError, Role};
use jobs::ids::AuthorId;
use serde::{Deserialize, Serialize};

use super::errors::CreateUniqueErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::sessions::Session;
use crate::sessions::store::Store;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/author/register", post(register))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct NewAuthor {
    /// 1 to 50 characters, not blank (trimmed)
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    pen_name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AuthorCreated {
    author_id: AuthorId,
}

/// Makes the reader an author; the live session gains the role at once, same token.
#[utoipa::path(
    post, path = "/api/author/register", operation_id = "register_author", tag = "authors",
    request_body = NewAuthor,
    responses((status = 201, body = AuthorCreated), CreateUniqueErrors)
)]
pub(super) async fn register(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<NewAuthor>,
) -> ApiResult<(StatusCode, Json<AuthorCreated>)> {
    let pen_name = body.pen_name.trim();
    if pen_name.is_empty() || pen_name.chars().count() > 50 {
        return Err(ApiError::invalid("pen_name: 1 to 50 characters"));
    }
    let already = || ApiError::Conflict("already an author".into());
    if session.author_id.is_some() {
        return Err(already());
    }
    let author_id = state.ids.mint().await?;
    match accounts::create_author(&state.db.main, author_id, session.user_id, pen_name).await {
        Ok(()) => {}
        Err(AccountError::AlreadyExists) => return Err(already()),
        Err(AccountError::Db(error)) => return Err(error.into()),
    }
    let fields = [
        ("roles", session.roles.with(Role::Author).to_string()),
        ("author_id", author_id.to_string()),
    ];
    Store::new(&state).update(&session.key, &fields).await?;
    Ok((StatusCode::CREATED, Json(AuthorCreated { author_id })))
}
