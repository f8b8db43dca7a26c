//! Writing the catalog: books, chapters (content first, index second), pricing.

use sqlx::MySqlPool;

use crate::clock;
use crate::coins::Coins;
use crate::config::PricingSettings;
use crate::content;
use crate::db::Db;
use crate::ids::{AuthorId, BookId, ChapterId, IdError, IdGenerator};

/// An author's books are read like every book (the catalog's columns).
pub use crate::catalog::{AuthorBook, author_books};

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// 字数: Unicode characters that are not whitespace.
pub fn word_count(content: &str) -> i64 {
    content.chars().filter(|c| !c.is_whitespace()).count() as i64
}

/// VIP: `max(1, words * coins_per_unit / words_per_unit)`; free chapters cost nothing.
pub fn price(pricing: &PricingSettings, words: i64, is_vip: bool) -> Coins {
    if !is_vip {
        return Coins::ZERO;
    }
    Coins::new((words * pricing.coins_per_unit / pricing.words_per_unit).max(1))
}

#[tracing::instrument(skip_all)]
pub async fn create_book(
    pool: &MySqlPool,
    id: BookId,
    author_id: AuthorId,
    book_name: &str,
) -> Result<(), sqlx::Error> {
    let now = clock::now();
    sqlx::query(
        r"INSERT INTO book (id, author_id, book_name, status, word_count, create_time, update_time)
          VALUES (?, ?, ?, 0, 0, ?, ?)",
    )
    .bind(id)
    .bind(author_id)
    .bind(book_name)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn publish_book(pool: &MySqlPool, book_id: BookId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE book SET status = 1, update_time = ? WHERE id = ?")
        .bind(clock::now())
        .bind(book_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub struct NewChapter<'a> {
    pub book_id: BookId,
    pub index_name: &'a str,
    pub content: &'a str,
    pub is_vip: bool,
}

/// A chapter just added.
#[derive(Debug, Clone, Copy)]
pub struct AddedChapter {
    pub index_id: ChapterId,
    pub price: Coins,
}

/// Adds a chapter at the end of the book.
#[tracing::instrument(skip_all)]
pub async fn add_chapter(
    db: &Db,
    ids: &IdGenerator,
    pricing: &PricingSettings,
    chapter: NewChapter<'_>,
) -> Result<AddedChapter, AuthoringError> {
    let index_id = ids.mint().await?;
    let words = word_count(chapter.content);
    let price = price(pricing, words, chapter.is_vip);
    content::write(
        db,
        ids.mint().await?,
        chapter.book_id,
        index_id,
        chapter.content,
    )
    .await?;
    let mut tx = db.main.begin().await?;
    // Locking the book row serialises chapter numbering within one book.
    let locked: Option<BookId> = sqlx::query_scalar("SELECT id FROM book WHERE id = ? FOR UPDATE")
        .bind(chapter.book_id)
        .fetch_optional(&mut *tx)
        .await?;
    if locked.is_none() {
        return Err(AuthoringError::NotFound);
    }
    let now = clock::now();
    sqlx::query(
        r"INSERT INTO book_index (id, book_id, index_num, index_name, word_count, is_vip, book_price,
                                  create_time, update_time)
          SELECT ?, ?, COALESCE(MAX(index_num), 0) + 1, ?, ?, ?, ?, ?, ?
          FROM book_index WHERE book_id = ?",
    )
    .bind(index_id)
    .bind(chapter.book_id)
    .bind(chapter.index_name)
    .bind(words)
    .bind(chapter.is_vip)
    .bind(price)
    .bind(now)
    .bind(now)
    .bind(chapter.book_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        r"UPDATE book SET word_count = word_count + ?, last_index_id = ?, last_index_name = ?,
                          last_index_update_time = ?, update_time = ?,
                          chapter_count = chapter_count + 1, has_vip = has_vip OR ?
          WHERE id = ?",
    )
    .bind(words)
    .bind(index_id)
    .bind(chapter.index_name)
    .bind(now)
    .bind(now)
    .bind(chapter.is_vip)
    .bind(chapter.book_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AddedChapter { index_id, price })
}

/// Deletes the index row first, then the content; purchases are refunded by the next sweep.
#[tracing::instrument(skip_all)]
pub async fn delete_chapter(
    db: &Db,
    book_id: BookId,
    index_id: ChapterId,
) -> Result<(), AuthoringError> {
    let mut tx = db.main.begin().await?;
    sqlx::query("SELECT id FROM book WHERE id = ? FOR UPDATE")
        .bind(book_id)
        .execute(&mut *tx)
        .await?;
    let words: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(word_count AS SIGNED) FROM book_index WHERE id = ? AND book_id = ?",
    )
    .bind(index_id)
    .bind(book_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(words) = words else {
        return Err(AuthoringError::NotFound);
    };
    sqlx::query("DELETE FROM book_index WHERE id = ?")
        .bind(index_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        r"UPDATE book b
          LEFT JOIN (SELECT id, index_name, create_time FROM book_index
                     WHERE book_id = ? ORDER BY index_num DESC LIMIT 1) last ON TRUE
          SET b.word_count = b.word_count - ?, b.last_index_id = last.id,
              b.last_index_name = last.index_name, b.last_index_update_time = last.create_time,
              b.update_time = ?, b.chapter_count = b.chapter_count - 1,
              b.has_vip = EXISTS (SELECT 1 FROM book_index v WHERE v.book_id = b.id AND v.is_vip = 1)
          WHERE b.id = ?",
    )
    .bind(book_id)
    .bind(words)
    .bind(clock::now())
    .bind(book_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    content::delete(db, book_id, index_id).await?;
    Ok(())
}

/// The author of a book, or `None` when there is no such book.
pub async fn book_author(
    pool: &MySqlPool,
    book_id: BookId,
) -> Result<Option<AuthorId>, sqlx::Error> {
    sqlx::query_scalar("SELECT author_id FROM book WHERE id = ?")
        .bind(book_id)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing() -> PricingSettings {
        PricingSettings {
            words_per_unit: 1000,
            coins_per_unit: 5,
        }
    }

    #[test]
    fn words_are_non_whitespace_characters() {
        assert_eq!(word_count("第一章 开始\n\tA b"), 7);
    }

    #[test]
    fn vip_price_follows_the_original_rule_with_a_minimum_of_one() {
        assert_eq!(price(&pricing(), 3000, true), 15);
        assert_eq!(price(&pricing(), 10, true), 1);
        assert_eq!(price(&pricing(), 3000, false), 0);
    }
}
