//! Catalog reads: published books (filtered, sorted, ranked), a book's chapters a page at a time,
//! one chapter's row and its neighbours, categories; and an author's edits of a book's details.

use sqlx::MySqlPool;

use crate::coins::Coins;
use crate::ids::{AuthorId, BookId, BuyRecordId, ChapterId, UserId};

mod books;
mod categories;
mod edit;
mod query;

pub use books::{
    AuthorBook, BookDetail, BookStatus, BookSummary, ChapterPage, ChapterSummary, author_books,
    book_detail, list_books, ranking,
};
pub use categories::{Category, Channel, categories, category_exists};
pub use edit::{BookChanges, update_book};
pub use query::{BookFilter, BookSort, RANKING_SIZE, RankingKind};

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

/// The chapters before and after one, by `index_num` (`None` at the ends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Neighbours {
    pub prev: Option<ChapterId>,
    pub next: Option<ChapterId>,
}

/// Two one-row lookups on `uk_index_book_num (book_id, index_num)`, in one statement.
#[tracing::instrument(skip_all)]
pub async fn neighbours(
    pool: &MySqlPool,
    book_id: BookId,
    index_num: i32,
) -> Result<Neighbours, sqlx::Error> {
    let rows: Vec<(bool, ChapterId)> = sqlx::query_as(
        r"(SELECT FALSE AS after, id FROM book_index
           WHERE book_id = ? AND index_num < ? ORDER BY index_num DESC LIMIT 1)
          UNION ALL
          (SELECT TRUE AS after, id FROM book_index
           WHERE book_id = ? AND index_num > ? ORDER BY index_num LIMIT 1)",
    )
    .bind(book_id)
    .bind(index_num)
    .bind(book_id)
    .bind(index_num)
    .fetch_all(pool)
    .await?;
    let find = |after: bool| rows.iter().find(|r| r.0 == after).map(|r| r.1);
    Ok(Neighbours {
        prev: find(false),
        next: find(true),
    })
}

/// How many chapters of the book come before `index_num` (its place in the chapter list, from
/// 0): an index-only count over `uk_index_book_num`.
#[tracing::instrument(skip_all)]
pub async fn chapters_before(
    pool: &MySqlPool,
    book_id: BookId,
    index_num: i32,
) -> Result<u32, sqlx::Error> {
    let before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM book_index WHERE book_id = ? AND index_num < ?")
            .bind(book_id)
            .bind(index_num)
            .fetch_one(pool)
            .await?;
    Ok(u32::try_from(before).unwrap_or(u32::MAX))
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
