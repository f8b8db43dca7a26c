//! Editing a chapter: its name, text and VIP flag; the price follows the new word count and
//! readers who bought it keep it (nothing is refunded or charged).
//!
//! Crash safety: the content row is rewritten in its shard (an upsert, so it is never absent)
//! while the book row is locked, and the index row follows in that same transaction. A crash
//! between the two leaves the new text under the old name, word count and price (the author's
//! retry settles it); never an index row whose content is missing. Holding the book row across
//! the content write serialises edits of one book, so two racing edits cannot leave one's text
//! under the other's word count.

use sqlx::{MySql, Transaction};

use crate::authoring::{AuthoringError, price, word_count};
use crate::clock;
use crate::coins::Coins;
use crate::config::PricingSettings;
use crate::content;
use crate::db::Db;
use crate::ids::{BookId, ChapterId, IdGenerator};

/// What an edit changes; `None` keeps the chapter's own.
pub struct ChapterEdit<'a> {
    pub book_id: BookId,
    pub index_id: ChapterId,
    pub index_name: Option<&'a str>,
    pub content: Option<&'a str>,
    pub is_vip: Option<bool>,
}

/// A chapter just edited.
#[derive(Debug, Clone, Copy)]
pub struct EditedChapter {
    pub index_id: ChapterId,
    pub price: Coins,
}

/// The chapter as it stands, read under the book's lock.
#[derive(sqlx::FromRow)]
struct Current {
    word_count: i64,
    is_vip: bool,
}

#[tracing::instrument(skip_all)]
pub async fn edit_chapter(
    db: &Db,
    ids: &IdGenerator,
    pricing: &PricingSettings,
    edit: ChapterEdit<'_>,
) -> Result<EditedChapter, AuthoringError> {
    // Minted before any lock: waiting on the id lease must never hold the book row.
    let content_id = ids.mint().await?;
    let mut tx = db.main.begin().await?;
    let current = lock_chapter(&mut tx, edit.book_id, edit.index_id)
        .await?
        .ok_or(AuthoringError::NotFound)?;
    let words = edit.content.map_or(current.word_count, word_count);
    let is_vip = edit.is_vip.unwrap_or(current.is_vip);
    let price = price(pricing, words, is_vip);
    if let Some(text) = edit.content {
        content::write(db, content_id, edit.book_id, edit.index_id, text).await?;
    }
    let now = clock::now();
    sqlx::query(
        r"UPDATE book_index SET index_name = COALESCE(?, index_name), word_count = ?, is_vip = ?,
                                book_price = ?, update_time = ?
          WHERE id = ?",
    )
    .bind(edit.index_name)
    .bind(words)
    .bind(is_vip)
    .bind(price)
    .bind(now)
    .bind(edit.index_id)
    .execute(&mut *tx)
    .await?;
    // `+ new - old` in that order: the unsigned column never passes below zero on the way.
    sqlx::query(
        r"UPDATE book b
          SET b.word_count = b.word_count + ? - ?,
              b.last_index_name = IF(b.last_index_id = ?, COALESCE(?, b.last_index_name),
                                     b.last_index_name),
              b.has_vip = EXISTS (SELECT 1 FROM book_index v WHERE v.book_id = b.id AND v.is_vip = 1),
              b.update_time = ?
          WHERE b.id = ?",
    )
    .bind(words)
    .bind(current.word_count)
    .bind(edit.index_id)
    .bind(edit.index_name)
    .bind(now)
    .bind(edit.book_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(EditedChapter {
        index_id: edit.index_id,
        price,
    })
}

/// Locks the book row (as every chapter write does), then reads the chapter if it is the book's.
async fn lock_chapter(
    tx: &mut Transaction<'_, MySql>,
    book_id: BookId,
    index_id: ChapterId,
) -> Result<Option<Current>, sqlx::Error> {
    let locked: Option<BookId> = sqlx::query_scalar("SELECT id FROM book WHERE id = ? FOR UPDATE")
        .bind(book_id)
        .fetch_optional(&mut **tx)
        .await?;
    if locked.is_none() {
        return Ok(None);
    }
    sqlx::query_as(
        r"SELECT CAST(word_count AS SIGNED) AS word_count, is_vip = 1 AS is_vip
          FROM book_index WHERE id = ? AND book_id = ?",
    )
    .bind(index_id)
    .bind(book_id)
    .fetch_optional(&mut **tx)
    .await
}
