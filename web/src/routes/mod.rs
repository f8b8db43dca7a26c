//! Every resource's router, merged in one place.

use axum::Router;

use crate::state::AppState;

mod admin;
mod auth;
mod author;
mod author_books;
mod books;
mod credits;
mod follows;
mod health;
mod history;
mod jobs;
mod me;
mod purchases;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(author::router())
        .merge(author_books::router())
        .merge(follows::router())
        .merge(admin::router())
        .merge(books::router())
        .merge(purchases::router())
        .merge(jobs::router())
        .merge(history::router())
        .merge(credits::router())
}
