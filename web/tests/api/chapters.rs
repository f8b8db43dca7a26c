//! Editing a chapter (`PATCH …/chapters/{index_id}`) and buying at the price the reader saw.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use testkit::WorkerProcess;

use crate::authors::{add_chapter, author, new_book, publish};
use crate::helpers::{As, Signed, TestApp, expect_error, json, spawn_app};
use crate::money::code;

async fn edit(app: &TestApp, who: As<'_>, book: &str, chapter: &str, body: Value) -> Response {
    let path = format!("/api/author/books/{book}/chapters/{chapter}");
    app.request(Method::PATCH, &path, who, Some(body)).await
}

/// A published book by `writer` with one VIP chapter of 1000 characters (5 coins).
async fn vip_chapter(app: &TestApp, writer: &Signed) -> (String, String) {
    let book = new_book(app, writer.bearer(), "Edited").await;
    let added = add_chapter(app, writer.bearer(), &book, "One", &"字".repeat(1000), true).await;
    assert_eq!(added["price"], 5);
    assert_eq!(
        publish(app, writer.bearer(), &book).await.status(),
        StatusCode::NO_CONTENT
    );
    (book, added["index_id"].as_str().unwrap().to_owned())
}

async fn book(app: &TestApp, id: &str) -> Value {
    json(app.get(&format!("/api/books/{id}")).await).await
}

async fn balance(app: &TestApp, who: As<'_>) -> i64 {
    json(app.me(who).await).await["balance"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_chapter_is_priced_by_its_new_word_count_and_its_owners_keep_reading_it() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let writer = author(&app, "writer").await;
    let (book_id, chapter) = vip_chapter(&app, &writer).await;
    let owner = app.reader_with_coins("owner", 100).await;
    assert_eq!(
        code(&app.buy_and_wait(owner.bearer(), &chapter).await),
        "succeeded"
    );

    let body = json!({ "index_name": "One, revised", "content": "字".repeat(3000) });
    let edited = json(edit(&app, writer.bearer(), &book_id, &chapter, body).await).await;
    assert_eq!(edited, json!({ "index_id": chapter, "price": 15 }));
    let shown = book(&app, &book_id).await;
    assert_eq!(shown["word_count"], 3000);
    assert_eq!(shown["chapters"][0]["index_name"], "One, revised");
    assert_eq!(shown["chapters"][0]["price"], 15);
    let listed = json(app.get("/api/books").await).await;
    assert_eq!(listed["items"][0]["last_index_name"], "One, revised");

    let path = format!("/api/books/{book_id}/chapters/{chapter}");
    let read = json(app.get_as(owner.bearer(), &path).await).await;
    assert_eq!(read["content"].as_str().unwrap().chars().count(), 3000);
    assert_eq!(
        balance(&app, owner.bearer()).await,
        95,
        "nothing charged or refunded"
    );
    let newcomer = app.reader_with_coins("newcomer", 100).await;
    let refused = expect_error(
        app.get_as(newcomer.bearer(), &path).await,
        StatusCode::PAYMENT_REQUIRED,
        "purchase_required",
    )
    .await;
    assert_eq!(refused["price"], 15);

    let free = json(
        edit(
            &app,
            writer.bearer(),
            &book_id,
            &chapter,
            json!({ "is_vip": false }),
        )
        .await,
    )
    .await;
    assert_eq!(free["price"], 0);
    assert_eq!(
        json(app.get(&path).await).await["is_vip"],
        false,
        "anyone reads it now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purchase_at_the_price_seen_before_an_edit_fails_price_changed_and_charges_nothing() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    let writer = author(&app, "writer").await;
    let (book_id, chapter) = vip_chapter(&app, &writer).await;
    let second = add_chapter(
        &app,
        writer.bearer(),
        &book_id,
        "Two",
        &"字".repeat(1000),
        true,
    )
    .await;
    let second = second["index_id"].as_str().unwrap().to_owned();
    let reader = app.reader_with_coins("reader", 100).await;
    let body = json!({ "content": "字".repeat(3000) });
    assert_eq!(
        edit(&app, writer.bearer(), &book_id, &chapter, body)
            .await
            .status(),
        StatusCode::OK
    );

    let stale = json!({ "index_id": chapter, "max_price": 5 });
    let job = app
        .request(Method::POST, "/api/purchases", reader.bearer(), Some(stale))
        .await;
    let job_id = json(job).await["job_id"].as_str().unwrap().to_owned();
    let failed = app.outcome(reader.bearer(), &job_id).await;
    assert_eq!(code(&failed), "price_changed", "{failed}");
    assert_eq!(balance(&app, reader.bearer()).await, 100);
    assert_eq!(app.my_purchases(reader.bearer()).await["total"], 0);

    let batch = json!({ "index_ids": [chapter, second], "max_total": 19 });
    let job = app
        .request(
            Method::POST,
            "/api/purchases/batch",
            reader.bearer(),
            Some(batch),
        )
        .await;
    let job_id = json(job).await["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        code(&app.outcome(reader.bearer(), &job_id).await),
        "price_changed"
    );
    assert_eq!(balance(&app, reader.bearer()).await, 100);

    let seen = json!({ "index_id": chapter, "max_price": 15 });
    let job = app
        .request(Method::POST, "/api/purchases", reader.bearer(), Some(seen))
        .await;
    let job_id = json(job).await["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        code(&app.outcome(reader.bearer(), &job_id).await),
        "succeeded"
    );
    assert_eq!(balance(&app, reader.bearer()).await, 85);
}

#[tokio::test]
async fn a_stranger_may_not_edit_a_chapter_and_bad_edits_change_nothing() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    let rival = author(&app, "rival").await;
    let (book_id, chapter) = vip_chapter(&app, &writer).await;
    let elsewhere = new_book(&app, writer.bearer(), "Elsewhere").await;
    let rename = json!({ "index_name": "Stolen" });
    expect_error(
        edit(&app, rival.bearer(), &book_id, &chapter, rename.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        edit(
            &app,
            rival.bearer(),
            &book_id,
            &chapter,
            json!({ "bogus": 1 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        edit(&app, As::Anonymous, &book_id, &chapter, rename.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let bad = [
        json!({}),
        json!({ "index_name": null }),
        json!({ "index_name": "   " }),
        json!({ "index_name": "x".repeat(101) }),
        json!({ "content": " \n " }),
        json!({ "content": "字".repeat(200_001) }),
        json!({ "is_vip": "yes" }),
        json!({ "index_name": "Fine", "price": 0 }),
    ];
    for body in bad {
        let response = edit(&app, writer.bearer(), &book_id, &chapter, body.clone()).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // A chapter of another book, or none at all: 404, and nothing written anywhere.
    expect_error(
        edit(&app, writer.bearer(), &elsewhere, &chapter, rename.clone()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        edit(&app, writer.bearer(), &book_id, "42", rename).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let shown = book(&app, &book_id).await;
    assert_eq!(shown["chapters"][0]["index_name"], "One");
    assert_eq!(shown["chapters"][0]["price"], 5);
    assert_eq!(shown["word_count"], 1000);
}

#[tokio::test]
async fn a_negative_or_non_integer_price_seen_is_refused_with_400() {
    let app = spawn_app().await;
    let reader = app.reader_with_coins("reader", 10).await;
    let bodies = [
        (
            "/api/purchases",
            json!({ "index_id": "1", "max_price": -1 }),
        ),
        (
            "/api/purchases",
            json!({ "index_id": "1", "max_price": 1.5 }),
        ),
        (
            "/api/purchases",
            json!({ "index_id": "1", "max_price": "5" }),
        ),
        (
            "/api/purchases/batch",
            json!({ "index_ids": ["1"], "max_total": -3 }),
        ),
    ];
    for (path, body) in bodies {
        let response = app
            .request(Method::POST, path, reader.bearer(), Some(body))
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}
