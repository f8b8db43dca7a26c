//! Visits: a chapter read counts once per book per reader (or IP) per window, crawlers never,
//! and the counts gather in Redis for `visit_flush`.

use std::time::{Duration, Instant};

use jobs::ids::BookId;

use crate::helpers::{As, TestApp, spawn_app};
use crate::shelf::{BROWSER, free_book, read};

/// The book's count waiting in Redis.
async fn pending(app: &TestApp, book_id: BookId) -> i64 {
    let prefix = &app.state.settings.redis.prefix;
    let key = jobs::keys::visits_pending(prefix, jobs::keys::visit_shard(book_id));
    let count: Option<i64> = redis::cmd("HGET")
        .arg(key)
        .arg(book_id.to_string())
        .query_async(&mut app.state.redis.clone())
        .await
        .unwrap();
    count.unwrap_or(0)
}

/// Waits (up to 2 s: counting runs beside the read) for `expected`, then checks it stays.
async fn expect_pending(app: &TestApp, book_id: BookId, expected: i64) {
    let started = Instant::now();
    while pending(app, book_id).await != expected && started.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pending(app, book_id).await, expected);
}

fn counted_visits(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("novel_visits_total "))
        .map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn a_reader_counts_once_per_book_per_window_and_another_reader_or_address_again() {
    let app = spawn_app().await;
    app.create_user("first", "reader").await;
    app.create_user("second", "reader").await;
    let first = app.sign_in("first").await;
    let second = app.sign_in("second").await;
    let (book, chapters) = free_book(&app, 2).await;
    let (other_book, other_chapters) = free_book(&app, 1).await;
    let before = counted_visits(&app.metrics().await);
    for chapter in [chapters[0], chapters[1], chapters[0]] {
        read(&app, first.bearer(), Some(BROWSER), book, chapter).await;
    }
    expect_pending(&app, book, 1).await;
    read(&app, second.bearer(), Some(BROWSER), book, chapters[1]).await;
    expect_pending(&app, book, 2).await;
    // Signed out, the address is the reader: twice from 127.0.0.1 counts once.
    for _ in 0..2 {
        read(&app, As::Anonymous, Some(BROWSER), book, chapters[0]).await;
    }
    expect_pending(&app, book, 3).await;
    read(
        &app,
        first.bearer(),
        Some(BROWSER),
        other_book,
        other_chapters[0],
    )
    .await;
    expect_pending(&app, other_book, 1).await;
    assert_eq!(counted_visits(&app.metrics().await) - before, 4);
}

#[tokio::test]
async fn crawlers_and_requests_without_a_user_agent_are_served_but_not_counted() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (book, chapters) = free_book(&app, 1).await;
    let crawlers = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0",
    ];
    for agent in crawlers {
        read(&app, As::Anonymous, Some(agent), book, chapters[0]).await;
        read(&app, reader.bearer(), Some(agent), book, chapters[0]).await;
    }
    read(&app, As::Anonymous, None, book, chapters[0]).await;
    expect_pending(&app, book, 0).await;
    read(&app, As::Anonymous, Some(BROWSER), book, chapters[0]).await;
    expect_pending(&app, book, 1).await;
}

#[tokio::test]
async fn a_read_that_fails_counts_no_visit() {
    let app = spawn_app().await;
    let (book, chapters) = free_book(&app, 1).await;
    let (other, _) = free_book(&app, 1).await;
    let path = format!("{}/api/books/{other}/chapters/{}", app.address, chapters[0]);
    let response = app
        .plain
        .get(path)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    expect_pending(&app, other, 0).await;
    expect_pending(&app, book, 0).await;
}

#[tokio::test]
async fn an_authors_own_reads_reads_another_site_embeds_and_draft_reads_count_no_visit() {
    let app = spawn_app().await;
    let (book, chapters) = free_book(&app, 1).await;
    let author_id = crate::library::fixture_author(&app, "writer").await;
    sqlx::query("UPDATE book SET author_id = ? WHERE id = ?")
        .bind(author_id)
        .bind(book)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let author = app.sign_in("writer").await;
    read(&app, author.bearer(), Some(BROWSER), book, chapters[0]).await;
    expect_pending(&app, book, 0).await;

    // An <img> or fetch on another site's page pointing at a chapter: served, not counted.
    let path = format!("{}/api/books/{book}/chapters/{}", app.address, chapters[0]);
    let embedded = |mode: &'static str| {
        app.plain
            .get(&path)
            .header("user-agent", BROWSER)
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", mode)
    };
    let response = embedded("no-cors").send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    expect_pending(&app, book, 0).await;
    // A link followed from another site is a reader arriving: counted.
    let response = embedded("navigate").send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    expect_pending(&app, book, 1).await;

    sqlx::query("UPDATE book SET status = 0 WHERE id = ?")
        .bind(book)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    app.create_user("boss", "admin").await;
    let admin = app.sign_in("boss").await;
    read(&app, admin.bearer(), Some(BROWSER), book, chapters[0]).await;
    expect_pending(&app, book, 1).await;
}
