//! Readers following authors, and the feed of each followed author's latest published book.

use serde::Serialize;
use sqlx::MySqlPool;

use crate::clock;
use crate::ids::{AuthorId, BookId, ChapterId, UserId};
use crate::paging::{self, Binds, Page, PageRequest};

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FollowedAuthor {
    pub author_id: AuthorId,
    pub pen_name: String,
    pub user_photo: Option<String>,
    pub book_id: Option<BookId>,
    pub book_name: Option<String>,
    pub last_index_id: Option<ChapterId>,
    pub last_index_name: Option<String>,
}

/// Idempotent; false when the author does not exist.
#[tracing::instrument(skip_all)]
pub async fn follow(
    pool: &MySqlPool,
    user_id: UserId,
    author_id: AuthorId,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        r"INSERT IGNORE INTO author_follow (user_id, author_id, create_time)
          SELECT ?, id, ? FROM author WHERE id = ?",
    )
    .bind(user_id)
    .bind(clock::now())
    .bind(author_id)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    author_exists(pool, author_id).await
}

/// Idempotent; false when the author does not exist.
#[tracing::instrument(skip_all)]
pub async fn unfollow(
    pool: &MySqlPool,
    user_id: UserId,
    author_id: AuthorId,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM author_follow WHERE user_id = ? AND author_id = ?")
        .bind(user_id)
        .bind(author_id)
        .execute(pool)
        .await?;
    author_exists(pool, author_id).await
}

async fn author_exists(pool: &MySqlPool, author_id: AuthorId) -> Result<bool, sqlx::Error> {
    let exists: Option<AuthorId> = sqlx::query_scalar("SELECT id FROM author WHERE id = ?")
        .bind(author_id)
        .fetch_optional(pool)
        .await?;
    Ok(exists.is_some())
}

/// Newest follow first; one query for the page (MariaDB has no LATERAL: a correlated MAX(id)
/// picks each author's latest published book).
#[tracing::instrument(skip_all)]
pub async fn feed(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<FollowedAuthor>, sqlx::Error> {
    paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM author_follow WHERE user_id = ?",
        r"SELECT a.id AS author_id, a.pen_name, a.user_photo, b.id AS book_id, b.book_name,
                 b.last_index_id, b.last_index_name
          FROM author_follow f
          JOIN author a ON a.id = f.author_id
          LEFT JOIN book b ON b.id = (SELECT MAX(p.id) FROM book p
                                      WHERE p.author_id = a.id AND p.status = 1)
          WHERE f.user_id = ?
          ORDER BY f.create_time DESC, f.author_id DESC",
        Binds::default().bind(user_id),
        request,
    )
    .await
}
