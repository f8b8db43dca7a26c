//! Who may read what: shared by the catalog API and the reading pages so the rules cannot drift.

use jobs::accounts::Role;
use jobs::catalog::{self, ChapterRow, Viewer};
use jobs::coins::Coins;
use jobs::content;
use jobs::ids::{BookId, ChapterId};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::library::Visitor;
use crate::sessions::Session;
use crate::state::AppState;

/// Who is reading: signed-in readers see their `owned` marks, authors and admins their drafts.
pub fn viewer(session: Option<&Session>) -> Viewer {
    session.map_or_else(Viewer::default, |s| Viewer {
        user_id: Some(s.user_id),
        author_id: s.author_id,
        is_admin: s.has_role(Role::Admin),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Chapter {
    pub id: ChapterId,
    pub book_id: BookId,
    pub index_num: i32,
    pub index_name: String,
    pub is_vip: bool,
    pub price: Coins,
    pub content: String,
    /// The chapter before this one by `index_num`; null for the first.
    pub prev_index_id: Option<ChapterId>,
    /// The chapter after this one; null for the last.
    pub next_index_id: Option<ChapterId>,
}

/// The chapter with its content; a VIP chapter needs a signed-in viewer who owns it (or wrote it,
/// or is an admin): 401 `unauthenticated` / 402 `purchase_required` otherwise. A read served
/// counts as the visitor's visit and records the reader's progress.
pub async fn chapter(
    state: &AppState,
    viewer: &Viewer,
    visitor: &Visitor,
    book_id: BookId,
    index_id: ChapterId,
) -> ApiResult<Chapter> {
    let row = visible_row(state, viewer, book_id, index_id).await?;
    read_row(state, viewer, visitor, row).await
}

/// The chapter's index row, if the viewer may see its book (404 otherwise).
pub async fn visible_row(
    state: &AppState,
    viewer: &Viewer,
    book_id: BookId,
    index_id: ChapterId,
) -> ApiResult<ChapterRow> {
    catalog::chapter(&state.db.main, book_id, index_id)
        .await?
        .filter(|row| row.visible_to(viewer))
        .ok_or(ApiError::NotFound)
}

/// [`chapter`] for a row already read with [`visible_row`].
pub async fn read_row(
    state: &AppState,
    viewer: &Viewer,
    visitor: &Visitor,
    row: ChapterRow,
) -> ApiResult<Chapter> {
    let (book_id, index_id) = (row.book_id, row.id);
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
    // The text (a content shard) and the neighbours (the main database) at once.
    let (content, around) = tokio::try_join!(
        content::read(&state.db, book_id, index_id),
        catalog::neighbours(&state.db.main, book_id, row.index_num),
    )?;
    let content = content
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("chapter {index_id} has no content")))?;
    // Drafts, and authors reading (or editing) their own book, count no visit.
    let visit = row.publish_status == 1 && viewer.author_id != Some(row.author_id);
    state
        .library
        .record_read(visitor, visit, viewer.user_id, book_id, index_id);
    Ok(Chapter {
        id: row.id,
        book_id: row.book_id,
        index_num: row.index_num,
        index_name: row.index_name,
        is_vip: row.is_vip,
        price: row.price,
        content,
        prev_index_id: around.prev,
        next_index_id: around.next,
    })
}
