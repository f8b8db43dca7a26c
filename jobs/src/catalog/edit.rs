//! An author's edits of a book's details (the web tier checks who and what first).

use sqlx::MySqlPool;

use super::books::BookStatus;
use crate::clock;
use crate::ids::{BookId, CategoryId};

/// The details to change; `None` keeps one as it is.
#[derive(Debug, Clone, Default)]
pub struct BookChanges<'a> {
    pub book_name: Option<&'a str>,
    pub description: Option<&'a str>,
    /// `Some(None)` takes the book out of its category.
    pub category_id: Option<Option<CategoryId>>,
    pub book_status: Option<BookStatus>,
}

/// One `UPDATE` of the fields given.
#[tracing::instrument(skip_all)]
pub async fn update_book(
    pool: &MySqlPool,
    book_id: BookId,
    changes: &BookChanges<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"UPDATE book SET book_name = COALESCE(?, book_name),
                          description = COALESCE(?, description),
                          category_id = IF(?, ?, category_id),
                          book_status = COALESCE(?, book_status),
                          update_time = ?
          WHERE id = ?",
    )
    .bind(changes.book_name)
    .bind(changes.description)
    .bind(changes.category_id.is_some())
    .bind(changes.category_id.flatten())
    .bind(changes.book_status.map(BookStatus::as_str))
    .bind(clock::now())
    .bind(book_id)
    .execute(pool)
    .await?;
    Ok(())
}
