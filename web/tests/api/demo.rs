use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::helpers::{json, spawn_app};

#[tokio::test]
async fn the_demo_fills_every_category_with_described_books_in_both_languages() {
    let app = spawn_app().await;
    let started = Instant::now();
    app.load_demo().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "the demo loads in {took:?}");
    let pool = &app.state.db.main;
    let per_category: Vec<(i32, i64)> = sqlx::query_as(
        r"SELECT category_id, COUNT(*) FROM book WHERE status = 1 AND description <> ''
          GROUP BY category_id ORDER BY category_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let categories: Vec<i32> = per_category.iter().map(|(c, _)| *c).collect();
    assert_eq!(categories, (1..=7).collect::<Vec<_>>(), "{per_category:?}");
    assert_eq!(per_category.iter().map(|(_, n)| n).sum::<i64>(), 34);
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT book_status, COUNT(*) FROM book GROUP BY book_status ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(
        states.len() == 2 && states.iter().all(|(_, n)| *n >= 10),
        "{states:?}"
    );
    let (free_only, with_vip): (i64, i64) = sqlx::query_as(
        "SELECT CAST(SUM(has_vip = 0) AS SIGNED), CAST(SUM(has_vip = 1) AS SIGNED) FROM book",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        free_only >= 3 && with_vip >= 25,
        "{free_only} free, {with_vip} vip"
    );
    let chinese = json(app.get("/api/books?q=%E6%98%9F%E6%B2%B3").await).await;
    assert_eq!(chinese["items"][0]["book_name"], "星河剑主", "{chinese}");
}

#[tokio::test]
async fn demo_chapters_read_as_varied_prose_without_repeated_paragraphs() {
    let app = spawn_app().await;
    app.load_demo().await;
    let list = json(app.get("/api/books?q=%E9%BE%99%E6%B8%8A").await).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let book = json(app.get(&format!("/api/books/{id}")).await).await;
    let mut texts = HashSet::new();
    for chapter in book["chapters"].as_array().unwrap().iter().take(2) {
        assert!(chapter["index_name"].as_str().unwrap().starts_with("第"));
        let index = chapter["id"].as_str().unwrap();
        let read = json(app.get(&format!("/api/books/{id}/chapters/{index}")).await).await;
        let content = read["content"].as_str().unwrap().to_owned();
        let paragraphs: Vec<&str> = content.split("\n\n").collect();
        assert!(paragraphs.len() >= 10, "{content}");
        assert!(
            content.contains('，') && !content.contains('{'),
            "{content}"
        );
        let distinct: HashSet<&str> = paragraphs.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            paragraphs.len(),
            "a paragraph repeats: {content}"
        );
        assert!(texts.insert(content.clone()), "two chapters read the same");
    }
}

#[tokio::test]
async fn demo_sales_are_real_purchases_and_a_second_load_changes_nothing() {
    let app = spawn_app().await;
    app.load_demo().await;
    let pool = &app.state.db.main;
    testkit::assert_books_balance(&app.state.db).await;
    let mismatched: i64 = sqlx::query_scalar(
        r"SELECT COUNT(*) FROM book b WHERE b.sales <> (SELECT COUNT(*) FROM user_buy_record r
                                                       WHERE r.book_id = b.id AND r.refund_status = 0)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
    let (sold, visited, records): (i64, i64, i64) = sqlx::query_as(
        r"SELECT CAST(SUM(sales > 0) AS SIGNED), CAST(SUM(visit_count > 0) AS SIGNED),
                 (SELECT COUNT(*) FROM user_buy_record) FROM book",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        sold >= 15 && visited == 35 && records >= 100,
        "{sold} {visited} {records}"
    );
    let reader_bought: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_buy_record r JOIN user u ON u.id = r.user_id WHERE u.username = 'reader'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        reader_bought, 0,
        "the demo reader starts with nothing bought"
    );

    let before = snapshot(&app).await;
    let again = jobs::demo::load(&app.state.db, &app.state.ids, &app.state.settings.pricing)
        .await
        .unwrap();
    assert!(!again);
    assert_eq!(snapshot(&app).await, before);
}

async fn snapshot(app: &crate::helpers::TestApp) -> (i64, i64, i64, i64, i64) {
    sqlx::query_as(
        r"SELECT (SELECT COUNT(*) FROM user), (SELECT COUNT(*) FROM book),
                 (SELECT COUNT(*) FROM book_index), (SELECT COUNT(*) FROM user_buy_record),
                 (SELECT COUNT(*) FROM account_flow)",
    )
    .fetch_one(&app.state.db.main)
    .await
    .unwrap()
}
