//! The reader's own pages: the shelf, and the reading history my account shows.

use axum::extract::State;
use axum::response::Response;
use jobs::ids::UserId;
use jobs::paging::PageRequest;
use jobs::shelf::{self, HistoryItem};
use minijinja::context;
use serde::Serialize;

use super::{PageError, page_count, render, sign_in_first};
use crate::error::ApiError;
use crate::extract::{ApiQuery, Paging};
use crate::sessions::MaybeSession;
use crate::state::AppState;

/// My shelf a page at a time, as `GET /api/me/shelf` gives it (most recently updated first).
pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    query: Result<ApiQuery<Paging>, ApiError>,
) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/shelf"));
    };
    let ApiQuery(paging) = query?;
    let request = paging.checked()?;
    let found = shelf::list(&state.db.main, session.user_id, request).await?;
    let ctx = context! {
        items => found.items, total => found.total,
        page => request.page(), pages => page_count(found.total, request),
    };
    render("shelf.html", Some(&session), ctx)
}

/// A page of my reading history (one row per book, newest first), for my account.
#[derive(Serialize)]
pub struct HistoryPage {
    items: Vec<HistoryItem>,
    page: u32,
    pages: u64,
}

pub async fn history(
    state: &AppState,
    user_id: UserId,
    page: Option<u32>,
) -> Result<HistoryPage, PageError> {
    let request = PageRequest::new(page, None).map_err(ApiError::invalid)?;
    let found = shelf::history(&state.db.main, user_id, request).await?;
    Ok(HistoryPage {
        pages: page_count(found.total, request),
        page: request.page(),
        items: found.items,
    })
}
