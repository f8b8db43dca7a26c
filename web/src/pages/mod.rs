//! Server-rendered HTML pages over the same sessions and rules as the API; writes go through the
//! JSON API from `static/app.js` (the sandbox checkout's Pay and Cancel post to their page).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{AutoEscape, Environment, Value, context};
use serde::Serialize;

use jobs::paging::PageRequest;

use crate::error::ApiError;
use crate::sessions::Session;
use crate::state::AppState;

mod admin;
mod author;
mod chart;
mod covers;
mod desk;
mod discover;
mod reader;
mod recharge;
mod sandbox;
mod shelf;

/// Embedded so the binary is self-contained.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("books.html", include_str!("../../templates/books.html")),
    (
        "category.html",
        include_str!("../../templates/category.html"),
    ),
    ("rank.html", include_str!("../../templates/rank.html")),
    ("cards.html", include_str!("../../templates/cards.html")),
    ("book.html", include_str!("../../templates/book.html")),
    ("chapter.html", include_str!("../../templates/chapter.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("me.html", include_str!("../../templates/me.html")),
    ("author.html", include_str!("../../templates/author.html")),
    ("admin.html", include_str!("../../templates/admin.html")),
    ("chart.html", include_str!("../../templates/chart.html")),
    ("pager.html", include_str!("../../templates/pager.html")),
    (
        "recharge.html",
        include_str!("../../templates/recharge.html"),
    ),
    ("sandbox.html", include_str!("../../templates/sandbox.html")),
    ("shelf.html", include_str!("../../templates/shelf.html")),
];

const APP_JS: &str = include_str!("../../static/app.js");
const APP_CSS: &str = include_str!("../../static/app.css");
const READER_JS: &str = include_str!("../../static/reader.js");
const MINE_JS: &str = include_str!("../../static/mine.js");

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Every value reaching a template may come from a user: always escape.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).expect("templates parse");
    }
    env.add_filter("money", money);
    env
});

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(discover::home))
        .route("/books", get(discover::books))
        .route("/category/{category_id}", get(discover::category_books))
        .route("/rank/{kind}", get(discover::rank))
        .route("/book/{book_id}", get(reader::book))
        .route("/book/{book_id}/{index_id}", get(reader::chapter))
        .route("/login", get(reader::login))
        .route("/register", get(reader::register))
        .route("/me", get(reader::me))
        .route("/shelf", get(shelf::show))
        .route("/recharge", get(recharge::show))
        .route("/author", get(author::show))
        .route("/admin", get(admin::show))
        .route("/pay/sandbox/{order_id}", get(sandbox::show))
        .route("/pay/sandbox/{order_id}/pay", post(sandbox::pay))
        .route("/pay/sandbox/{order_id}/cancel", post(sandbox::cancel))
        .route("/covers/{file}", get(covers::stored))
        .route("/covers/book/{file}", get(covers::generated))
        .route("/static/app.js", get(script))
        .route("/static/app.css", get(style))
        .route("/static/reader.js", get(reader_script))
        .route("/static/mine.js", get(mine_script))
}

/// Unknown paths: an HTML 404 page, or the API's JSON 404 under `/api`.
pub async fn fallback(uri: Uri) -> Response {
    reject(uri.path(), ApiError::NotFound)
}

/// Pages get HTML error pages, the API its JSON errors.
pub fn reject(path: &str, error: ApiError) -> Response {
    if path == "/api" || path.starts_with("/api/") {
        error.into_response()
    } else {
        PageError(error).into_response()
    }
}

/// The signed-in account as the layout shows it, and the CSRF token for the first write.
#[derive(Serialize)]
struct Me<'a> {
    account: &'a str,
    is_author: bool,
    is_admin: bool,
}

/// Renders `name` inside the layout with the viewer's account (if any) and CSRF token.
fn render(name: &str, session: Option<&Session>, ctx: Value) -> Result<Response, PageError> {
    let me = session.map(|s| Me {
        account: &s.account,
        is_author: s.author_id.is_some(),
        is_admin: s.has_role(jobs::accounts::Role::Admin),
    });
    let csrf = session.map(|s| s.csrf.as_str());
    let html = ENV
        .get_template(name)
        .and_then(|t| t.render(context! { me, csrf, ..ctx }))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))?;
    Ok(Html(html).into_response())
}

/// `{{ amount|money(currency) }}`: minor units (fen, cents) as money, `CNY 6.00`.
fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let minor = amount.unsigned_abs();
    format!("{currency} {sign}{}.{:02}", minor / 100, minor % 100)
}

/// How many pages a list of `total` rows fills (at least one, so "page 1 of 1" when empty).
fn page_count(total: i64, request: PageRequest) -> u64 {
    u64::try_from(total.max(1))
        .unwrap_or(1)
        .div_ceil(u64::from(request.size()))
}

/// Pages for signed-in accounts send everyone else to the sign-in page first.
fn sign_in_first(next: &str) -> Response {
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// A page handler's error: the API's error, shown as an HTML page.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        Self(error.into())
    }
}

impl From<PathRejection> for PageError {
    fn from(_: PathRejection) -> Self {
        // A malformed id names no page.
        Self(ApiError::NotFound)
    }
}

impl From<QueryRejection> for PageError {
    fn from(rejection: QueryRejection) -> Self {
        Self(rejection.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = error.status_code();
        let title = match &error {
            ApiError::SessionFrozen => "Session frozen",
            ApiError::Forbidden | ApiError::CsrfMismatch => "Forbidden",
            ApiError::NotFound => "Page not found",
            ApiError::Unauthenticated => "Sign in first",
            _ if status.is_server_error() => "Something went wrong",
            _ => "Bad request",
        };
        let message = match &error {
            ApiError::SessionFrozen => {
                "An administrator has frozen this session. Nothing can be done with it until it \
                 is unfrozen."
                    .to_owned()
            }
            ApiError::Forbidden => "You are not allowed to see this page.".to_owned(),
            ApiError::NotFound => "There is no page at this address.".to_owned(),
            other => other.to_string(),
        };
        let ctx = context! { status => status.as_u16(), code => error.code(), title, message };
        let body = ENV
            .get_template("error.html")
            .and_then(|t| t.render(ctx))
            .unwrap_or_else(|_| title.to_owned());
        match &error {
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "dependency unavailable")
            }
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
        (status, Html(body)).into_response()
    }
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The reading page's settings script, run before it paints.
async fn reader_script() -> Response {
    asset("text/javascript; charset=utf-8", READER_JS)
}

/// The script of the reader's own pages and the author's desk (shelf, book and chapter editing).
async fn mine_script() -> Response {
    asset("text/javascript; charset=utf-8", MINE_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::{ENV, money};

    #[test]
    fn minor_units_are_shown_as_money() {
        assert_eq!(money(600, "CNY"), "CNY 6.00");
        assert_eq!(money(19_805, "USD"), "USD 198.05");
        assert_eq!(money(7, "EUR"), "EUR 0.07");
        assert_eq!(money(-250, "CNY"), "CNY -2.50");
    }

    #[test]
    fn the_pager_links_the_pages_around_this_one_with_the_filters_kept() {
        let books: [(); 0] = [];
        let form = context! { q => "a b&c" };
        let keep = "q=a+b%26c&sort=words";
        let ctx = context! { books, form, keep, page => 2, pages => 3, total => 45 };
        let html = ENV.get_template("books.html").unwrap().render(ctx).unwrap();
        let html = html.replace("&#x2f;", "/");
        assert!(
            html.contains(r#"href="/books?page=1&amp;q=a+b%26c&amp;sort=words">← Previous"#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="/books?page=3&amp;q=a+b%26c&amp;sort=words">Next →"#),
            "{html}"
        );
        assert!(html.contains("Page 2 of 3"));
        assert!(
            html.contains(r#"value="a b&amp;c""#),
            "the search is filled in"
        );
        let ctx = context! { books, form, page => 1, pages => 1, total => 0 };
        let html = ENV.get_template("books.html").unwrap().render(ctx).unwrap();
        assert!(!html.contains("class=\"pager\""), "one page needs no pager");
    }
}
