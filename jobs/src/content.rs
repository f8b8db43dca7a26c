//! Chapter text in the content shards.

use sqlx::AssertSqlSafe;

use crate::db::Db;
use crate::ids::{BookId, ChapterId, ContentId};

#[tracing::instrument(skip_all)]
pub async fn read(
    db: &Db,
    book_id: BookId,
    index_id: ChapterId,
) -> Result<Option<String>, sqlx::Error> {
    let (pool, shard) = db.content(book_id, index_id);
    let sql = format!("SELECT content FROM {} WHERE index_id = ?", shard.table);
    sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(index_id)
        .fetch_optional(pool)
        .await
}

/// Written before the chapter's `book_index` row, so a crash leaves at worst an orphan text.
#[tracing::instrument(skip_all)]
pub async fn write(
    db: &Db,
    id: ContentId,
    book_id: BookId,
    index_id: ChapterId,
    content: &str,
) -> Result<(), sqlx::Error> {
    let (pool, shard) = db.content(book_id, index_id);
    let sql = format!(
        "INSERT INTO {} (id, index_id, content) VALUES (?, ?, ?) \
         ON DUPLICATE KEY UPDATE content = VALUES(content)",
        shard.table
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(index_id)
        .bind(content)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deleted after the chapter's `book_index` row.
#[tracing::instrument(skip_all)]
pub async fn delete(db: &Db, book_id: BookId, index_id: ChapterId) -> Result<(), sqlx::Error> {
    let (pool, shard) = db.content(book_id, index_id);
    let sql = format!("DELETE FROM {} WHERE index_id = ?", shard.table);
    sqlx::query(AssertSqlSafe(sql))
        .bind(index_id)
        .execute(pool)
        .await?;
    Ok(())
}
