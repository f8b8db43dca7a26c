//! Books as every list, ranking and detail shows them, and a book's chapters a page at a time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, MySqlPool};

use super::Viewer;
use super::query::{self, BookFilter, BookSort, RANKING_SIZE, RankingKind};
use crate::coins::Coins;
use crate::covers::cover_url;
use crate::ids::{AuthorId, BookId, CategoryId, ChapterId};
use crate::paging::{self, Page, PageRequest};

/// The story's own state (the draft/published state is `publish_status`, apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BookStatus {
    Ongoing,
    Finished,
}

impl BookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ongoing => "ongoing",
            Self::Finished => "finished",
        }
    }
}

impl std::str::FromStr for BookStatus {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ongoing" => Ok(Self::Ongoing),
            "finished" => Ok(Self::Finished),
            _ => Err("one of ongoing, finished"),
        }
    }
}

/// The `ENUM('ongoing','finished')` column, read as its text.
impl TryFrom<String> for BookStatus {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// A book as lists, rankings and the detail show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
    /// At most 2000 characters, may be empty.
    pub description: String,
    pub category_id: Option<CategoryId>,
    pub category_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub book_status: BookStatus,
    /// The uploaded cover's file name; readers get `cover_url`.
    #[serde(skip)]
    cover: Option<String>,
    /// The uploaded cover, or the generated one: always set.
    #[sqlx(default)]
    pub cover_url: String,
    pub visit_count: i64,
    /// Chapters sold, refunds excluded.
    pub sales: i64,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: DateTime<Utc>,
}

impl BookSummary {
    /// Fills `cover_url`, which SQL does not compute.
    fn finish(mut self) -> Self {
        self.cover_url = cover_url(self.id, self.cover.as_deref());
        self
    }
}

/// The columns of [`BookSummary`].
macro_rules! book_columns {
    () => {
        r"SELECT b.id, b.book_name, b.author_id, a.pen_name, b.word_count, b.last_index_id,
                 b.last_index_name, b.last_index_update_time, b.description,
                 CAST(b.category_id AS SIGNED) AS category_id, c.name AS category_name,
                 CAST(b.book_status AS CHAR) AS book_status, b.cover, b.visit_count, b.sales,
                 b.create_time"
    };
}

/// Where [`BookSummary`] columns come from; a `WHERE` over `book b` follows.
macro_rules! book_from {
    () => {
        r" FROM book b STRAIGHT_JOIN author a ON a.id = b.author_id
           LEFT JOIN book_category c ON c.id = b.category_id"
    };
}

/// [`BookSummary`] rows; a `WHERE` over `book b` follows.
const BOOK_SELECT: &str = concat!(book_columns!(), book_from!());

/// [`AuthorBook`] rows; a `WHERE` over `book b` follows.
macro_rules! author_book_select {
    () => {
        concat!(
            book_columns!(),
            ", b.status, CAST(b.chapter_count AS SIGNED) AS chapter_count",
            book_from!()
        )
    };
}

/// Reads [`BookSummary`] rows of a statement built on [`BOOK_SELECT`].
async fn fetch_books(
    pool: &MySqlPool,
    sql: String,
    binds: paging::Binds,
) -> Result<Vec<BookSummary>, sqlx::Error> {
    let rows: Vec<BookSummary> = sqlx::query_as_with(AssertSqlSafe(sql), binds.into_args()?)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(BookSummary::finish).collect())
}

/// Published books matching `filter`, in `sort` order, a page at a time.
#[tracing::instrument(skip_all)]
pub async fn list_books(
    pool: &MySqlPool,
    filter: &BookFilter,
    sort: BookSort,
    request: PageRequest,
) -> Result<Page<BookSummary>, sqlx::Error> {
    let (rows, binds) = query::ordered(BOOK_SELECT, filter, sort);
    let (filters, _) = filter.where_clause();
    let count = format!("SELECT COUNT(*) {} {filters}", filter.count_from());
    let page: Page<BookSummary> = paging::count_and_page(
        pool,
        AssertSqlSafe(count),
        AssertSqlSafe(rows),
        binds,
        request,
    )
    .await?;
    Ok(page.map(BookSummary::finish))
}

/// The top [`RANKING_SIZE`] published books of a ranking, overall or in one category: one
/// indexed `ORDER BY … LIMIT`. Callers cache it (the web tier's `Rankings`).
#[tracing::instrument(skip_all)]
pub async fn ranking(
    pool: &MySqlPool,
    kind: RankingKind,
    category_id: Option<CategoryId>,
) -> Result<Vec<BookSummary>, sqlx::Error> {
    let filter = BookFilter {
        category_id,
        ..BookFilter::default()
    };
    let (sql, binds) = query::ordered(BOOK_SELECT, &filter, kind.sort());
    fetch_books(pool, format!("{sql} LIMIT {RANKING_SIZE}"), binds).await
}

/// A book with a page of its chapters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookDetail {
    #[serde(flatten)]
    pub book: BookSummary,
    /// All the book's chapters (`chapters` holds one page of them).
    pub chapter_count: i64,
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

/// A book's chapters: `page` from 1, `size` 1 to 1000 (default 1000).
pub struct ChapterPage;

impl ChapterPage {
    pub const DEFAULT_SIZE: u32 = 1000;
    pub const MAX_SIZE: u32 = 1000;

    pub fn of(page: Option<u32>, size: Option<u32>) -> Result<PageRequest, String> {
        PageRequest::within(page, size, Self::DEFAULT_SIZE, Self::MAX_SIZE)
    }

    /// The first page at the default size.
    pub fn first() -> PageRequest {
        Self::of(None, None).expect("the defaults are in range")
    }
}

/// A book as its author sees it: drafts too, with the draft (0) / published (1) `status`.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuthorBook {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub book: BookSummary,
    pub status: i8,
    pub chapter_count: i64,
}

/// An author's books, drafts included, newest first.
#[tracing::instrument(skip_all)]
pub async fn author_books(
    pool: &MySqlPool,
    author_id: AuthorId,
    request: PageRequest,
) -> Result<Page<AuthorBook>, sqlx::Error> {
    let page: Page<AuthorBook> = paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM book WHERE author_id = ?",
        concat!(
            author_book_select!(),
            " WHERE b.author_id = ? ORDER BY b.id DESC"
        ),
        paging::Binds::default().bind(author_id),
        request,
    )
    .await?;
    Ok(page.map(|row| AuthorBook {
        book: row.book.finish(),
        ..row
    }))
}

/// A book with one page of its chapters, or `None` if it does not exist or is a draft the viewer
/// may not see. The page is an index range of `uk_index_book_num` (the ids first, covered by the
/// index, then their rows), so a book of 20 000 chapters costs one page's rows.
#[tracing::instrument(skip_all)]
pub async fn book_detail(
    pool: &MySqlPool,
    book_id: BookId,
    viewer: &Viewer,
    chapters: PageRequest,
) -> Result<Option<BookDetail>, sqlx::Error> {
    let row: Option<AuthorBook> = sqlx::query_as(concat!(author_book_select!(), " WHERE b.id = ?"))
        .bind(book_id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row.filter(|r| viewer.may_see(r.status, r.book.author_id)) else {
        return Ok(None);
    };
    let chapters = sqlx::query_as(
        r"SELECT i.id, i.index_num, i.index_name, i.word_count, i.is_vip = 1 AS is_vip,
                 i.book_price AS price, r.id IS NOT NULL AS owned
          FROM (SELECT id FROM book_index WHERE book_id = ?
                ORDER BY index_num LIMIT ? OFFSET ?) p
          JOIN book_index i ON i.id = p.id
          LEFT JOIN user_buy_record r ON r.book_index_id = i.id AND r.user_id = ?
          ORDER BY i.index_num",
    )
    .bind(book_id)
    .bind(chapters.size())
    .bind(chapters.offset())
    .bind(viewer.user_id)
    .fetch_all(pool)
    .await?;
    Ok(Some(BookDetail {
        book: row.book.finish(),
        chapter_count: row.chapter_count,
        chapters,
    }))
}
