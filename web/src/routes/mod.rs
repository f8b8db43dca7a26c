//! Every resource's router, merged in one place.

use axum::Router;

use crate::state::AppState;

mod books;
mod health;

pub fn router() -> Router<AppState> {
    Router::new().merge(health::router()).merge(books::router())
}
