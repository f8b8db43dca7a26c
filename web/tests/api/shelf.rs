//! The shelf (idempotent, bounded, with reading positions and unread counts), the reading
//! history, and the progress chapter reads record within 5 s.

use std::time::{Duration, Instant};

use jobs::ids::{BookId, ChapterId, UserId};
use jobs::shelf::Progress;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::helpers::{As, TestApp, expect_error, json, spawn_app, spawn_app_with};

/// A browser's User-Agent: reads with it count as visits.
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A published book of `chapters` free chapters by a new author.
pub async fn free_book(app: &TestApp, chapters: usize) -> (BookId, Vec<ChapterId>) {
    let state = &app.state;
    testkit::book(
        &state.db,
        &state.ids,
        &state.settings,
        chapters,
        chapters,
        50,
    )
    .await
}

/// Reads a chapter as `who` with `user_agent` (none when `None`), asserting a 200.
pub async fn read(
    app: &TestApp,
    who: As<'_>,
    user_agent: Option<&str>,
    book_id: BookId,
    index_id: ChapterId,
) {
    let path = format!("{}/api/books/{book_id}/chapters/{index_id}", app.address);
    let mut request = app.plain.get(path);
    request = match who {
        As::Bearer(token) => request.bearer_auth(token),
        _ => request,
    };
    if let Some(agent) = user_agent {
        request = request.header("user-agent", agent);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn shelve(app: &TestApp, who: As<'_>, method: Method, book_id: &str) -> Response {
    let path = format!("/api/me/shelf/{book_id}");
    app.request(method, &path, who, None).await
}

/// `path` as `who`, again every 100 ms until `done` holds of it (at most 5 s).
async fn within_five_seconds(
    app: &TestApp,
    who: As<'_>,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let page = json(app.get_as(who, path).await).await;
        if done(&page) {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not within 5 s: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids_of(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn adding_and_removing_a_book_is_idempotent_and_unknown_or_draft_books_are_not_found() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (book, _) = free_book(&app, 2).await;
    let (draft, _) = free_book(&app, 1).await;
    sqlx::query("UPDATE book SET status = 0 WHERE id = ?")
        .bind(draft)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let book = book.to_string();
    for _ in 0..2 {
        let added = shelve(&app, reader.bearer(), Method::PUT, &book).await;
        assert_eq!(added.status(), StatusCode::NO_CONTENT);
    }
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(shelf["total"], 1, "{shelf}");
    assert_eq!(ids_of(&shelf, "book_id"), std::slice::from_ref(&book));
    for missing in [draft.to_string(), "999".to_owned()] {
        let put = shelve(&app, reader.bearer(), Method::PUT, &missing).await;
        expect_error(put, StatusCode::NOT_FOUND, "not_found").await;
        let delete = shelve(&app, reader.bearer(), Method::DELETE, &missing).await;
        expect_error(delete, StatusCode::NOT_FOUND, "not_found").await;
    }
    let malformed = shelve(&app, reader.bearer(), Method::PUT, "abc").await;
    expect_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;
    for _ in 0..2 {
        let removed = shelve(&app, reader.bearer(), Method::DELETE, &book).await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    }
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(shelf["total"], 0, "{shelf}");
}

#[tokio::test]
async fn a_full_shelf_refuses_another_book_with_shelf_full_but_keeps_its_own() {
    let app = spawn_app_with(|s| s.library.shelf_limit = 2).await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let mut books = Vec::new();
    for _ in 0..3 {
        books.push(free_book(&app, 1).await.0.to_string());
    }
    for book in &books[..2] {
        let added = shelve(&app, reader.bearer(), Method::PUT, book).await;
        assert_eq!(added.status(), StatusCode::NO_CONTENT);
    }
    let third = shelve(&app, reader.bearer(), Method::PUT, &books[2]).await;
    expect_error(third, StatusCode::CONFLICT, "shelf_full").await;
    let again = shelve(&app, reader.bearer(), Method::PUT, &books[0]).await;
    assert_eq!(
        again.status(),
        StatusCode::NO_CONTENT,
        "a book already kept is no addition"
    );
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(shelf["total"], 2, "nothing changed: {shelf}");
    assert!(!ids_of(&shelf, "book_id").contains(&books[2]));
}

#[tokio::test]
async fn the_shelf_needs_a_session_and_its_cookie_writes_a_csrf_token() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let book = free_book(&app, 1).await.0.to_string();
    for path in ["/api/me/shelf", "/api/me/history"] {
        let anonymous = app.get_as(As::Anonymous, path).await;
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let anonymous = shelve(&app, As::Anonymous, Method::PUT, &book).await;
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let no_csrf = As::Cookie(&reader.token, None);
    let refused = shelve(&app, no_csrf, Method::PUT, &book).await;
    expect_error(refused, StatusCode::FORBIDDEN, "csrf_mismatch").await;
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(shelf["total"], 0, "nothing changed: {shelf}");
    let added = shelve(&app, reader.cookie(), Method::PUT, &book).await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let refused = shelve(&app, no_csrf, Method::DELETE, &book).await;
    expect_error(refused, StatusCode::FORBIDDEN, "csrf_mismatch").await;
    let bad_page = app.get_as(reader.bearer(), "/api/me/shelf?size=101").await;
    expect_error(bad_page, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn the_shelf_shows_the_last_chapter_read_and_the_unread_since_newest_update_first() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (read_book, read_chapters) = free_book(&app, 6).await;
    let (unread_book, unread_chapters) = free_book(&app, 4).await;
    // The unread book was updated last.
    sqlx::query(
        "UPDATE book SET last_index_update_time = last_index_update_time + INTERVAL 1 HOUR
         WHERE id = ?",
    )
    .bind(unread_book)
    .execute(&app.state.db.main)
    .await
    .unwrap();
    read(
        &app,
        reader.bearer(),
        Some(BROWSER),
        read_book,
        read_chapters[1],
    )
    .await;
    for book in [read_book, unread_book] {
        let added = shelve(&app, reader.bearer(), Method::PUT, &book.to_string()).await;
        assert_eq!(added.status(), StatusCode::NO_CONTENT);
    }
    read(
        &app,
        reader.bearer(),
        Some(BROWSER),
        read_book,
        read_chapters[2],
    )
    .await;
    let third = read_chapters[2].to_string();
    let shelf = within_five_seconds(&app, reader.bearer(), "/api/me/shelf", |page| {
        page["items"][1]["last_read_index_id"] == third.as_str()
    })
    .await;
    assert_eq!(
        ids_of(&shelf, "book_id"),
        [unread_book.to_string(), read_book.to_string()]
    );
    let never = &shelf["items"][0];
    assert_eq!(never["last_read_index_id"], Value::Null, "{never}");
    assert_eq!(never["last_read_index_name"], Value::Null);
    assert_eq!(never["last_read_time"], Value::Null);
    assert_eq!(never["unread"], 4, "every chapter when none was read");
    assert_eq!(
        never["latest_index_id"],
        unread_chapters[3].to_string().as_str()
    );
    assert_eq!(never["pen_name"], "Pen");
    assert_eq!(
        never["cover_url"],
        format!("/covers/book/{unread_book}.svg").as_str()
    );
    let reading = &shelf["items"][1];
    assert_eq!(reading["last_read_index_name"], "Chapter 2", "{reading}");
    assert_eq!(reading["unread"], 3, "chapters 4 to 6");
    assert_eq!(reading["latest_index_name"], "Chapter 5");
    assert!(reading["last_read_time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn history_keeps_one_row_per_book_its_last_chapter_newest_first() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (first, first_chapters) = free_book(&app, 3).await;
    let (second, second_chapters) = free_book(&app, 3).await;
    read(&app, reader.bearer(), None, first, first_chapters[0]).await;
    // Each read a few milliseconds after the last: read times (ms) never tie.
    tokio::time::sleep(Duration::from_millis(20)).await;
    read(&app, reader.bearer(), None, first, first_chapters[2]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    read(&app, reader.bearer(), None, second, second_chapters[1]).await;
    let wanted = [
        second_chapters[1].to_string(),
        first_chapters[2].to_string(),
    ];
    let history = within_five_seconds(&app, reader.bearer(), "/api/me/history", |page| {
        ids_of(page, "index_id") == wanted
    })
    .await;
    assert_eq!(history["total"], 2);
    assert_eq!(
        ids_of(&history, "book_id"),
        [second.to_string(), first.to_string()]
    );
    assert_eq!(history["items"][1]["index_name"], "Chapter 2");
    assert_eq!(history["items"][1]["book_name"], "A Test Book");
    let paged = json(
        app.get_as(reader.bearer(), "/api/me/history?size=1&page=2")
            .await,
    )
    .await;
    assert_eq!(ids_of(&paged, "book_id"), [first.to_string()]);

    // A deleted chapter takes its history row out of the items and the total alike.
    jobs::authoring::delete_chapter(&app.state.db, first, first_chapters[2])
        .await
        .unwrap();
    let history = json(app.get_as(reader.bearer(), "/api/me/history").await).await;
    assert_eq!(ids_of(&history, "book_id"), [second.to_string()]);
    assert_eq!(history["total"], 1, "{history}");
}

#[tokio::test]
async fn an_older_read_never_overwrites_a_newer_one() {
    let app = spawn_app().await;
    let user_id: UserId = app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (book, chapters) = free_book(&app, 3).await;
    let added = shelve(&app, reader.bearer(), Method::PUT, &book.to_string()).await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let now = jobs::clock::now();
    let at = |index: usize, seconds_ago: i64| Progress {
        user_id,
        book_id: book,
        index_id: chapters[index],
        read_time: now - chrono::Duration::seconds(seconds_ago),
    };
    let pool = &app.state.db.main;
    jobs::shelf::record(pool, &[at(2, 10)]).await.unwrap();
    jobs::shelf::record(pool, &[at(0, 60), at(1, 30)])
        .await
        .unwrap();
    let history = json(app.get_as(reader.bearer(), "/api/me/history").await).await;
    assert_eq!(ids_of(&history, "index_id"), [chapters[2].to_string()]);
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(
        ids_of(&shelf, "last_read_index_id"),
        [chapters[2].to_string()]
    );
    jobs::shelf::record(pool, &[at(1, 1), at(0, 5)])
        .await
        .unwrap();
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(
        ids_of(&shelf, "last_read_index_id"),
        [chapters[1].to_string()]
    );
}

#[tokio::test]
async fn adds_racing_past_the_limit_leave_the_shelf_at_the_limit() {
    let app = spawn_app_with(|s| s.library.shelf_limit = 3).await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let mut books = Vec::new();
    for _ in 0..12 {
        books.push(free_book(&app, 1).await.0.to_string());
    }
    let adds = books
        .iter()
        .map(|book| shelve(&app, reader.bearer(), Method::PUT, book));
    let answers = futures::future::join_all(adds).await;
    let added = answers
        .iter()
        .filter(|a| a.status() == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(
        added,
        3,
        "{:?}",
        answers.iter().map(Response::status).collect::<Vec<_>>()
    );
    let shelf = json(app.get_as(reader.bearer(), "/api/me/shelf").await).await;
    assert_eq!(shelf["total"], 3, "{shelf}");
}
