//! The author's books on `/author`: a page of them (publish, pick one to edit) and the editing
//! panel of one (details, cover, a page of its chapters); the forms write through the author API
//! from `static/mine.js`.

use jobs::catalog::{self, BookDetail, Category, ChapterPage, Viewer};
use jobs::ids::{AuthorId, BookId};
use jobs::paging::PageRequest;
use serde::{Deserialize, Serialize};

use super::{PageError, page_count};
use crate::error::ApiError;
use crate::state::AppState;

/// Chapters the editing panel lists at a time.
const CHAPTERS_PER_PAGE: u32 = 50;

/// `/author?books_page=&book=&chapters_page=`: which books, which one to edit (default the
/// newest) and which of its chapters.
#[derive(Debug, Default, Deserialize)]
pub struct DeskQuery {
    books_page: Option<u32>,
    book: Option<BookId>,
    chapters_page: Option<u32>,
}

#[derive(Serialize)]
pub struct Desk {
    my_books: Vec<catalog::AuthorBook>,
    books_page: u32,
    books_pages: u64,
    /// The book being edited (its chapters a page at a time), if the author has one.
    editing: Option<BookDetail>,
    chapters_page: u32,
    chapters_pages: u64,
    categories: Vec<Category>,
}

/// The author's books and the one being edited; another author's book is 404.
pub async fn load(
    state: &AppState,
    author_id: AuthorId,
    query: &DeskQuery,
) -> Result<Desk, PageError> {
    let pool = &state.db.main;
    let books = PageRequest::new(query.books_page, None).map_err(ApiError::invalid)?;
    let found = catalog::author_books(pool, author_id, books).await?;
    let chapters =
        ChapterPage::of(query.chapters_page, Some(CHAPTERS_PER_PAGE)).map_err(ApiError::invalid)?;
    let chosen = query
        .book
        .or_else(|| found.items.first().map(|b| b.book.id));
    let viewer = Viewer {
        author_id: Some(author_id),
        ..Viewer::default()
    };
    let editing = match chosen {
        Some(book_id) => {
            let book = catalog::book_detail(pool, book_id, &viewer, chapters).await?;
            Some(
                book.filter(|b| b.book.author_id == author_id)
                    .ok_or(ApiError::NotFound)?,
            )
        }
        None => None,
    };
    let chapter_count = editing.as_ref().map_or(0, |b| b.chapter_count);
    Ok(Desk {
        books_page: books.page(),
        books_pages: page_count(found.total, books),
        my_books: found.items,
        editing,
        chapters_page: chapters.page(),
        chapters_pages: page_count(chapter_count, chapters),
        categories: catalog::categories(pool).await?,
    })
}
