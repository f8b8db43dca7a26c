//! Where a book's cover is found: an uploaded one by its content-hash file name, otherwise the
//! cover generated from the book's title, so every book has one and no page shows a broken image.

pub mod reencode;
pub mod store;
pub mod svg;

use sqlx::MySqlPool;

use crate::catalog::Viewer;
use crate::ids::{AuthorId, BookId};

/// The URL path of an uploaded cover file (`<sha256>.jpg` or `.png`) or of the generated one.
pub fn cover_url(book_id: BookId, cover: Option<&str>) -> String {
    match cover {
        Some(file) => format!("/covers/{file}"),
        None => format!("/covers/book/{book_id}.svg"),
    }
}

/// Records the book's uploaded cover (a file name [`store::save`] returned).
#[tracing::instrument(skip_all)]
pub async fn set_cover(pool: &MySqlPool, book_id: BookId, file: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE book SET cover = ?, update_time = ? WHERE id = ?")
        .bind(file)
        .bind(crate::clock::now())
        .bind(book_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// What the generated cover shows.
#[derive(Debug, sqlx::FromRow)]
pub struct CoverText {
    pub book_name: String,
    pub pen_name: String,
    status: i8,
    author_id: AuthorId,
}

impl CoverText {
    pub fn is_published(&self) -> bool {
        self.status == 1
    }
}

/// The title and pen name for the generated cover, or `None` for no book or a draft the viewer
/// may not see.
#[tracing::instrument(skip_all)]
pub async fn cover_text(
    pool: &MySqlPool,
    book_id: BookId,
    viewer: &Viewer,
) -> Result<Option<CoverText>, sqlx::Error> {
    let row: Option<CoverText> = sqlx::query_as(
        r"SELECT b.book_name, a.pen_name, b.status, b.author_id
          FROM book b JOIN author a ON a.id = b.author_id WHERE b.id = ?",
    )
    .bind(book_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.filter(|r| viewer.may_see(r.status, r.author_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_book_without_an_upload_points_at_its_generated_cover() {
        let id: BookId = "42".parse().unwrap();
        assert_eq!(cover_url(id, None), "/covers/book/42.svg");
        assert_eq!(cover_url(id, Some("ab12.jpg")), "/covers/ab12.jpg");
    }
}
