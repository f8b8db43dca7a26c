//! Every resource's router, merged in one place.

use ::jobs::config::Settings;
use axum::Router;

use crate::state::AppState;

mod admin;
mod admin_orders;
mod auth;
mod author;
mod author_books;
mod book_details;
mod books;
mod chapter_edit;
mod covers;
mod credits;
mod errors;
mod follows;
mod health;
mod history;
mod income;
mod jobs;
mod me;
mod payments;
mod purchases;
mod recharge;
mod shelf;

pub(crate) use books::{ListQuery, RankingQuery};

/// The OpenAPI 3 document of the JSON API, generated from the handlers and their types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "novel", description = "The web-novel platform's JSON API (see docs/api.md)."),
    paths(
        health::healthz, health::readyz,
        auth::register, auth::login, auth::logout, me::show, me::change_password,
        history::purchases, history::ledger,
        author::register, author_books::list, author_books::create, author_books::publish,
        author_books::add_chapter, author_books::delete_chapter, book_details::edit,
        chapter_edit::edit, covers::upload,
        follows::follow, follows::unfollow, follows::feed,
        shelf::list, shelf::add, shelf::remove, shelf::history,
        admin::sessions, admin::kick, admin::freeze, admin::unfreeze, admin::users,
        credits::credit, credits::sweep,
        income::author_income, income::stats, income::rollup,
        books::list, books::show, books::read, books::categories, books::ranking,
        purchases::buy, purchases::buy_batch, jobs::show,
        recharge::packages, recharge::create_order, recharge::show_order, recharge::my_orders,
        payments::webhook, admin_orders::list, admin_orders::resolve,
    ),
    // Every operation needs a session unless it says `security(())`.
    security(("bearer" = []), ("cookie" = [])),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// Bearer tokens, or the `novel_token` cookie (writes then need `X-CSRF-Token`).
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let cookie = ApiKey::Cookie(ApiKeyValue::new("novel_token"));
        components.add_security_scheme("cookie", SecurityScheme::ApiKey(cookie));
    }
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

pub use covers::is_upload as is_cover_upload;

pub fn router(settings: &Settings) -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", axum::routing::get(openapi))
        .merge(health::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(author::router())
        .merge(author_books::router())
        .merge(book_details::router())
        .merge(follows::router())
        .merge(shelf::router())
        .merge(admin::router())
        .merge(books::router())
        .merge(purchases::router())
        .merge(jobs::router())
        .merge(history::router())
        .merge(credits::router())
        .merge(income::router())
        .merge(recharge::router())
        .merge(admin_orders::router())
        .merge(payments::router(settings.payments.webhook_body_limit_bytes))
        .merge(covers::router(settings.library.cover_max_bytes))
}
