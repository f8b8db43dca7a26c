//! Where a book's cover is found: an uploaded one by its content-hash file name, otherwise the
//! cover generated from the book's title, so every book has one and no page shows a broken image.

use crate::ids::BookId;

/// The URL path of an uploaded cover file (`<sha256>.jpg` or `.png`) or of the generated one.
pub fn cover_url(book_id: BookId, cover: Option<&str>) -> String {
    match cover {
        Some(file) => format!("/covers/{file}"),
        None => format!("/covers/book/{book_id}.svg"),
    }
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
