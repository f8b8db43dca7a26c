//! Reader pages: a book, a chapter (with buying and the shelf button), sign-in forms, my
//! account (with my recharge orders and reading history).

use axum::extract::State;
use axum::response::Response;
use jobs::catalog::{self, ChapterPage, ChapterSummary};
use jobs::coins::Coins;
use jobs::ids::BookId;
use jobs::paging::PageRequest;
use jobs::payments::orders::{self, Order, OrderStatus};
use jobs::shelf::{self, Place};
use jobs::{history, users};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{PageError, page_count, render, sign_in_first};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, ChapterPath, PathId};
use crate::library::Visitor;
use crate::reading;
use crate::sessions::{MaybeSession, Session};
use crate::state::AppState;

type PageResult = Result<Response, PageError>;

/// `?page=` of a book's chapter list (1000 a page, as the API's).
#[derive(Debug, Deserialize)]
pub struct BookQuery {
    page: Option<u32>,
}

/// A book's details and a page of its chapters, with lock, price and owned marks, and for a
/// signed-in reader the shelf button and where they stopped reading.
pub async fn book(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    book_id: Result<ApiPath<PathId<BookId>>, ApiError>,
    query: Result<ApiQuery<BookQuery>, ApiError>,
) -> PageResult {
    let ApiPath(PathId(book_id)) = book_id.map_err(|_| ApiError::NotFound)?;
    let ApiQuery(query) = query?;
    let request = ChapterPage::of(query.page, None).map_err(ApiError::invalid)?;
    let viewer = reading::viewer(session.as_ref());
    let pool = &state.db.main;
    let book = catalog::book_detail(pool, book_id, &viewer, request)
        .await?
        .ok_or(ApiError::NotFound)?;
    let own = viewer.author_id == Some(book.book.author_id);
    let place = match &session {
        Some(session) => shelf::place(pool, session.user_id, book_id).await?,
        None => Place::default(),
    };
    // The first chapter is on the first page; a later page looks it up.
    let first = match (request.page(), book.chapters.first()) {
        (1, first) => first.map(|c| c.id),
        _ => catalog::neighbours(pool, book_id, i32::MIN).await?.next,
    };
    let paragraphs: Vec<&str> = book
        .book
        .description
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let pages = page_count(book.chapter_count, request);
    let ctx = context! {
        book, own, place, paragraphs, first => first.map(|id| id.to_string()),
        page => request.page(), pages, offset => request.offset(),
    };
    render("book.html", session.as_ref(), ctx)
}

/// A chapter's text, or for a VIP chapter the reader does not own, the buy buttons.
pub async fn chapter(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    visitor: Visitor,
    ids: Result<ChapterPath, ApiError>,
) -> PageResult {
    let ApiPath((PathId(book_id), PathId(index_id))) = ids.map_err(|_| ApiError::NotFound)?;
    let viewer = reading::viewer(session.as_ref());
    let pool = &state.db.main;
    let row = reading::visible_row(&state, &viewer, book_id, index_id).await?;
    let (index_num, published) = (row.index_num, row.publish_status == 1);
    // The page of the chapter list that holds this chapter, however long the book.
    let before = catalog::chapters_before(pool, book_id, index_num).await?;
    let size = ChapterPage::DEFAULT_SIZE;
    let page = ChapterPage::of(Some(before / size + 1), None).map_err(ApiError::invalid)?;
    let book = catalog::book_detail(pool, book_id, &viewer, page)
        .await?
        .ok_or(ApiError::NotFound)?;
    let at = (before % size) as usize;
    if book.chapters.get(at).is_none_or(|c| c.id != index_id) {
        return Err(ApiError::NotFound.into());
    }
    let (chapter, locked) = match reading::read_row(&state, &viewer, &visitor, row).await {
        Ok(chapter) => (Some(chapter), false),
        Err(ApiError::PurchaseRequired { .. } | ApiError::Unauthenticated) => (None, true),
        Err(other) => return Err(other.into()),
    };
    let summary = &book.chapters[at];
    // A chapter read names its neighbours; a locked one needs the lookup of its own.
    let (prev, next) = match &chapter {
        Some(read) => (read.prev_index_id, read.next_index_id),
        None => {
            let around = catalog::neighbours(pool, book_id, index_num).await?;
            (around.prev, around.next)
        }
    };
    let (prev, next) = (prev.map(|id| id.to_string()), next.map(|id| id.to_string()));
    let for_sale = unowned_vip_from(&book.chapters[at..]);
    // Only a published book can be shelved; `None` shows no shelf button.
    let on_shelf = match &session {
        Some(session) if published => Some(shelf::kept(pool, session.user_id, book_id).await?),
        _ => None,
    };
    let ctx = context! {
        book_id => book.book.id.to_string(), book_name => &book.book.book_name,
        index_id => summary.id.to_string(), index_name => &summary.index_name,
        price => summary.price, chapter, locked, prev, next, for_sale, on_shelf,
    };
    render("chapter.html", session.as_ref(), ctx)
}

/// A VIP chapter the reader does not own, as the batch form offers it.
#[derive(Serialize)]
struct ForSale {
    /// A string: JavaScript numbers lose precision.
    id: String,
    /// The price shown, which the page sends back as the most it agrees to pay.
    price: Coins,
}

/// The VIP chapters not yet owned, in order.
fn unowned_vip_from(chapters: &[ChapterSummary]) -> Vec<ForSale> {
    chapters
        .iter()
        .filter(|c| c.is_vip && !c.owned)
        .map(|c| ForSale {
            id: c.id.to_string(),
            price: c.price,
        })
        .collect()
}

/// `?next=`: where the sign-in page sends the browser afterwards.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login(
    MaybeSession(session): MaybeSession,
    query: Result<ApiQuery<NextQuery>, ApiError>,
) -> PageResult {
    sign_in_page("login", session, query)
}

pub async fn register(
    MaybeSession(session): MaybeSession,
    query: Result<ApiQuery<NextQuery>, ApiError>,
) -> PageResult {
    sign_in_page("register", session, query)
}

/// The sign-in or register form; `next` is rendered only as a path of this site.
fn sign_in_page(
    mode: &str,
    session: Option<Session>,
    query: Result<ApiQuery<NextQuery>, ApiError>,
) -> PageResult {
    let next = query.ok().and_then(|ApiQuery(q)| q.next);
    let next = local_path(next.as_deref());
    render("login.html", session.as_ref(), context! { mode, next })
}

/// `path` if it stays on this site, else `/`: one `/` not followed by `/` or `\` (browsers read
/// both as the start of another host), and no control characters (browsers drop tabs and
/// newlines, so `/<tab>/evil.com` would become `//evil.com`).
fn local_path(path: Option<&str>) -> &str {
    match path {
        Some(path)
            if path.starts_with('/')
                && !path[1..].starts_with(['/', '\\'])
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

#[derive(Debug, Deserialize)]
pub struct MeQuery {
    orders_page: Option<u32>,
    history_page: Option<u32>,
}

/// A recharge order as my account lists it; `payable` while its checkout still takes a payment.
#[derive(Serialize)]
struct OrderRow {
    #[serde(flatten)]
    order: Order,
    payable: bool,
}

/// Balance, recent purchases and ledger, my orders and reading history a page at a time; the
/// follows feed is loaded by the page script, which also watches an order awaiting its payment.
pub async fn me(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    query: Result<ApiQuery<MeQuery>, ApiError>,
) -> PageResult {
    let Some(session) = session else {
        return Ok(sign_in_first("/me"));
    };
    let ApiQuery(query) = query?;
    let orders_request = PageRequest::new(query.orders_page, None).map_err(ApiError::invalid)?;
    // Orders first: a recharge marks its order paid and credits in one transaction, so a paid
    // order read here has its coins in the balance read next, and a pending one is watched.
    let found = orders::list_mine(&state.db.main, session.user_id, orders_request).await?;
    let user = users::user(&state.db.main, session.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let first = PageRequest::default();
    let purchases = history::purchases(&state.db.main, user.id, first)
        .await?
        .items;
    let ledger = history::ledger(&state.db.main, user.id, first).await?.items;
    let reading = super::shelf::history(&state, user.id, query.history_page).await?;
    let now = jobs::clock::now();
    let orders: Vec<OrderRow> = found
        .items
        .into_iter()
        .map(|order| OrderRow {
            payable: order.status == OrderStatus::Pending
                && order.expires_at > now
                && order.checkout_url.is_some(),
            order,
        })
        .collect();
    let awaiting = orders.iter().any(|row| row.payable);
    let ctx = context! {
        username => user.username, nick_name => user.nick_name, balance => user.balance,
        purchases, ledger, orders, awaiting, reading,
        orders_page => orders_request.page(), orders_size => orders_request.size(),
        orders_pages => page_count(found.total, orders_request),
    };
    render("me.html", Some(&session), ctx)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_site_are_kept() {
        for good in ["/", "/admin", "/book/1/2?x=1", "/a\\b"] {
            assert_eq!(local_path(Some(good)), good);
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/\\\\evil.com",
            "https://evil.com",
            "/\t/evil.com",
            "/x\u{85}",
            "evil.com",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
