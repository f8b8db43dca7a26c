//! Catalog reads: published books, a book's chapters, one chapter's row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::MySqlPool;

use crate::coins::Coins;
use crate::ids::{AuthorId, BookId, BuyRecordId, ChapterId, UserId};
use crate::paging::{self, Binds, Page, PageRequest, SearchText};

/// Who is asking, for draft visibility and the `owned` marks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Viewer {
    pub user_id: Option<UserId>,
    pub author_id: Option<AuthorId>,
    pub is_admin: bool,
}

impl Viewer {
    /// A published book, or a draft to its author and admins.
    pub fn may_see(&self, status: i8, author_id: AuthorId) -> bool {
        status == 1 || self.is_admin || self.author_id == Some(author_id)
    }
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BookSummary {
    pub id: BookId,
    pub book_name: String,
    pub author_id: AuthorId,
    pub pen_name: String,
    pub word_count: i64,
    pub last_index_id: Option<ChapterId>,
    pub last_index_name: Option<String>,
    #[serde(with = "crate::json::opt_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_index_update_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookDetail {
    pub id: BookId,
    pub book_name: String,
    pub author_id: AuthorId,
    pub pen_name: String,
    pub word_count: i64,
    pub chapters: Vec<ChapterSummary>,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChapterSummary {
    pub id: ChapterId,
    pub index_num: i32,
    pub index_name: String,
    pub word_count: i32,
    pub is_vip: bool,
    pub price: Coins,
    pub owned: bool,
}

/// One chapter's index row with what reading it needs to know about its book.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChapterRow {
    pub id: ChapterId,
    pub book_id: BookId,
    pub index_num: i32,
    pub index_name: String,
    pub is_vip: bool,
    pub price: Coins,
    pub publish_status: i8,
    pub author_id: AuthorId,
}

impl ChapterRow {
    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        viewer.may_see(self.publish_status, self.author_id)
    }
}

/// A book's own row, as [`book_detail`] reads it.
#[derive(sqlx::FromRow)]
struct BookRow {
    id: BookId,
    book_name: String,
    author_id: AuthorId,
    pen_name: String,
    word_count: i64,
    status: i8,
}

/// Published books whose name or pen name contains `q`, newest chapter update first.
#[tracing::instrument(skip_all)]
pub async fn list_books(
    pool: &MySqlPool,
    q: Option<&SearchText>,
    request: PageRequest,
) -> Result<Page<BookSummary>, sqlx::Error> {
    let pattern = q.map(SearchText::like_pattern);
    let binds = Binds::default()
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern);
    paging::count_and_page(
        pool,
        r"SELECT COUNT(*) FROM book b JOIN author a ON a.id = b.author_id
          WHERE b.status = 1 AND (? IS NULL OR b.book_name LIKE ? OR a.pen_name LIKE ?)",
        r"SELECT b.id, b.book_name, b.author_id, a.pen_name, b.word_count, b.last_index_id,
                 b.last_index_name, b.last_index_update_time
          FROM book b JOIN author a ON a.id = b.author_id
          WHERE b.status = 1 AND (? IS NULL OR b.book_name LIKE ? OR a.pen_name LIKE ?)
          ORDER BY b.last_index_update_time DESC, b.id DESC",
        binds,
        request,
    )
    .await
}

/// A book with its chapters, or `None` if it does not exist or is a draft the viewer may not see.
#[tracing::instrument(skip_all)]
pub async fn book_detail(
    pool: &MySqlPool,
    book_id: BookId,
    viewer: &Viewer,
) -> Result<Option<BookDetail>, sqlx::Error> {
    let row: Option<BookRow> = sqlx::query_as(
        r"SELECT b.id, b.book_name, b.author_id, a.pen_name, b.word_count, b.status
          FROM book b JOIN author a ON a.id = b.author_id WHERE b.id = ?",
    )
    .bind(book_id)
    .fetch_optional(pool)
    .await?;
    let Some(BookRow {
        id,
        book_name,
        author_id,
        pen_name,
        word_count,
        status,
    }) = row
    else {
        return Ok(None);
    };
    if !viewer.may_see(status, author_id) {
        return Ok(None);
    }
    let chapters = sqlx::query_as(
        r"SELECT i.id, i.index_num, i.index_name, i.word_count, i.is_vip = 1 AS is_vip,
                 i.book_price AS price, r.id IS NOT NULL AS owned
          FROM book_index i
          LEFT JOIN user_buy_record r ON r.book_index_id = i.id AND r.user_id = ?
          WHERE i.book_id = ? ORDER BY i.index_num",
    )
    .bind(viewer.user_id)
    .bind(book_id)
    .fetch_all(pool)
    .await?;
    Ok(Some(BookDetail {
        id,
        book_name,
        author_id,
        pen_name,
        word_count,
        chapters,
    }))
}

#[tracing::instrument(skip_all)]
pub async fn chapter(
    pool: &MySqlPool,
    book_id: BookId,
    index_id: ChapterId,
) -> Result<Option<ChapterRow>, sqlx::Error> {
    sqlx::query_as(
        r"SELECT i.id, i.book_id, i.index_num, i.index_name, i.is_vip = 1 AS is_vip,
                 i.book_price AS price, b.status AS publish_status, b.author_id
          FROM book_index i JOIN book b ON b.id = i.book_id
          WHERE i.id = ? AND i.book_id = ?",
    )
    .bind(index_id)
    .bind(book_id)
    .fetch_optional(pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn owns(
    pool: &MySqlPool,
    user_id: UserId,
    index_id: ChapterId,
) -> Result<bool, sqlx::Error> {
    let owned: Option<BuyRecordId> = sqlx::query_scalar(
        "SELECT id FROM user_buy_record WHERE user_id = ? AND book_index_id = ?",
    )
    .bind(user_id)
    .bind(index_id)
    .fetch_optional(pool)
    .await?;
    Ok(owned.is_some())
}
