//! The discovery pages: the home page's sections, `/books` (the catalog's filters and sorts as a
//! form), a category's books and ranking, the rankings. Rankings and categories come from the
//! web tier's cache ([`crate::rankings`]), so the home page costs no query once it is warm.

use std::collections::BTreeMap;

use axum::extract::{Query, RawQuery, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Days, SecondsFormat, Utc};
use jobs::catalog::{self, BookSummary, Category, RankingKind};
use jobs::ids::CategoryId;
use minijinja::context;
use serde::Serialize;

use super::{PageError, page_count, render};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, PathId};
use crate::routes::{ListQuery, RankingQuery};
use crate::sessions::MaybeSession;
use crate::state::AppState;

type PageResult = Result<Response, PageError>;

/// How many books each home section and a category page's ranking show.
const SECTION: usize = 10;

/// The sorts and rankings in the order their choices and tabs show them: (value, label).
const SORTS: [(&str, &str); 5] = [
    ("updated", "Recently updated"),
    ("new", "Newest"),
    ("words", "Most words"),
    ("visits", "Most read"),
    ("sales", "Best selling"),
];
const RANKINGS: [(&str, &str); 4] = [
    ("visits", "Most read"),
    ("sales", "Best selling"),
    ("new", "Newest"),
    ("updated", "Recently updated"),
];

/// The figure a ranking shows beside each book: the one it ranks by, when it is a count.
fn figure(kind: RankingKind) -> Option<&'static str> {
    match kind {
        RankingKind::Visits => Some("visit_count"),
        RankingKind::Sales => Some("sales"),
        RankingKind::New | RankingKind::Updated => None,
    }
}

/// A ranking's first books, for a section.
fn top(books: &[BookSummary]) -> &[BookSummary] {
    &books[..books.len().min(SECTION)]
}

/// The home page: the rankings by visits and sales, the newest and the recently updated books,
/// and the categories, all from the cache. `/?q=…` (the old home page's search and pages) is
/// now `/books?q=…`.
pub async fn home(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    if let Some(raw) = raw.filter(|r| !r.is_empty()) {
        return Ok(Redirect::to(&format!("/books?{raw}")).into_response());
    }
    let pool = &state.db.main;
    let mut sections = Vec::with_capacity(RANKINGS.len());
    for (name, label) in RANKINGS {
        let kind: RankingKind = name.parse().expect("a ranking kind");
        let books = state
            .rankings
            .get(pool, kind, None)
            .await?
            .unwrap_or_default();
        let figure = figure(kind);
        sections.push(context! { name, label, figure, books => top(&books) });
    }
    let categories = state.rankings.categories(pool).await?;
    render(
        "home.html",
        session.as_ref(),
        context! { sections, categories },
    )
}

/// A list page's query as the form sent it: blank fields (a form sends every field) are left
/// out, everything else is parsed by `GET /api/books`'s own query.
struct Criteria(Vec<(String, String)>);

impl Criteria {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self(pairs)
    }

    /// Sets `name` to `value` alone (a category page's category).
    fn fix(&mut self, name: &str, value: String) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value));
    }

    /// The query encoded again without `skip`, for the links that change it.
    fn encoded_without(&self, skip: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter().filter(|(name, _)| name != skip))
            .finish()
    }

    /// Each field's value, to fill the form in again.
    fn values(&self) -> BTreeMap<&str, &str> {
        self.0
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// The filtered, sorted page of published books, or the API's 400 for a bad value.
    async fn books(
        &self,
        state: &AppState,
    ) -> Result<(jobs::paging::Page<BookSummary>, u64), PageError> {
        let uri: Uri = format!("/?{}", self.encoded_without(""))
            .parse()
            .map_err(|_| ApiError::invalid("the query is not a query string"))?;
        let Query(query) = Query::<ListQuery>::try_from_uri(&uri).map_err(ApiError::from)?;
        let (filter, sort, request) = query.checked()?;
        let found = catalog::list_books(&state.db.main, &filter, sort, request).await?;
        let pages = page_count(found.total, request);
        Ok((found, pages))
    }
}

/// The `updated_since` choices: since the start of today, of 7 days ago and of 30 days ago
/// (UTC, RFC 3339 as the API takes it), stable through the day so the form shows its choice.
fn since_choices(now: DateTime<Utc>) -> Vec<(String, &'static str)> {
    let today = now.date_naive();
    [(0, "Today"), (6, "Last 7 days"), (29, "Last 30 days")]
        .into_iter()
        .filter_map(|(back, label)| {
            let day = today.checked_sub_days(Days::new(back))?;
            let start = day.and_hms_opt(0, 0, 0)?.and_utc();
            Some((start.to_rfc3339_opts(SecondsFormat::Secs, true), label))
        })
        .collect()
}

/// `/books`: the catalog with every filter and sort of `GET /api/books`.
pub async fn books(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let criteria = Criteria::parse(raw.as_deref());
    let (found, pages) = criteria.books(&state).await?;
    let categories = state.rankings.categories(&state.db.main).await?;
    let ctx = context! {
        books => found.items, total => found.total, page => found.page, pages,
        form => criteria.values(), keep => criteria.encoded_without("page"),
        categories, sorts => SORTS, since => since_choices(jobs::clock::now()),
    };
    render("books.html", session.as_ref(), ctx)
}

/// The category a path names, from the cached list; 404 for any other id.
async fn category(
    state: &AppState,
    path: Result<ApiPath<PathId<CategoryId>>, ApiError>,
) -> Result<Category, PageError> {
    let ApiPath(PathId(id)) = path.map_err(|_| ApiError::NotFound)?;
    let categories = state.rankings.categories(&state.db.main).await?;
    let found = categories.iter().find(|c| c.id == id).cloned();
    Ok(found.ok_or(ApiError::NotFound)?)
}

/// `/category/{id}`: the category's books (any sort, the other filters too) and its ranking by
/// visits.
pub async fn category_books(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    path: Result<ApiPath<PathId<CategoryId>>, ApiError>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let category = category(&state, path).await?;
    let mut criteria = Criteria::parse(raw.as_deref());
    criteria.fix("category_id", category.id.to_string());
    let (found, pages) = criteria.books(&state).await?;
    let ranking = state
        .rankings
        .get(&state.db.main, RankingKind::Visits, Some(category.id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let values = criteria.values();
    let sort = values.get("sort").copied().unwrap_or("updated");
    let ctx = context! {
        category, books => found.items, total => found.total, page => found.page, pages,
        keep => criteria.encoded_without("page"), sort, sorts => SORTS,
        ranking => top(&ranking),
    };
    render("category.html", session.as_ref(), ctx)
}

#[derive(Serialize)]
struct Tab<'a> {
    label: &'a str,
    href: String,
    current: bool,
}

/// `/rank/{kind}` (visits, sales, new, updated; else 404), overall or `?category_id=`: the
/// cached ranking, with tabs for the kinds and the categories.
pub async fn rank(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    kind: Result<ApiPath<String>, ApiError>,
    query: Result<ApiQuery<RankingQuery>, ApiError>,
) -> PageResult {
    let ApiPath(name) = kind.map_err(|_| ApiError::NotFound)?;
    let kind: RankingKind = name.parse().map_err(|()| ApiError::NotFound)?;
    let ApiQuery(query) = query?;
    let category_id = query.checked()?;
    let pool = &state.db.main;
    let books = state
        .rankings
        .get(pool, kind, category_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let categories = state.rankings.categories(pool).await?;
    let in_category = category_id
        .map(|id| format!("?category_id={id}"))
        .unwrap_or_default();
    let kinds: Vec<Tab> = RANKINGS
        .iter()
        .map(|&(value, label)| Tab {
            label,
            href: format!("/rank/{value}{in_category}"),
            current: value == name,
        })
        .collect();
    let all = Tab {
        label: "All",
        href: format!("/rank/{name}"),
        current: category_id.is_none(),
    };
    let scopes: Vec<Tab> = std::iter::once(all)
        .chain(categories.iter().map(|c| Tab {
            label: &c.name,
            href: format!("/rank/{name}?category_id={}", c.id),
            current: Some(c.id) == category_id,
        }))
        .collect();
    let title = RANKINGS
        .iter()
        .find(|(value, _)| *value == name)
        .map(|(_, label)| *label);
    let category = categories.iter().find(|c| Some(c.id) == category_id);
    let figure = figure(kind);
    let ctx = context! { books => &*books, kinds, scopes, title, category, figure };
    render("rank.html", session.as_ref(), ctx)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn blank_fields_are_left_out_and_the_page_is_dropped_from_the_links() {
        let criteria = Criteria::parse(Some("q=a+b%26c&category_id=&vip=true&page=3&sort="));
        assert_eq!(criteria.encoded_without("page"), "q=a+b%26c&vip=true");
        assert_eq!(criteria.values().get("q"), Some(&"a b&c"));
        assert!(!criteria.values().contains_key("category_id"));
        let mut fixed = Criteria::parse(Some("category_id=9&sort=words"));
        fixed.fix("category_id", "2".to_owned());
        assert_eq!(fixed.encoded_without(""), "sort=words&category_id=2");
    }

    #[test]
    fn the_since_choices_start_at_midnight_utc_as_rfc_3339() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 17, 45, 0).unwrap();
        let choices = since_choices(now);
        let values: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "2026-12-03T00:00:00Z",
                "2026-11-27T00:00:00Z",
                "2026-11-04T00:00:00Z"
            ]
        );
        for value in values {
            assert!(DateTime::parse_from_rfc3339(value).is_ok());
        }
    }
}
