//! The discovery pages: the home page's sections, `/books` (the API's filters as a form),
//! `/category/{id}`, `/rank/{kind}` and the book page: what they show, escaping, 400 and 404.

use reqwest::{Method, StatusCode, header};

use crate::helpers::{TestApp, json, spawn_app};
use crate::library::{Spec, fixture_author, fixture_book};
use jobs::ids::{BookId, ChapterId, UserId};

async fn page(app: &TestApp, path: &str, status: StatusCode) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), status, "{path}");
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "{path}: {content_type}"
    );
    response.text().await.unwrap()
}

/// The books of a page (`data-book-id` of its cards and ranking rows) in order, inside the
/// element that starts at `from` (the whole page when empty).
fn book_ids(html: &str, from: &str) -> Vec<String> {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("{from} in {html}"));
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |e| start + e);
    html[start..end]
        .split(r#"data-book-id=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// Three books in category 2 and one in 3: `Busy` most read, `Seller` best selling, `Long` most
/// words, `Fresh` newest and finished.
async fn catalog(app: &TestApp) -> [BookId; 4] {
    let author = fixture_author(app, "shelver").await;
    let busy = Spec {
        visits: 900,
        category: Some(2),
        ..Spec::new("Busy")
    };
    let seller = Spec {
        sales: 70,
        category: Some(2),
        vip: true,
        ..Spec::new("Seller")
    };
    let long = Spec {
        words: 500_000,
        category: Some(2),
        updated_days_ago: 40,
        ..Spec::new("Long")
    };
    let fresh = Spec {
        created_days_ago: 0,
        category: Some(3),
        finished: true,
        ..Spec::new("Fresh")
    };
    let mut ids = Vec::new();
    for spec in [busy, seller, long, fresh] {
        ids.push(fixture_book(app, author, &spec).await);
    }
    ids.try_into().unwrap()
}

#[tokio::test]
async fn the_home_page_shows_the_rankings_the_newest_the_updated_and_the_categories() {
    let app = spawn_app().await;
    let [busy, seller, _, fresh] = catalog(&app).await;
    let html = page(&app, "/", StatusCode::OK).await;
    assert_eq!(
        book_ids(&html, r#"id="section-visits""#)[0],
        busy.to_string()
    );
    assert_eq!(
        book_ids(&html, r#"id="section-sales""#)[0],
        seller.to_string()
    );
    assert_eq!(book_ids(&html, r#"id="section-new""#)[0], fresh.to_string());
    assert_eq!(book_ids(&html, r#"id="section-updated""#).len(), 4);
    assert!(html.contains(r#"<a href="/category/2">"#) || html.contains("&#x2f;category&#x2f;2"));
    assert!(
        html.contains("3 books"),
        "category 2 counts its three books"
    );
    let cover = format!("covers&#x2f;book&#x2f;{busy}.svg");
    assert!(html.contains(&cover), "{html}");
    assert!(html.contains(r#"loading="lazy" width="#));
    assert!(html.contains(r#"action="/books""#) || html.contains("action=\"&#x2f;books\""));
}

#[tokio::test]
async fn the_old_home_search_is_sent_to_the_books_page_with_its_query() {
    let app = spawn_app().await;
    let response = app
        .request(
            Method::GET,
            "/?q=jade&page=2",
            crate::helpers::As::Anonymous,
            None,
        )
        .await;
    // The test client follows the redirect: it lands on /books with the same query.
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/books");
    assert_eq!(response.url().query(), Some("q=jade&page=2"));
}

#[tokio::test]
async fn the_books_page_filters_and_sorts_as_the_api_does_and_ignores_blank_fields() {
    let app = spawn_app().await;
    let [busy, seller, long, fresh] = catalog(&app).await;
    let cases = [
        // Ties by id, newest first.
        ("sort=words", vec![long, fresh, seller, busy]),
        ("category_id=2&sort=visits", vec![busy, long, seller]),
        ("vip=true", vec![seller]),
        ("book_status=finished", vec![fresh]),
        ("min_words=100000", vec![long]),
        ("q=sell", vec![seller]),
    ];
    for (query, expected) in cases {
        let html = page(&app, &format!("/books?{query}"), StatusCode::OK).await;
        let expected: Vec<String> = expected.iter().map(ToString::to_string).collect();
        assert_eq!(book_ids(&html, "id=\"found\""), expected, "{query}");
        let api = json(app.get(&format!("/api/books?{query}")).await).await;
        let api: Vec<&str> = api["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        assert_eq!(api, expected, "the API's answer to {query}");
    }
    // A form sends every field: the blank ones filter nothing.
    let blank = "q=&category_id=&book_status=&vip=&min_words=&max_words=&updated_since=&sort=new";
    let html = page(&app, &format!("/books?{blank}"), StatusCode::OK).await;
    assert_eq!(book_ids(&html, "id=\"found\"")[0], fresh.to_string());
    assert!(html.contains(r#"<option value="new" selected>"#), "{html}");
}

#[tokio::test]
async fn bad_filters_are_the_api_s_400_as_a_page_and_unknown_names_404() {
    let app = spawn_app().await;
    let [busy, ..] = catalog(&app).await;
    for (path, says) in [
        ("/books?sort=id;DROP%20TABLE%20book", "sort: one of updated"),
        ("/books?min_words=-1", "min_words"),
        (
            "/books?min_words=5&max_words=1",
            "max_words: not below min_words",
        ),
        ("/books?category_id=abc", "category_id"),
        ("/books?vip=maybe", "vip"),
        ("/books?updated_since=yesterday", "updated_since"),
        ("/books?page=0", "page"),
        ("/category/2?sort=price", "sort"),
        ("/rank/visits?category_id=x", "category_id"),
    ] {
        let html = page(&app, path, StatusCode::BAD_REQUEST).await;
        assert!(
            html.contains("Bad request") && html.contains(says),
            "{path}: {html}"
        );
    }
    let html = page(
        &app,
        &format!("/book/{busy}?page=0"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(html.contains("page"), "{html}");
    for path in [
        "/rank/words",
        "/rank/visits?category_id=999",
        "/category/999",
        "/category/abc",
        "/category/0",
    ] {
        let html = page(&app, path, StatusCode::NOT_FOUND).await;
        assert!(html.contains("Page not found"), "{path}");
    }
}

#[tokio::test]
async fn a_hostile_book_name_and_description_are_escaped_on_every_discovery_page() {
    let app = spawn_app().await;
    let author = fixture_author(&app, "mallory").await;
    let spec = Spec {
        category: Some(3),
        ..Spec::new("<script>alert(1)</script>")
    };
    let book_id = fixture_book(&app, author, &spec).await;
    sqlx::query("UPDATE book SET description = ? WHERE id = ?")
        .bind("<img src=x onerror=alert(2)>\n\n\"quoted\" second")
        .bind(book_id)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    for path in [
        "/".to_owned(),
        "/books".to_owned(),
        "/books?q=script".to_owned(),
        "/category/3".to_owned(),
        "/rank/visits".to_owned(),
        "/rank/new?category_id=3".to_owned(),
        format!("/book/{book_id}"),
    ] {
        let html = page(&app, &path, StatusCode::OK).await;
        assert!(!html.contains("<script>alert(1)"), "{path}");
        assert!(html.contains("&lt;script&gt;alert(1)"), "{path}: {html}");
        assert!(!html.contains("<img src=x"), "{path}");
    }
    let html = page(&app, &format!("/book/{book_id}"), StatusCode::OK).await;
    assert!(
        html.contains("<p>&lt;img src=x onerror=alert(2)&gt;</p>"),
        "{html}"
    );
    assert!(
        html.contains("<p>&quot;quoted&quot; second</p>"),
        "paragraphs"
    );
    let html = page(&app, "/books?q=%3Cscript%3E", StatusCode::OK).await;
    assert!(
        !html.contains("value=\"<script>"),
        "the search echoed escaped"
    );
}

#[tokio::test]
async fn the_book_page_offers_the_shelf_and_where_to_start_or_continue() {
    let app = spawn_app().await;
    let (db, ids) = (&app.state.db, &app.state.ids);
    let (book_id, chapters) = testkit::book(db, ids, &app.state.settings, 3, 3, 10).await;
    let path = format!("/book/{book_id}");

    let html = page(&app, &path, StatusCode::OK).await;
    assert!(html.contains("Sign in to add it to your shelf"), "{html}");
    assert!(
        html.contains(&format!("{}\">Start reading", chapters[0])),
        "{html}"
    );
    assert!(html.contains(r#"id="chapter-count">3<"#));

    let reader = app.reader("shelfie").await;
    let html = page_as(&app, &reader, &path).await;
    assert!(html.contains(&format!(
        r#"data-action="shelve-book" data-book-id="{book_id}""#
    )));
    let added = app
        .request(
            Method::PUT,
            &format!("/api/me/shelf/{book_id}"),
            reader.bearer(),
            None,
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let user_id: UserId = reader.user_id.parse().unwrap();
    let read: ChapterId = chapters[1];
    jobs::shelf::record(
        &db.main,
        &[jobs::shelf::Progress {
            user_id,
            book_id,
            index_id: read,
            read_time: jobs::clock::now(),
        }],
    )
    .await
    .unwrap();
    let html = page_as(&app, &reader, &path).await;
    assert!(html.contains("On your shelf"), "{html}");
    assert!(!html.contains("data-action=\"shelve-book\""));
    assert!(html.contains(&format!("{read}\">Continue: ")), "{html}");
    assert!(!html.contains("Start reading"));
}

async fn page_as(app: &TestApp, who: &crate::client::Signed, path: &str) -> String {
    let response = app.get_as(who.cookie(), path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_book_of_1500_chapters_pages_its_list_by_the_thousand() {
    let app = spawn_app().await;
    let (db, ids) = (&app.state.db, &app.state.ids);
    let (book_id, _) = testkit::book(db, ids, &app.state.settings, 0, 0, 0).await;
    let chapters = testkit::bulk_chapters(db, ids, book_id, 1500, 5).await;
    sqlx::query("UPDATE book SET chapter_count = 1500 WHERE id = ?")
        .bind(book_id)
        .execute(&db.main)
        .await
        .unwrap();
    let html = page(&app, &format!("/book/{book_id}"), StatusCode::OK).await;
    assert!(html.contains("Page 1 of 2") && html.contains("Later chapters"));
    assert!(html.contains("Bulk 1000<") && !html.contains("Bulk 1001<"));
    let html = page(&app, &format!("/book/{book_id}?page=2"), StatusCode::OK).await;
    assert!(html.contains("Bulk 1001<") && html.contains("Bulk 1500<"));
    assert!(!html.contains("Bulk 1000<"));
    assert!(
        html.contains(&format!("{}\">Start reading", chapters[0])),
        "the first chapter from a later page: {html}"
    );
    let html = page(&app, &format!("/book/{book_id}?page=9"), StatusCode::OK).await;
    assert!(html.contains("No chapters on this page"));
}
