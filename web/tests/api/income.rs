use chrono::{Days, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::WorkerProcess;

use crate::authors::{add_chapter, author, delete_chapter, new_book, publish};
use crate::helpers::{As, Signed, TestApp, expect_error, json, spawn_app};
use crate::money::code;

/// A published book of `chapters` VIP chapters of 3000 characters (15 coins each).
async fn vip_book(app: &TestApp, writer: &Signed, chapters: usize) -> (String, Vec<String>) {
    let book = new_book(app, writer.bearer(), "Ledger <of> Days").await;
    let mut ids = Vec::new();
    for n in 0..chapters {
        let chapter = add_chapter(
            app,
            writer.bearer(),
            &book,
            &format!("Chapter {n}"),
            &"字".repeat(3000),
            true,
        )
        .await;
        ids.push(chapter["index_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        publish(app, writer.bearer(), &book).await.status(),
        StatusCode::NO_CONTENT
    );
    (book, ids)
}

async fn rollup(app: &TestApp, admin: As<'_>, body: Value) -> Value {
    let response = app
        .request(Method::POST, "/api/admin/income/rollup", admin, Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job = json(response).await["job_id"].as_str().unwrap().to_owned();
    app.outcome(admin, &job).await
}

/// `admin` deletes `chapter` (the reader's newest purchase) and sweeps: the reader is refunded.
async fn refund_by_deletion(
    app: &TestApp,
    admin: &Signed,
    book: &str,
    chapter: &str,
    reader: &Signed,
) {
    let deleted = delete_chapter(app, admin.bearer(), book, chapter).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let sweep = app.sweep(admin.bearer()).await;
    assert_eq!(
        code(&app.outcome(admin.bearer(), &sweep).await),
        "succeeded"
    );
    app.wait_refunded(reader.bearer()).await;
}

fn day(offset_back: u64) -> String {
    (Utc::now().date_naive() - Days::new(offset_back)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn income_counts_a_sale_on_its_day_and_a_refund_on_its_own_and_a_rerun_writes_the_same() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let writer = author(&app, "writer").await;
    let (book, chapters) = vip_book(&app, &writer, 3).await;
    let reader = app.reader_with_coins("reader", 100).await;
    for chapter in &chapters[..2] {
        assert_eq!(
            code(&app.buy_and_wait(reader.bearer(), chapter).await),
            "succeeded"
        );
    }
    // The first sale happened yesterday.
    sqlx::query(
        "UPDATE user_buy_record SET create_time = create_time - INTERVAL 1 DAY
         WHERE book_index_id = ?",
    )
    .bind(chapters[0].parse::<i64>().unwrap())
    .execute(&app.state.db.main)
    .await
    .unwrap();
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    refund_by_deletion(&app, &admin, &book, &chapters[1], &reader).await;

    // Two rollups at once are serialised; each rewrites the same rows.
    let range = json!({ "from": day(1), "to": day(0) });
    let (a, b) = futures::join!(
        rollup(&app, admin.bearer(), range.clone()),
        rollup(&app, admin.bearer(), range.clone())
    );
    assert_eq!((code(&a), code(&b)), ("succeeded", "succeeded"), "{a} {b}");
    let path = format!("/api/author/income?from={}&to={}", day(1), day(0));
    let by_day = json(app.get_as(writer.bearer(), &path).await).await;
    let figures = |item: &Value| {
        ["sales", "coins", "refunds", "refunded_coins", "net_coins"]
            .map(|k| item[k].as_i64().unwrap())
    };
    let items = by_day["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{by_day}");
    assert_eq!(items[0]["period"], day(1));
    assert_eq!(items[0]["book_id"], book.as_str());
    assert_eq!(items[0]["book_name"], "Ledger <of> Days");
    assert_eq!(figures(&items[0]), [1, 15, 0, 0, 15]);
    assert_eq!(items[1]["period"], day(0));
    assert_eq!(figures(&items[1]), [1, 15, 1, 15, 0]);
    assert_eq!(figures(&by_day["totals"]), [2, 30, 1, 15, 15]);

    let again = rollup(&app, admin.bearer(), range).await;
    assert_eq!(code(&again), "succeeded");
    assert_eq!(json(app.get_as(writer.bearer(), &path).await).await, by_day);

    let by_month = json(
        app.get_as(writer.bearer(), &format!("{path}&by=month"))
            .await,
    )
    .await;
    let months: std::collections::BTreeSet<String> =
        [day(1), day(0)].iter().map(|d| d[..7].to_owned()).collect();
    assert_eq!(by_month["items"].as_array().unwrap().len(), months.len());
    assert_eq!(by_month["items"][0]["period"], *months.first().unwrap());
    assert_eq!(by_month["totals"], by_day["totals"]);

    let one_book = json(
        app.get_as(writer.bearer(), &format!("{path}&book_id={book}"))
            .await,
    )
    .await;
    assert_eq!(one_book["totals"], by_day["totals"]);

    let stats_path = format!("/api/admin/stats?from={}&to={}", day(1), day(0));
    let stats = json(app.get_as(admin.bearer(), &stats_path).await).await;
    let days = stats["items"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{stats}");
    assert_eq!(days[1]["date"], day(0));
    assert_eq!(
        (&days[0]["coins_spent"], &days[0]["coins_refunded"]),
        (&json!(15), &json!(0))
    );
    assert_eq!(
        (&days[1]["coins_spent"], &days[1]["coins_refunded"]),
        (&json!(15), &json!(15))
    );
    // writer, reader, the reader's crediting admin and boss opened their accounts today.
    assert_eq!(days[1]["new_users"], 4);
    assert_eq!(
        (&days[1]["orders_paid"], &days[1]["coins_credited"]),
        (&json!(0), &json!(0))
    );
}

#[tokio::test]
async fn income_is_for_authors_of_their_own_books_over_a_bounded_range() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    let other = author(&app, "other").await;
    let book = new_book(&app, writer.bearer(), "Mine").await;
    let reader = app.reader_with_coins("reader", 1).await;
    let forbidden = app.get_as(reader.bearer(), "/api/author/income").await;
    expect_error(forbidden, StatusCode::FORBIDDEN, "forbidden").await;
    let stats = app.get_as(writer.bearer(), "/api/admin/stats").await;
    expect_error(stats, StatusCode::FORBIDDEN, "forbidden").await;
    let not_mine = format!("/api/author/income?book_id={book}");
    let response = app.get_as(other.bearer(), &not_mine).await;
    expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    for query in [
        "from=2024-01-01&to=2025-01-01",
        "from=2026-12-02&to=2026-12-01",
        "from=2026-1-01",
        "to=2026-02-30",
        "by=week",
        "book_id=abc",
    ] {
        let response = app
            .get_as(writer.bearer(), &format!("/api/author/income?{query}"))
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Without a range: the 30 days up to today, empty for a book nobody bought.
    let empty = json(app.get_as(writer.bearer(), "/api/author/income").await).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["totals"]["net_coins"], 0);
    let month = json(
        app.get_as(
            writer.bearer(),
            "/api/author/income?from=2024-01-01&to=2024-12-31",
        )
        .await,
    )
    .await;
    assert_eq!(month["items"], json!([]));
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let stats = json(app.get_as(admin.bearer(), "/api/admin/stats").await).await;
    assert_eq!(stats["items"].as_array().unwrap().len(), 30);
    let bad = app
        .request(
            Method::POST,
            "/api/admin/income/rollup",
            admin.bearer(),
            Some(json!({ "since": "x" })),
        )
        .await;
    expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
    let positional = app
        .request(
            Method::POST,
            "/api/admin/income/rollup",
            admin.bearer(),
            Some(json!([null, null])),
        )
        .await;
    expect_error(positional, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn sales(app: &TestApp, book: &str) -> i64 {
    sqlx::query_scalar("SELECT sales FROM book WHERE id = ?")
        .bind(book.parse::<i64>().unwrap())
        .fetch_one(&app.state.db.main)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn book_sales_are_the_chapters_sold_less_refunds_as_of_the_last_rollup() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let writer = author(&app, "writer").await;
    let (book, chapters) = vip_book(&app, &writer, 3).await;
    let reader = app.reader_with_coins("reader", 100).await;
    for chapter in &chapters {
        assert_eq!(
            code(&app.buy_and_wait(reader.bearer(), chapter).await),
            "succeeded"
        );
    }
    assert_eq!(sales(&app, &book).await, 0, "never bumped by a purchase");
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let today = json!({ "from": day(0), "to": day(0) });
    assert_eq!(
        code(&rollup(&app, admin.bearer(), today.clone()).await),
        "succeeded"
    );
    assert_eq!(sales(&app, &book).await, 3);

    refund_by_deletion(&app, &admin, &book, &chapters[2], &reader).await;
    assert_eq!(
        code(&rollup(&app, admin.bearer(), today).await),
        "succeeded"
    );
    assert_eq!(sales(&app, &book).await, 2);
}
