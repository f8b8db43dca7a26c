//! The author's desk: my books, new book, publish, chapters (data through the author API).

use axum::response::Response;
use minijinja::context;

use super::{PageError, render, sign_in_first};
use crate::sessions::MaybeSession;

/// Readers see a form to become an author; authors their books, loaded by the page script.
pub async fn show(MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/author"));
    };
    let is_author = session.author_id.is_some();
    render("author.html", Some(&session), context! { is_author })
}
