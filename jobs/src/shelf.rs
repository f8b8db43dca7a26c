//! A reader's shelf (books kept, each with the last chapter read and how many came after it),
//! reading history (one row per book, its last chapter read) and the progress reads record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::clock;
use crate::covers::cover_url;
use crate::ids::{BookId, ChapterId, UserId};
use crate::paging::{self, Binds, Page, PageRequest};

/// What adding a book to the shelf did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shelved {
    /// On the shelf (now or already).
    Kept,
    /// No such published book.
    NotFound,
    /// The shelf holds `shelf_limit` books already.
    Full,
}

/// Adds a published book (idempotent), its position taken from the reading history. The count
/// against `limit` runs under a lock of the reader's `user` row, so two concurrent adds cannot
/// both pass it.
#[tracing::instrument(skip_all)]
pub async fn add(
    pool: &MySqlPool,
    user_id: UserId,
    book_id: BookId,
    limit: u32,
) -> Result<Shelved, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The lock first: a plain read before it would fix this transaction's snapshot, and the
    // count below would then miss a concurrent add committed while this one waited for the lock.
    sqlx::query("SELECT id FROM user WHERE id = ? FOR UPDATE")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let (published, kept): (i64, i64) = sqlx::query_as(
        r"SELECT EXISTS (SELECT 1 FROM book WHERE id = ? AND status = 1),
                 EXISTS (SELECT 1 FROM user_bookshelf WHERE user_id = ? AND book_id = ?)",
    )
    .bind(book_id)
    .bind(user_id)
    .bind(book_id)
    .fetch_one(&mut *tx)
    .await?;
    if published == 0 {
        return Ok(Shelved::NotFound);
    }
    if kept == 1 {
        return Ok(Shelved::Kept);
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_bookshelf WHERE user_id = ?")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= i64::from(limit) {
        return Ok(Shelved::Full);
    }
    sqlx::query(
        r"INSERT IGNORE INTO user_bookshelf
            (user_id, book_id, last_read_index_id, last_read_time, create_time)
          SELECT ?, ?, h.index_id, h.read_time, ?
          FROM (SELECT 1) one
          LEFT JOIN user_read_history h ON h.user_id = ? AND h.book_id = ?",
    )
    .bind(user_id)
    .bind(book_id)
    .bind(clock::now())
    .bind(user_id)
    .bind(book_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Shelved::Kept)
}

/// Removes a book (idempotent); false when no such published book exists.
#[tracing::instrument(skip_all)]
pub async fn remove(
    pool: &MySqlPool,
    user_id: UserId,
    book_id: BookId,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM user_bookshelf WHERE user_id = ? AND book_id = ?")
        .bind(user_id)
        .bind(book_id)
        .execute(pool)
        .await?;
    if removed.rows_affected() > 0 {
        return Ok(true);
    }
    let published: Option<BookId> =
        sqlx::query_scalar("SELECT id FROM book WHERE id = ? AND status = 1")
            .bind(book_id)
            .fetch_optional(pool)
            .await?;
    Ok(published.is_some())
}

/// Whether the book is on the reader's shelf (one read of the `(user_id, book_id)` key).
#[tracing::instrument(skip_all)]
pub async fn kept(pool: &MySqlPool, user_id: UserId, book_id: BookId) -> Result<bool, sqlx::Error> {
    let kept: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM user_bookshelf WHERE user_id = ? AND book_id = ?")
            .bind(user_id)
            .bind(book_id)
            .fetch_optional(pool)
            .await?;
    Ok(kept.is_some())
}

/// One book on the shelf.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShelfItem {
    pub book_id: BookId,
    pub book_name: String,
    pub pen_name: String,
    pub cover_url: String,
    pub last_read_index_id: Option<ChapterId>,
    pub last_read_index_name: Option<String>,
    #[serde(with = "crate::json::opt_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_read_time: Option<DateTime<Utc>>,
    pub latest_index_id: Option<ChapterId>,
    pub latest_index_name: Option<String>,
    /// Chapters after the last one read (every chapter when none was read).
    pub unread: i64,
}

#[derive(sqlx::FromRow)]
struct ShelfRow {
    book_id: BookId,
    book_name: String,
    pen_name: String,
    cover: Option<String>,
    last_read_index_id: Option<ChapterId>,
    last_read_index_name: Option<String>,
    last_read_time: Option<DateTime<Utc>>,
    latest_index_id: Option<ChapterId>,
    latest_index_name: Option<String>,
    unread: i64,
}

impl From<ShelfRow> for ShelfItem {
    fn from(row: ShelfRow) -> Self {
        Self {
            cover_url: cover_url(row.book_id, row.cover.as_deref()),
            book_id: row.book_id,
            book_name: row.book_name,
            pen_name: row.pen_name,
            last_read_index_id: row.last_read_index_id,
            last_read_index_name: row.last_read_index_name,
            last_read_time: row.last_read_time,
            latest_index_id: row.latest_index_id,
            latest_index_name: row.latest_index_name,
            unread: row.unread,
        }
    }
}

/// The shelf, most recently updated book first (ties by book id, descending). `unread` counts on
/// the `(book_id, index_num)` key: a range read per book of the page.
#[tracing::instrument(skip_all)]
pub async fn list(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<ShelfItem>, sqlx::Error> {
    let page: Page<ShelfRow> = paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM user_bookshelf WHERE user_id = ?",
        r"SELECT s.book_id, b.book_name, a.pen_name, b.cover, s.last_read_index_id,
                 r.index_name AS last_read_index_name, s.last_read_time,
                 b.last_index_id AS latest_index_id, b.last_index_name AS latest_index_name,
                 CASE WHEN r.id IS NULL THEN b.chapter_count
                      ELSE (SELECT COUNT(*) FROM book_index n
                            WHERE n.book_id = s.book_id AND n.index_num > r.index_num)
                 END AS unread
          FROM user_bookshelf s
          JOIN book b ON b.id = s.book_id
          JOIN author a ON a.id = b.author_id
          LEFT JOIN book_index r ON r.id = s.last_read_index_id AND r.book_id = s.book_id
          WHERE s.user_id = ?
          ORDER BY b.last_index_update_time DESC, s.book_id DESC",
        Binds::default().bind(user_id),
        request,
    )
    .await?;
    Ok(Page {
        total: page.total,
        page: page.page,
        size: page.size,
        items: page.items.into_iter().map(ShelfItem::from).collect(),
    })
}

/// A book in the reading history: the last chapter read of it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryItem {
    pub book_id: BookId,
    pub book_name: String,
    pub index_id: ChapterId,
    pub index_name: String,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub read_time: DateTime<Utc>,
}

/// One row per book, newest read first (ties by book id, descending).
#[tracing::instrument(skip_all)]
pub async fn history(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<HistoryItem>, sqlx::Error> {
    paging::count_and_page(
        pool,
        // The count joins as the page does: a row whose chapter was deleted is in neither.
        r"SELECT COUNT(*) FROM user_read_history h
          JOIN book b ON b.id = h.book_id
          JOIN book_index i ON i.id = h.index_id
          WHERE h.user_id = ?",
        r"SELECT h.book_id, b.book_name, h.index_id, i.index_name, h.read_time
          FROM user_read_history h
          JOIN book b ON b.id = h.book_id
          JOIN book_index i ON i.id = h.index_id
          WHERE h.user_id = ?
          ORDER BY h.read_time DESC, h.book_id DESC",
        Binds::default().bind(user_id),
        request,
    )
    .await
}

/// A chapter a signed-in reader read, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub user_id: UserId,
    pub book_id: BookId,
    pub index_id: ChapterId,
    pub read_time: DateTime<Utc>,
}

/// Records a batch of reads: the newest of each (reader, book) into the history and, where the
/// book is on the shelf, its position. Newest wins: an older read never overwrites a newer one.
#[tracing::instrument(skip_all)]
pub async fn record(pool: &MySqlPool, reads: &[Progress]) -> Result<(), sqlx::Error> {
    let mut newest: HashMap<(UserId, BookId), Progress> = HashMap::new();
    for read in reads {
        newest
            .entry((read.user_id, read.book_id))
            .and_modify(|kept| {
                if read.read_time >= kept.read_time {
                    *kept = *read;
                }
            })
            .or_insert(*read);
    }
    let mut reads: Vec<Progress> = newest.into_values().collect();
    if reads.is_empty() {
        return Ok(());
    }
    // One lock order for every batch.
    reads.sort_unstable_by_key(|r| (r.user_id, r.book_id));
    let mut history = QueryBuilder::<MySql>::new(
        "INSERT INTO user_read_history (user_id, book_id, index_id, read_time) ",
    );
    history.push_values(&reads, |mut row, read| {
        row.push_bind(read.user_id)
            .push_bind(read.book_id)
            .push_bind(read.index_id)
            .push_bind(read.read_time);
    });
    // Left to right in one row: the chapter is compared with the old time before it changes.
    history.push(
        r" ON DUPLICATE KEY UPDATE
             index_id = IF(VALUES(read_time) >= read_time, VALUES(index_id), index_id),
             read_time = GREATEST(read_time, VALUES(read_time))",
    );
    let mut shelf = QueryBuilder::<MySql>::new("UPDATE user_bookshelf s JOIN (");
    let mut rows = shelf.separated(" UNION ALL ");
    for read in &reads {
        rows.push("SELECT ")
            .push_bind_unseparated(read.user_id)
            .push_unseparated(" AS user_id, ")
            .push_bind_unseparated(read.book_id)
            .push_unseparated(" AS book_id, ")
            .push_bind_unseparated(read.index_id)
            .push_unseparated(" AS index_id, ")
            .push_bind_unseparated(read.read_time)
            .push_unseparated(" AS read_time");
    }
    // A multi-table UPDATE assigns in no set order: the newest-wins test is in the WHERE.
    shelf.push(
        r") x ON s.user_id = x.user_id AND s.book_id = x.book_id
          SET s.last_read_index_id = x.index_id, s.last_read_time = x.read_time
          WHERE s.last_read_time IS NULL OR s.last_read_time <= x.read_time",
    );
    let mut tx = pool.begin().await?;
    history.build().execute(&mut *tx).await?;
    shelf.build().execute(&mut *tx).await?;
    tx.commit().await
}

/// Where a reader stands with one book: on the shelf or not, and the last chapter read of it.
#[derive(Debug, Default, Serialize, sqlx::FromRow)]
pub struct Place {
    pub on_shelf: bool,
    pub last_read_index_id: Option<ChapterId>,
    pub last_read_index_name: Option<String>,
}

/// The reader's [`Place`] in a book: two lookups on the `(user_id, book_id)` keys.
#[tracing::instrument(skip_all)]
pub async fn place(
    pool: &MySqlPool,
    user_id: UserId,
    book_id: BookId,
) -> Result<Place, sqlx::Error> {
    sqlx::query_as(
        r"SELECT EXISTS (SELECT 1 FROM user_bookshelf WHERE user_id = ? AND book_id = ?)
                   AS on_shelf,
                 h.index_id AS last_read_index_id, i.index_name AS last_read_index_name
          FROM (SELECT 1) one
          LEFT JOIN user_read_history h ON h.user_id = ? AND h.book_id = ?
          LEFT JOIN book_index i ON i.id = h.index_id AND i.book_id = h.book_id",
    )
    .bind(user_id)
    .bind(book_id)
    .bind(user_id)
    .bind(book_id)
    .fetch_one(pool)
    .await
}
