use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::WorkerProcess;

use crate::helpers::{As, Signed, TestApp, expect_error, spawn_app};
use crate::money::code;
use jobs::ids::{BookId, ChapterId};

pub(crate) async fn author(app: &TestApp, username: &str) -> Signed {
    app.create_user(username, "reader").await;
    let signed = app.sign_in(username).await;
    assert_eq!(
        app.become_author(signed.bearer(), &format!("Pen {username}"))
            .await
            .status(),
        StatusCode::CREATED
    );
    signed
}

pub(crate) async fn new_book(app: &TestApp, who: As<'_>, name: &str) -> String {
    let response = app
        .request(
            Method::POST,
            "/api/author/books",
            who,
            Some(json!({ "book_name": name })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["book_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn add_chapter(
    app: &TestApp,
    who: As<'_>,
    book: &str,
    name: &str,
    content: &str,
    vip: bool,
) -> Value {
    let body = json!({ "index_name": name, "content": content, "is_vip": vip });
    let response = app
        .request(
            Method::POST,
            &format!("/api/author/books/{book}/chapters"),
            who,
            Some(body),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

pub(crate) async fn publish(app: &TestApp, who: As<'_>, book: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/author/books/{book}/publish"),
        who,
        None,
    )
    .await
}

pub(crate) async fn delete_chapter(
    app: &TestApp,
    who: As<'_>,
    book: &str,
    chapter: &str,
) -> reqwest::Response {
    app.request(
        Method::DELETE,
        &format!("/api/author/books/{book}/chapters/{chapter}"),
        who,
        None,
    )
    .await
}

#[tokio::test]
async fn an_author_writes_publishes_and_deletes_chapters() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "River Songs").await;
    assert_eq!(
        app.get(&format!("/api/books/{book}")).await.status(),
        StatusCode::NOT_FOUND,
        "a draft is hidden"
    );
    let free = add_chapter(&app, writer.bearer(), &book, "One", "短 短 短", false).await;
    assert_eq!(free["price"], 0);
    let vip = add_chapter(
        &app,
        writer.bearer(),
        &book,
        "Two",
        &"字".repeat(3000),
        true,
    )
    .await;
    assert_eq!(vip["price"], 15, "5 coins per 1000 characters");
    let tiny = add_chapter(&app, writer.bearer(), &book, "Three", "abc", true).await;
    assert_eq!(tiny["price"], 1, "a VIP chapter costs at least one coin");
    let mine: Value = app
        .get_as(writer.bearer(), "/api/author/books")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["status"], 0);
    assert_eq!(mine["items"][0]["chapter_count"], 3);
    assert_eq!(mine["items"][0]["word_count"], 3 + 3000 + 3);
    assert_eq!(
        publish(&app, writer.bearer(), &book).await.status(),
        StatusCode::NO_CONTENT
    );
    let shown: Value = app
        .get(&format!("/api/books/{book}"))
        .await
        .json()
        .await
        .unwrap();
    let nums: Vec<i64> = shown["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["index_num"].as_i64().unwrap())
        .collect();
    assert_eq!(nums, vec![1, 2, 3]);
    let listed: Value = app.get("/api/books?q=River").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["last_index_name"], "Three");
    let three = tiny["index_id"].as_str().unwrap();
    assert_eq!(
        delete_chapter(&app, writer.bearer(), &book, three)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let listed: Value = app.get("/api/books?q=River").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["last_index_name"], "Two");
    assert_eq!(listed["items"][0]["word_count"], 3003);
    let (book_id, index_id): (BookId, ChapterId) = (book.parse().unwrap(), three.parse().unwrap());
    assert_eq!(
        jobs::content::read(&app.state.db, book_id, index_id)
            .await
            .unwrap(),
        None,
        "content deleted after the index row"
    );
    expect_error(
        delete_chapter(&app, writer.bearer(), &book, three).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn nobody_but_the_books_author_or_an_admin_may_change_it() {
    let app = spawn_app().await;
    let owner = author(&app, "owner").await;
    let rival = author(&app, "rival").await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let book = new_book(&app, owner.bearer(), "Mine").await;
    let chapter = add_chapter(&app, owner.bearer(), &book, "One", "text", false).await;
    let chapter = chapter["index_id"].as_str().unwrap();
    for who in [rival.bearer(), reader.bearer()] {
        expect_error(
            publish(&app, who, &book).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        expect_error(
            delete_chapter(&app, who, &book, chapter).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let body = json!({ "index_name": "Evil", "content": "x", "is_vip": false });
        let response = app
            .request(
                Method::POST,
                &format!("/api/author/books/{book}/chapters"),
                who,
                Some(body),
            )
            .await;
        expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let mine: Value = app
        .get_as(owner.bearer(), "/api/author/books")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            mine["items"][0]["status"].as_i64(),
            mine["items"][0]["chapter_count"].as_i64()
        ),
        (Some(0), Some(1)),
        "nothing changed"
    );
    expect_error(
        app.get_as(reader.bearer(), "/api/author/books").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    assert_eq!(
        publish(&app, admin.bearer(), &book).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        publish(&app, admin.bearer(), "12345").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_author_input_gets_400() {
    let app = spawn_app().await;
    let writer = author(&app, "writer").await;
    for name in ["", "   ", &"x".repeat(51)] {
        let response = app
            .request(
                Method::POST,
                "/api/author/books",
                writer.bearer(),
                Some(json!({ "book_name": name })),
            )
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let book = new_book(&app, writer.bearer(), "Fine").await;
    let path = format!("/api/author/books/{book}/chapters");
    for body in [
        json!({ "index_name": "", "content": "x", "is_vip": false }),
        json!({ "index_name": "One", "content": "", "is_vip": false }),
        json!({ "index_name": "One", "content": "x", "is_vip": "yes" }),
        json!({ "index_name": "One", "content": "x".repeat(200_001), "is_vip": false }),
    ] {
        let response = app
            .request(Method::POST, &path, writer.bearer(), Some(body))
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_chapter_bought_by_three_readers_is_refunded_once_each_by_two_concurrent_sweeps()
{
    let app = spawn_app().await;
    let _workers = [
        WorkerProcess::spawn(&app.state.settings),
        WorkerProcess::spawn(&app.state.settings),
    ];
    let (book, chapters) = app.book(2, 0).await;
    let mut readers = Vec::new();
    for n in 0..3 {
        let reader = app.reader_with_coins(&format!("reader{n}"), 100).await;
        assert_eq!(
            code(&app.buy_and_wait(reader.bearer(), &chapters[0]).await),
            "succeeded"
        );
        readers.push(reader);
    }
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    assert_eq!(
        delete_chapter(&app, admin.bearer(), &book, &chapters[0])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (first, second) =
        futures::future::join(app.sweep(admin.bearer()), app.sweep(admin.bearer())).await;
    for job in [first, second] {
        let done = app.outcome(admin.bearer(), &job).await;
        assert_eq!(
            (done["kind"].as_str(), done["status"].as_str()),
            (Some("refund_sweep"), Some("succeeded"))
        );
    }
    for reader in &readers {
        app.wait_refunded(reader.bearer()).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for reader in &readers {
        let ledger = app.my_ledger(reader.bearer()).await;
        let refunds: Vec<&Value> = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["reason"] == "refund")
            .collect();
        assert_eq!(refunds.len(), 1, "{ledger}");
        assert_eq!(refunds[0]["delta"], 15);
        assert_eq!(
            app.me(reader.bearer()).await.json::<Value>().await.unwrap()["balance"],
            100
        );
    }
    testkit::assert_books_balance(&app.state.db).await;
}

async fn follow(app: &TestApp, who: As<'_>, author_id: &str, method: Method) -> StatusCode {
    app.request(
        method,
        &format!("/api/authors/{author_id}/follow"),
        who,
        None,
    )
    .await
    .status()
}

#[tokio::test]
async fn the_follow_feed_shows_each_authors_newest_published_book_newest_follow_first() {
    let app = spawn_app().await;
    let mut authors = Vec::new();
    for (n, books) in [(0, 3), (1, 1), (2, 0)] {
        let writer = author(&app, &format!("writer{n}")).await;
        let mut published = None;
        for b in 0..books {
            let book = new_book(&app, writer.bearer(), &format!("Book {n}.{b}")).await;
            if b < 2 {
                publish(&app, writer.bearer(), &book).await;
                published = Some(format!("Book {n}.{b}"));
            }
        }
        let me: Value = app.me(writer.bearer()).await.json().await.unwrap();
        authors.push((me["author_id"].as_str().unwrap().to_owned(), published));
    }
    app.create_user("fan", "reader").await;
    let fan = app.sign_in("fan").await;
    for (author_id, _) in &authors {
        assert_eq!(
            follow(&app, fan.bearer(), author_id, Method::POST).await,
            StatusCode::NO_CONTENT
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        follow(&app, fan.bearer(), &authors[0].0, Method::POST).await,
        StatusCode::NO_CONTENT,
        "idempotent"
    );
    assert_eq!(
        follow(&app, fan.bearer(), "424242", Method::POST).await,
        StatusCode::NOT_FOUND
    );
    let feed: Value = app
        .get_as(fan.bearer(), "/api/me/follows")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["total"], 3);
    let items = feed["items"].as_array().unwrap();
    let order: Vec<&str> = items
        .iter()
        .map(|i| i["author_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            authors[2].0.as_str(),
            authors[1].0.as_str(),
            authors[0].0.as_str()
        ],
        "newest follow first"
    );
    assert_eq!(
        items[2]["book_name"], "Book 0.1",
        "the newest published book, not the newer draft"
    );
    assert_eq!(items[1]["book_name"], "Book 1.0");
    assert!(
        items[0]["book_id"].is_null() && items[0]["book_name"].is_null(),
        "no published book: null fields"
    );
    let page: Value = app
        .get_as(fan.bearer(), "/api/me/follows?page=2&size=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["author_id"], authors[0].0.as_str());
    assert_eq!(
        follow(&app, fan.bearer(), &authors[1].0, Method::DELETE).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        follow(&app, fan.bearer(), &authors[1].0, Method::DELETE).await,
        StatusCode::NO_CONTENT
    );
    let feed: Value = app
        .get_as(fan.bearer(), "/api/me/follows")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["total"], 2);
}

#[tokio::test]
async fn a_chapter_for_a_book_that_is_missing_or_not_yours_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let owner = author(&app, "owner").await;
    let rival = author(&app, "rival").await;
    let book = new_book(&app, owner.bearer(), "Mine").await;
    let bad_bodies = [
        json!({ "index_name": "", "content": "", "is_vip": false }),
        json!({ "index_name": "One" }),
    ];
    for body in bad_bodies {
        for (target, status, code) in [
            (&book, StatusCode::FORBIDDEN, "forbidden"),
            (&"12345".to_owned(), StatusCode::NOT_FOUND, "not_found"),
        ] {
            let response = app
                .request(
                    Method::POST,
                    &format!("/api/author/books/{target}/chapters"),
                    rival.bearer(),
                    Some(body.clone()),
                )
                .await;
            expect_error(response, status, code).await;
        }
        let response = app
            .request(
                Method::POST,
                &format!("/api/author/books/{book}/chapters"),
                owner.bearer(),
                Some(body),
            )
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}
