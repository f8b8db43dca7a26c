//! Following authors and the feed of their latest published books.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::follows::{self, FollowedAuthor};
use jobs::ids::AuthorId;
use jobs::paging::Page;

use super::errors::{ListErrors, LookupErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Paging, PathId};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/authors/{author_id}/follow",
            post(follow).delete(unfollow),
        )
        .route("/api/me/follows", get(feed))
}

#[utoipa::path(
    post, path = "/api/authors/{author_id}/follow", tag = "follows",
    params(("author_id" = AuthorId, Path)),
    responses((status = 204, description = "following"), LookupErrors)
)]
pub(super) async fn follow(
    State(state): State<AppState>,
    session: Session,
    ApiPath(PathId(author_id)): ApiPath<PathId<AuthorId>>,
) -> ApiResult<StatusCode> {
    if !follows::follow(&state.db.main, session.user_id, author_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/api/authors/{author_id}/follow", tag = "follows",
    params(("author_id" = AuthorId, Path)),
    responses((status = 204, description = "not following"), LookupErrors)
)]
pub(super) async fn unfollow(
    State(state): State<AppState>,
    session: Session,
    ApiPath(PathId(author_id)): ApiPath<PathId<AuthorId>>,
) -> ApiResult<StatusCode> {
    if !follows::unfollow(&state.db.main, session.user_id, author_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/api/me/follows", tag = "follows",
    params(Paging),
    responses((status = 200, body = Page<FollowedAuthor>), ListErrors)
)]
pub(super) async fn feed(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<FollowedAuthor>>> {
    let page = follows::feed(&state.db.main, session.user_id, paging.checked()?).await?;
    Ok(Json(page))
}
