//! The reader's own pages (`/shelf`, the history on `/me`, the shelf button of the reading page)
//! and the author's desk on `/author`: who may see them, and every value escaped.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::authors::{add_chapter, author, new_book, publish};
use crate::helpers::{As, Signed, TestApp, spawn_app};

const HOSTILE: &str = "<img src=x onerror=alert(1)>";
const ESCAPED: &str = "&lt;img src=x onerror=alert(1)&gt;";

async fn page(app: &TestApp, who: As<'_>, path: &str) -> String {
    let response = app.get_as(who, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// An author's published book named `name` with two free chapters; its id and chapter ids.
async fn published(app: &TestApp, who: As<'_>, name: &str) -> (String, Vec<String>) {
    let book = new_book(app, who, name).await;
    let mut chapters = Vec::new();
    for chapter in [format!("{HOSTILE} one"), "Two".to_owned()] {
        let added = add_chapter(app, who, &book, &chapter, "Some words here.", false).await;
        chapters.push(added["index_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        publish(app, who, &book).await.status(),
        StatusCode::NO_CONTENT
    );
    (book, chapters)
}

/// Reloads `path` every 100 ms until it contains `text` (at most 5 s: progress is written in
/// the background).
async fn shows_within_five_seconds(app: &TestApp, who: As<'_>, path: &str, text: &str) -> String {
    let started = Instant::now();
    loop {
        let body = page(app, who, path).await;
        if body.contains(text) {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{path}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn reader(app: &TestApp, username: &str) -> Signed {
    app.create_user(username, "reader").await;
    app.sign_in(username).await
}

#[tokio::test]
async fn the_shelf_sends_signed_out_visitors_to_sign_in_first() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(format!("{}/shelf", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login?next=/shelf");
    let reader = reader(&app, "shelver").await;
    let body = page(&app, reader.cookie(), "/shelf").await;
    assert!(body.contains("Your shelf is empty"), "{body}");
    assert!(
        body.contains(r#"<a href="/shelf">Shelf</a>"#),
        "linked in the navigation"
    );
}

#[tokio::test]
async fn a_hostile_book_and_chapter_name_are_escaped_on_the_shelf_and_in_my_history() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    let (book, chapters) = published(&app, writer.bearer(), HOSTILE).await;
    let reader = reader(&app, "fan").await;
    let put = format!("/api/me/shelf/{book}");
    let added = app.request(Method::PUT, &put, reader.bearer(), None).await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);

    let shelf = page(&app, reader.cookie(), "/shelf").await;
    assert!(shelf.contains(&format!("{ESCAPED}</a>")), "{shelf}");
    assert!(shelf.contains(">Start reading</a>"), "never read: {shelf}");
    assert!(shelf.contains(">2 unread</span>"), "{shelf}");
    assert!(shelf.contains(&format!(r#"data-action="unshelve" data-book-id="{book}""#)));

    let read = format!("/api/books/{book}/chapters/{}", chapters[0]);
    assert_eq!(
        app.get_as(reader.bearer(), &read).await.status(),
        StatusCode::OK
    );
    let shelf = shows_within_five_seconds(&app, reader.cookie(), "/shelf", "Continue:").await;
    let continues = format!(
        r#"href="/book/{book}/{}">Continue: {ESCAPED} one</a>"#,
        chapters[0]
    );
    assert!(shelf.contains(&continues), "{shelf}");
    assert!(shelf.contains(">1 unread</span>"), "{shelf}");
    let me = page(&app, reader.cookie(), "/me").await;
    assert!(me.contains(&format!("{ESCAPED} one</a>")), "{me}");
    assert!(
        me.contains(&format!(r#"<tr data-book-id="{book}">"#)),
        "{me}"
    );
    for body in [&shelf, &me] {
        assert!(!body.contains(HOSTILE));
    }
}

#[tokio::test]
async fn the_reading_page_offers_the_shelf_to_a_signed_in_reader_until_the_book_is_on_it() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    let (book, chapters) = published(&app, writer.bearer(), "Shelved Tale").await;
    let draft = new_book(&app, writer.bearer(), "Draft Tale").await;
    let draft_chapter = add_chapter(&app, writer.bearer(), &draft, "D1", "Words.", false).await;
    let reader = reader(&app, "fan").await;
    let path = format!("/book/{book}/{}", chapters[1]);
    let button = format!(r#"data-action="shelve" data-book-id="{book}""#);

    let body = page(&app, reader.cookie(), &path).await;
    assert!(
        body.contains(&button) && !body.contains("On your shelf"),
        "{body}"
    );
    let put = format!("/api/me/shelf/{book}");
    let added = app.request(Method::PUT, &put, reader.bearer(), None).await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let body = page(&app, reader.cookie(), &path).await;
    assert!(
        !body.contains(&button) && body.contains("On your shelf"),
        "{body}"
    );

    let body = page(&app, As::Anonymous, &path).await;
    assert!(
        !body.contains("data-action=\"shelve\""),
        "signed out: {body}"
    );
    let own_draft = format!(
        "/book/{draft}/{}",
        draft_chapter["index_id"].as_str().unwrap()
    );
    let body = page(&app, writer.cookie(), &own_draft).await;
    assert!(!body.contains("data-action=\"shelve\""), "a draft: {body}");
}

#[tokio::test]
async fn the_author_desk_shows_my_books_escaped_and_never_another_authors() {
    let app = spawn_app().await;
    let mine = author(&app, "mine").await;
    let (book, chapters) = published(&app, mine.bearer(), HOSTILE).await;
    let patch = json!({ "description": format!("{HOSTILE} described") });
    let path = format!("/api/author/books/{book}");
    let edited = app
        .request(Method::PATCH, &path, mine.bearer(), Some(patch))
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let other = author(&app, "other").await;
    let (theirs, _) = published(&app, other.bearer(), "Their Secret Book").await;

    let desk = page(&app, mine.cookie(), "/author").await;
    assert!(desk.contains(&format!(r#"data-action="edit-book" data-book-id="{book}""#)));
    assert!(
        desk.contains(&format!("{ESCAPED} described</textarea>")),
        "{desk}"
    );
    assert!(
        desk.contains(&format!(r#"value="{ESCAPED} one""#)),
        "{desk}"
    );
    assert!(desk.contains(&format!(r#"data-index-id="{}""#, chapters[1])));
    assert!(!desk.contains(HOSTILE), "{desk}");
    assert!(!desk.contains("Their Secret Book") && !desk.contains(&theirs));

    let response = app
        .get_as(mine.cookie(), &format!("/author?book={theirs}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(!response.text().await.unwrap().contains("Their Secret Book"));
    let theirs_desk = page(&app, other.cookie(), &format!("/author?book={theirs}")).await;
    assert!(theirs_desk.contains("Their Secret Book"));
    assert!(!theirs_desk.contains(&book) && !theirs_desk.contains("described"));
}
