//! The catalog: published books (filtered and sorted), categories, rankings, a book's chapters,
//! reading a chapter.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use jobs::catalog::{
    self, BookDetail, BookFilter, BookSort, BookStatus, BookSummary, Category, ChapterPage,
    RankingKind,
};
use jobs::ids::{BookId, CategoryId, ChapterId};
use jobs::paging::{Page, PageRequest};
use serde::{Deserialize, Serialize};

use super::errors::{PublicLookupErrors, ReadChapterErrors, SearchErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, ChapterPath, Paging, PathId, Search};
use crate::library::Visitor;
use crate::reading::{self, Chapter};
use crate::sessions::MaybeSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/books", get(list))
        .route("/api/books/{book_id}", get(show))
        .route("/api/books/{book_id}/chapters/{index_id}", get(read))
        .route("/api/categories", get(categories))
        .route("/api/rankings/{kind}", get(ranking))
}

/// The largest word count a filter takes.
const MAX_WORDS: i64 = 2_000_000_000;

/// The filters and sort of `GET /api/books`; every value arrives as text and is checked here.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BookQuery {
    #[serde(flatten)]
    #[param(ignore)]
    search: Search,
    #[param(value_type = Option<CategoryId>)]
    category_id: Option<String>,
    #[param(value_type = Option<BookStatus>, inline)]
    book_status: Option<String>,
    /// true: books with VIP chapters; false: books without
    #[param(value_type = Option<bool>)]
    vip: Option<String>,
    #[param(value_type = Option<i64>, minimum = 0, maximum = 2000000000)]
    min_words: Option<String>,
    /// not below `min_words`
    #[param(value_type = Option<i64>, minimum = 0, maximum = 2000000000)]
    max_words: Option<String>,
    /// books with a chapter added at or after this time (RFC 3339)
    #[param(value_type = Option<String>, format = DateTime)]
    updated_since: Option<String>,
    /// descending, ties by id descending; default `updated`
    #[param(value_type = Option<BookSort>, inline)]
    sort: Option<String>,
}

/// Parses an optional query value, naming the field and what it takes when it is bad.
fn parse<T: std::str::FromStr>(
    field: &str,
    text: Option<&str>,
    takes: &str,
) -> ApiResult<Option<T>> {
    text.map(|t| {
        t.parse()
            .map_err(|_| ApiError::invalid(format!("{field}: {takes}")))
    })
    .transpose()
}

fn words(field: &str, text: Option<&str>) -> ApiResult<Option<i64>> {
    let takes = "a whole number from 0 to 2000000000";
    let words = parse::<i64>(field, text, takes)?;
    if words.is_some_and(|w| !(0..=MAX_WORDS).contains(&w)) {
        return Err(ApiError::invalid(format!("{field}: {takes}")));
    }
    Ok(words)
}

impl BookQuery {
    fn checked(&self) -> ApiResult<(BookFilter, BookSort)> {
        let since = self
            .updated_since
            .as_deref()
            .map(DateTime::parse_from_rfc3339)
            .transpose()
            .map_err(|_| ApiError::invalid("updated_since: an RFC 3339 time"))?;
        let filter = BookFilter {
            q: self.search.checked()?,
            category_id: parse("category_id", self.category_id.as_deref(), "an id")?,
            book_status: parse(
                "book_status",
                self.book_status.as_deref(),
                "ongoing or finished",
            )?,
            vip: parse("vip", self.vip.as_deref(), "true or false")?,
            min_words: words("min_words", self.min_words.as_deref())?,
            max_words: words("max_words", self.max_words.as_deref())?,
            updated_since: since.map(|t| t.with_timezone(&Utc)),
        };
        if let (Some(min), Some(max)) = (filter.min_words, filter.max_words)
            && min > max
        {
            return Err(ApiError::invalid("max_words: not below min_words"));
        }
        let sort = parse(
            "sort",
            self.sort.as_deref(),
            "one of updated, new, words, visits, sales",
        )?;
        Ok((filter, sort.unwrap_or_default()))
    }
}

/// `GET /api/books`'s whole query; the `/books` and `/category/{id}` pages parse theirs with it
/// too, so a bad value is the same 400 there.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(flatten)]
    books: BookQuery,
    #[serde(flatten)]
    paging: Paging,
}

impl ListQuery {
    /// The filters, the sort and the page asked for, or the 400 naming the first bad value.
    pub(crate) fn checked(&self) -> ApiResult<(BookFilter, BookSort, PageRequest)> {
        let request = self.paging.checked()?;
        let (filter, sort) = self.books.checked()?;
        Ok((filter, sort, request))
    }
}

#[utoipa::path(
    get, path = "/api/books", operation_id = "list_books", tag = "catalog", security(()),
    params(Paging, Search, BookQuery),
    responses((status = 200, body = Page<BookSummary>), SearchErrors)
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<BookSummary>>> {
    let (filter, sort, request) = query.checked()?;
    let page = catalog::list_books(&state.db.main, &filter, sort, request).await?;
    Ok(Json(page))
}

/// `?page=&size=` of a book's chapters: size 1 to 1000, default 1000.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ChapterPaging {
    /// page of the chapters, from 1
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
    page: Option<String>,
    /// chapters per page, 1 to 1000 (default 1000)
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    size: Option<String>,
}

#[utoipa::path(
    get, path = "/api/books/{book_id}", operation_id = "show_book", tag = "catalog", security(()),
    params(("book_id" = BookId, Path), ChapterPaging),
    responses((status = 200, body = jobs::catalog::BookDetail), PublicLookupErrors)
)]
pub(super) async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ApiPath(PathId(book_id)): ApiPath<PathId<BookId>>,
    ApiQuery(paging): ApiQuery<ChapterPaging>,
) -> ApiResult<Json<BookDetail>> {
    let takes = "a whole number";
    let page = parse("page", paging.page.as_deref(), takes)?;
    let size = parse("size", paging.size.as_deref(), takes)?;
    let chapters = ChapterPage::of(page, size).map_err(ApiError::invalid)?;
    let viewer = reading::viewer(session.as_ref());
    catalog::book_detail(&state.db.main, book_id, &viewer, chapters)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(
    get, path = "/api/books/{book_id}/chapters/{index_id}", operation_id = "read_chapter",
    tag = "catalog", security(()),
    params(("book_id" = BookId, Path), ("index_id" = ChapterId, Path)),
    responses((status = 200, body = crate::reading::Chapter), ReadChapterErrors)
)]
pub(super) async fn read(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    visitor: Visitor,
    ApiPath(ids): ChapterPath,
) -> ApiResult<Json<Chapter>> {
    let (PathId(book_id), PathId(index_id)) = ids;
    let viewer = reading::viewer(session.as_ref());
    reading::chapter(&state, &viewer, &visitor, book_id, index_id)
        .await
        .map(Json)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Categories {
    items: Vec<Category>,
}

#[utoipa::path(
    get, path = "/api/categories", operation_id = "list_categories", tag = "catalog",
    security(()),
    responses((status = 200, body = Categories), SearchErrors)
)]
pub(super) async fn categories(State(state): State<AppState>) -> ApiResult<Json<Categories>> {
    let items = state.rankings.categories(&state.db.main).await?.to_vec();
    Ok(Json(Categories { items }))
}

/// The top books of a ranking, at most 50.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Ranking<'a> {
    items: &'a [BookSummary],
}

/// `GET /api/rankings/{kind}`'s query, which the `/rank/{kind}` page takes too.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RankingQuery {
    /// one category's ranking (404 when there is no such category)
    #[param(value_type = Option<CategoryId>)]
    category_id: Option<String>,
}

impl RankingQuery {
    /// The category asked for, or the 400 for one that is not an id.
    pub(crate) fn checked(&self) -> ApiResult<Option<CategoryId>> {
        parse("category_id", self.category_id.as_deref(), "an id")
    }
}

#[utoipa::path(
    get, path = "/api/rankings/{kind}", operation_id = "ranking", tag = "catalog", security(()),
    params(
        ("kind" = inline(RankingKind), Path, description = "anything else is 404"),
        RankingQuery,
    ),
    responses((status = 200, body = Ranking), PublicLookupErrors)
)]
pub(super) async fn ranking(
    State(state): State<AppState>,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(query): ApiQuery<RankingQuery>,
) -> ApiResult<Response> {
    let category_id = query.checked()?;
    let kind: RankingKind = kind.parse().map_err(|()| ApiError::NotFound)?;
    let books = state
        .rankings
        .get(&state.db.main, kind, category_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Ranking { items: &books }).into_response())
}
