use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{As, TestApp, expect_error, json, spawn_app};
use jobs::ids::{BookId, ChapterId, EntityId};

async fn books(app: &TestApp, query: &str) -> Value {
    json(app.get(&format!("/api/books{query}")).await).await
}

async fn first_book(app: &TestApp) -> Value {
    let list = books(app, "?q=Jade").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    json(app.get(&format!("/api/books/{id}")).await).await
}

#[tokio::test]
async fn the_catalog_lists_published_demo_books_newest_update_first() {
    let app = spawn_app().await;
    app.load_demo().await;
    let list = books(&app, "").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["book_name"].as_str().unwrap())
        .collect();
    assert_eq!(list["total"], 34, "{list}");
    assert!(
        !names.contains(&"The Unfinished Draft"),
        "drafts stay hidden: {names:?}"
    );
    let times: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["last_index_update_time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let book = &list["items"][0];
    assert!(
        book["id"].is_string()
            && book["author_id"].is_string()
            && book["last_index_id"].is_string()
    );
    assert!(times[0].ends_with('Z') && times[0].len() == "2026-11-25T15:03:31.123Z".len());
}

#[tokio::test]
async fn search_matches_book_names_and_pen_names_and_pages() {
    let app = spawn_app().await;
    app.load_demo().await;
    assert_eq!(books(&app, "?q=Jade").await["total"], 1);
    assert_eq!(books(&app, "?q=Ink%20River").await["total"], 2);
    assert_eq!(
        books(&app, "?q=%25").await["total"],
        0,
        "% is taken literally"
    );
    // 34 published books: the twelfth page of three holds the last one.
    let page = books(&app, "?page=12&size=3").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (page["page"].as_u64(), page["size"].as_u64()),
        (Some(12), Some(3))
    );
}

#[tokio::test]
async fn a_book_lists_its_chapters_in_order_with_prices() {
    let app = spawn_app().await;
    app.load_demo().await;
    let book = first_book(&app).await;
    let chapters = book["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 6);
    for (n, chapter) in chapters.iter().enumerate() {
        assert_eq!(chapter["index_num"], n as u64 + 1);
        let vip = chapter["is_vip"].as_bool().unwrap();
        assert_eq!(vip, n >= 3);
        assert_eq!(chapter["price"].as_i64().unwrap() > 0, vip);
        assert_eq!(chapter["owned"], false);
    }
}

#[tokio::test]
async fn a_free_chapter_is_read_from_its_content_shard() {
    let app = spawn_app().await;
    app.load_demo().await;
    let book = first_book(&app).await;
    let (book_id, chapter) = (book["id"].as_str().unwrap(), &book["chapters"][0]);
    let index_id = chapter["id"].as_str().unwrap();
    let read = json(
        app.get(&format!("/api/books/{book_id}/chapters/{index_id}"))
            .await,
    )
    .await;
    assert!(
        read["content"]
            .as_str()
            .unwrap()
            .contains("chapter 1 of The Jade Pavilion")
    );
    let (book_id, index_id): (BookId, ChapterId) =
        (book_id.parse().unwrap(), index_id.parse().unwrap());
    let shard_db = format!("novel_test_ds{}", book_id.raw() % 10);
    let table = format!("book_content{}", index_id.raw() % 10);
    let (pool, shard) = app.state.db.content(book_id, index_id);
    assert_eq!(shard.table, table);
    let db_name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(db_name, shard_db);
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE index_id = ?");
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(index_id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_vip_chapter_asks_signed_out_readers_to_sign_in() {
    let app = spawn_app().await;
    app.load_demo().await;
    let book = first_book(&app).await;
    let (book_id, index_id) = (
        book["id"].as_str().unwrap(),
        book["chapters"][4]["id"].as_str().unwrap(),
    );
    let response = app
        .get(&format!("/api/books/{book_id}/chapters/{index_id}"))
        .await;
    expect_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn drafts_are_not_found_for_the_public() {
    let app = spawn_app().await;
    app.load_demo().await;
    let draft: i64 = sqlx::query_scalar("SELECT id FROM book WHERE status = 0")
        .fetch_one(&app.state.db.main)
        .await
        .unwrap();
    expect_error(
        app.get(&format!("/api/books/{draft}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_and_unknown_ids_get_400_and_404_in_the_error_shape() {
    let app = spawn_app().await;
    app.load_demo().await;
    let book = first_book(&app).await;
    let book_id = book["id"].as_str().unwrap();
    for path in [
        "/api/books/abc",
        "/api/books/1.5",
        "/api/books/99999999999999999999",
        &format!("/api/books/{book_id}/chapters/x"),
    ] {
        expect_error(
            app.get(path).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    for path in [
        "/api/books/12345",
        "/api/books/-7",
        &format!("/api/books/{book_id}/chapters/42"),
        "/api/books/1/chapters/1",
    ] {
        expect_error(app.get(path).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    for query in ["?page=0", "?size=101", "?size=abc", "?page=-1"] {
        expect_error(
            app.get(&format!("/api/books{query}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn a_signed_in_reader_must_buy_a_vip_chapter_and_sees_owned_marks() {
    let app = spawn_app().await;
    app.load_demo().await;
    let book = first_book(&app).await;
    let (book_id, vip) = (
        book["id"].as_str().unwrap(),
        book["chapters"][4]["id"].as_str().unwrap(),
    );
    let response = app.login("reader", "demo-password", false).await;
    let token = json(response).await["token"].as_str().unwrap().to_owned();
    let path = format!("/api/books/{book_id}/chapters/{vip}");
    let body = expect_error(
        app.get_as(As::Bearer(&token), &path).await,
        StatusCode::PAYMENT_REQUIRED,
        "purchase_required",
    )
    .await;
    assert_eq!(body["price"], book["chapters"][4]["price"]);

    let user_id: i64 = sqlx::query_scalar("SELECT id FROM user WHERE username = 'reader'")
        .fetch_one(&app.state.db.main)
        .await
        .unwrap();
    sqlx::query(
        r"INSERT INTO user_buy_record (id, user_id, book_id, book_name, book_index_id,
                 book_index_name, buy_amount, job_id, create_time)
          VALUES (1, ?, ?, 'b', ?, 'c', 0, 'test', NOW(3))",
    )
    .bind(user_id)
    .bind(book_id.parse::<i64>().unwrap())
    .bind(vip.parse::<i64>().unwrap())
    .execute(&app.state.db.main)
    .await
    .unwrap();
    let read = json(app.get_as(As::Bearer(&token), &path).await).await;
    assert!(!read["content"].as_str().unwrap().is_empty());
    let detail = json(
        app.get_as(As::Bearer(&token), &format!("/api/books/{book_id}"))
            .await,
    )
    .await;
    assert_eq!(detail["chapters"][4]["owned"], true);
    assert_eq!(detail["chapters"][3]["owned"], false);
}

#[tokio::test]
async fn an_author_sees_their_own_draft() {
    let app = spawn_app().await;
    app.load_demo().await;
    let draft: i64 = sqlx::query_scalar("SELECT id FROM book WHERE status = 0")
        .fetch_one(&app.state.db.main)
        .await
        .unwrap();
    let owner: String = sqlx::query_scalar(
        "SELECT u.username FROM book b JOIN author a ON a.id = b.author_id JOIN user u ON u.id = a.user_id WHERE b.id = ?",
    )
    .bind(draft)
    .fetch_one(&app.state.db.main)
    .await
    .unwrap();
    let response = app.login(&owner, "demo-password", false).await;
    let token = json(response).await["token"].as_str().unwrap().to_owned();
    let shown = json(
        app.get_as(As::Bearer(&token), &format!("/api/books/{draft}"))
            .await,
    )
    .await;
    assert_eq!(shown["book_name"], "The Unfinished Draft");
}
