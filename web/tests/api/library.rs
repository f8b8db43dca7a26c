//! v1.1 catalog: book details, filters and sorts, categories, rankings, chapter paging,
//! neighbouring chapters, and authors editing a book's details.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::authors::{author, new_book};
use crate::helpers::{As, TestApp, expect_error, json, spawn_app, spawn_app_with};
use jobs::ids::{AuthorId, BookId, BuyRecordId, ChapterId, UserId};

/// A book as a test wants it; written straight into MySQL (the columns the catalog reads).
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) words: i64,
    pub(crate) visits: i64,
    pub(crate) sales: i64,
    pub(crate) created_days_ago: i64,
    pub(crate) updated_days_ago: i64,
    pub(crate) category: Option<i64>,
    pub(crate) finished: bool,
    pub(crate) vip: bool,
    pub(crate) published: bool,
}

impl Spec {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            words: 1000,
            visits: 0,
            sales: 0,
            created_days_ago: 10,
            updated_days_ago: 1,
            category: None,
            finished: false,
            vip: false,
            published: true,
        }
    }
}

fn days_ago(days: i64) -> DateTime<Utc> {
    // Whole milliseconds, as the columns keep them.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    now - chrono::Duration::days(days)
}

/// An author (by a user of `username`) in the database, for fixtures.
pub(crate) async fn fixture_author(app: &TestApp, username: &str) -> AuthorId {
    let user: UserId = app.create_user(username, "reader,author").await;
    let author_id = app.state.ids.mint().await.unwrap();
    jobs::accounts::create_author(
        &app.state.db.main,
        author_id,
        user,
        &format!("Pen {username}"),
    )
    .await
    .unwrap();
    author_id
}

pub(crate) async fn fixture_book(app: &TestApp, author_id: AuthorId, spec: &Spec) -> BookId {
    let pool = &app.state.db.main;
    let id = app.state.ids.mint().await.unwrap();
    jobs::authoring::create_book(pool, id, author_id, spec.name)
        .await
        .unwrap();
    sqlx::query(
        r"UPDATE book SET status = ?, word_count = ?, visit_count = ?, sales = ?, create_time = ?,
                          last_index_update_time = ?, category_id = ?, book_status = ?, has_vip = ?
          WHERE id = ?",
    )
    .bind(spec.published)
    .bind(spec.words)
    .bind(spec.visits)
    .bind(spec.sales)
    .bind(days_ago(spec.created_days_ago))
    .bind(days_ago(spec.updated_days_ago))
    .bind(spec.category)
    .bind(if spec.finished { "finished" } else { "ongoing" })
    .bind(spec.vip)
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// The ids of a list answer, in order.
fn ids(list: &Value) -> Vec<BookId> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn list(app: &TestApp, query: &str) -> Value {
    json(app.get(&format!("/api/books{query}")).await).await
}

/// Five published books (two pairs tied on visits and on sales) and a draft.
async fn shelf(app: &TestApp) -> Vec<(BookId, Spec)> {
    let author_id = fixture_author(app, "writer").await;
    let specs = [
        Spec {
            words: 5000,
            visits: 30,
            sales: 7,
            created_days_ago: 5,
            updated_days_ago: 3,
            category: Some(1),
            ..Spec::new("Alpha")
        },
        Spec {
            words: 200,
            visits: 30,
            sales: 2,
            created_days_ago: 1,
            updated_days_ago: 4,
            category: Some(1),
            finished: true,
            vip: true,
            ..Spec::new("Beta")
        },
        Spec {
            words: 9000,
            visits: 10,
            sales: 7,
            created_days_ago: 9,
            updated_days_ago: 1,
            category: Some(2),
            vip: true,
            ..Spec::new("Gamma")
        },
        Spec {
            words: 700,
            visits: 50,
            sales: 0,
            created_days_ago: 3,
            updated_days_ago: 8,
            finished: true,
            ..Spec::new("Delta")
        },
        Spec {
            words: 700,
            visits: 0,
            sales: 1,
            created_days_ago: 7,
            updated_days_ago: 2,
            category: Some(2),
            ..Spec::new("Epsilon")
        },
        Spec {
            words: 99_999,
            visits: 999,
            sales: 999,
            created_days_ago: 0,
            updated_days_ago: 0,
            category: Some(1),
            published: false,
            ..Spec::new("Draft")
        },
    ];
    let mut books = Vec::new();
    for spec in specs {
        books.push((fixture_book(app, author_id, &spec).await, spec));
    }
    books
}

/// What a sort orders by, as the fixtures know it.
type SortKey = Box<dyn Fn(&Spec) -> i64>;

/// The published books' ids ordered by `key` descending, ties by id descending.
fn expected(books: &[(BookId, Spec)], key: impl Fn(&Spec) -> i64) -> Vec<BookId> {
    let mut published: Vec<_> = books.iter().filter(|(_, s)| s.published).collect();
    published.sort_by(|(a, sa), (b, sb)| key(sb).cmp(&key(sa)).then(b.cmp(a)));
    published.iter().map(|(id, _)| *id).collect()
}

#[tokio::test]
async fn every_sort_is_descending_with_ties_by_id_and_drafts_never_show() {
    let app = spawn_app().await;
    let books = shelf(&app).await;
    let cases: [(&str, SortKey); 6] = [
        ("", Box::new(|s| -s.updated_days_ago)),
        ("?sort=updated", Box::new(|s| -s.updated_days_ago)),
        ("?sort=new", Box::new(|s| -s.created_days_ago)),
        ("?sort=words", Box::new(|s| s.words)),
        ("?sort=visits", Box::new(|s| s.visits)),
        ("?sort=sales", Box::new(|s| s.sales)),
    ];
    for (query, key) in cases {
        let answer = list(&app, query).await;
        assert_eq!(ids(&answer), expected(&books, key), "{query}");
        assert_eq!(answer["total"], 5, "{query}");
    }
    // The ties really are ties: visits 30/30, sales 7/7, words 700/700.
    let by_visits = ids(&list(&app, "?sort=visits").await);
    let (alpha, beta) = (books[0].0, books[1].0);
    let tied: Vec<_> = by_visits
        .iter()
        .filter(|id| **id == alpha || **id == beta)
        .collect();
    assert_eq!(tied, vec![&alpha.max(beta), &alpha.min(beta)]);
    let second = list(&app, "?sort=words&page=2&size=2").await;
    assert_eq!(ids(&second), expected(&books, |s| s.words)[2..4]);
}

#[tokio::test]
async fn each_filter_narrows_the_list_to_the_published_books_it_names() {
    let app = spawn_app().await;
    let books = shelf(&app).await;
    let names = |list: &Value| -> Vec<String> {
        let mut names: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["book_name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let since = days_ago(2) - chrono::Duration::minutes(1);
    let east8 = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let since_east8 = since.with_timezone(&east8).to_rfc3339().replace('+', "%2B");
    let since = jobs::json::time(&since);
    let cases = [
        ("?category_id=1", vec!["Alpha", "Beta"]),
        ("?category_id=2", vec!["Epsilon", "Gamma"]),
        ("?category_id=7", vec![]),
        ("?book_status=finished", vec!["Beta", "Delta"]),
        ("?book_status=ongoing", vec!["Alpha", "Epsilon", "Gamma"]),
        ("?vip=true", vec!["Beta", "Gamma"]),
        ("?vip=false", vec!["Alpha", "Delta", "Epsilon"]),
        ("?min_words=700", vec!["Alpha", "Delta", "Epsilon", "Gamma"]),
        ("?max_words=700", vec!["Beta", "Delta", "Epsilon"]),
        ("?min_words=700&max_words=700", vec!["Delta", "Epsilon"]),
        (
            &*format!("?updated_since={since}"),
            vec!["Epsilon", "Gamma"],
        ),
        (
            &*format!("?updated_since={since_east8}"),
            vec!["Epsilon", "Gamma"],
        ),
        ("?q=ta&category_id=1", vec!["Beta"]),
        ("?q=Pen%20writer&vip=true", vec!["Beta", "Gamma"]),
        ("?category_id=2&vip=true&sort=words", vec!["Gamma"]),
    ];
    for (query, want) in cases {
        let answer = list(&app, query).await;
        assert_eq!(names(&answer), want, "{query}");
        assert_eq!(answer["total"], want.len(), "{query}");
    }
    // Sorted within a filter too.
    let answer = list(&app, "?category_id=2&sort=sales").await;
    assert_eq!(ids(&answer), vec![books[2].0, books[4].0]);
}

#[tokio::test]
async fn a_bad_sort_or_filter_is_400_naming_the_field_and_unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    shelf(&app).await;
    for (query, field) in [
        ("?sort=id", "sort"),
        ("?sort=Updated", "sort"),
        ("?sort=visits%20DESC;DROP%20TABLE%20book", "sort"),
        ("?category_id=abc", "category_id"),
        ("?category_id=-1", "category_id"),
        ("?book_status=paused", "book_status"),
        ("?vip=yes", "vip"),
        ("?min_words=-1", "min_words"),
        ("?min_words=ten", "min_words"),
        ("?max_words=2000000001", "max_words"),
        ("?min_words=10&max_words=9", "max_words"),
        ("?updated_since=yesterday", "updated_since"),
        ("?updated_since=2026-12-01", "updated_since"),
        ("?updated_since=2026-12-01%2010:00:00", "updated_since"),
    ] {
        let response = app.get(&format!("/api/books{query}")).await;
        let body = expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
    assert_eq!(list(&app, "?colour=blue").await["total"], 5);
}

#[tokio::test]
async fn books_carry_their_details_category_and_a_cover_everywhere() {
    let app = spawn_app().await;
    let books = shelf(&app).await;
    let (alpha, delta) = (books[0].0, books[3].0);
    sqlx::query("UPDATE book SET description = ?, cover = ? WHERE id = ?")
        .bind("A <b>bold</b> tale")
        .bind("abc123.jpg")
        .bind(alpha)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let item_of = |answer: Value| -> Value {
        let items = answer["items"].as_array().unwrap();
        let item = items.iter().find(|b| b["id"] == alpha.to_string());
        item.unwrap().clone()
    };
    let item = item_of(list(&app, "?sort=visits").await);
    let shown = json(app.get(&format!("/api/books/{alpha}")).await).await;
    let in_ranking = item_of(json(app.get("/api/rankings/visits").await).await);
    for book in [&item, &shown, &in_ranking] {
        assert_eq!(book["description"], "A <b>bold</b> tale");
        assert_eq!(book["category_id"], "1");
        assert_eq!(book["category_name"], "玄幻奇幻");
        assert_eq!(book["book_status"], "ongoing");
        assert_eq!(book["cover_url"], "/covers/abc123.jpg");
        assert_eq!(
            (book["visit_count"].as_i64(), book["sales"].as_i64()),
            (Some(30), Some(7))
        );
        let created = book["create_time"].as_str().unwrap();
        assert!(
            created.starts_with(&jobs::json::time(&days_ago(5))[..10]),
            "{created}"
        );
        assert!(created.ends_with('Z') && created.len() == "2026-11-25T15:03:31.123Z".len());
    }
    let plain = json(app.get(&format!("/api/books/{delta}")).await).await;
    assert_eq!(plain["category_id"], Value::Null);
    assert_eq!(plain["category_name"], Value::Null);
    assert_eq!(plain["book_status"], "finished");
    assert_eq!(plain["cover_url"], format!("/covers/book/{delta}.svg"));
    assert_eq!(plain["chapter_count"], 0);
}

#[tokio::test]
async fn a_book_of_many_chapters_answers_one_page_of_them_with_owned_marks_for_that_page() {
    let app = spawn_app().await;
    let (db, ids_gen) = (&app.state.db, &app.state.ids);
    let (book_id, _) = testkit::book(db, ids_gen, &app.state.settings, 0, 0, 0).await;
    let chapters = testkit::bulk_chapters(db, ids_gen, book_id, 2500, 5).await;
    sqlx::query("UPDATE book SET chapter_count = 2500 WHERE id = ?")
        .bind(book_id)
        .execute(&db.main)
        .await
        .unwrap();
    app.create_user("owner", "reader").await;
    let reader = app.sign_in("owner").await;
    let user_id: UserId = reader.user_id.parse().unwrap();
    let record: BuyRecordId = ids_gen.mint().await.unwrap();
    sqlx::query(
        r"INSERT INTO user_buy_record (id, user_id, book_id, book_name, book_index_id,
                                       book_index_name, buy_amount, job_id, create_time)
          VALUES (?, ?, ?, 'A Test Book', ?, 'Bulk 1500', 5, 'fixture', NOW(3))",
    )
    .bind(record)
    .bind(user_id)
    .bind(book_id)
    .bind(chapters[1499])
    .execute(&db.main)
    .await
    .unwrap();
    let nums = |book: &Value| -> Vec<i64> {
        book["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["index_num"].as_i64().unwrap())
            .collect()
    };
    let first = json(app.get(&format!("/api/books/{book_id}")).await).await;
    assert_eq!(first["chapter_count"], 2500);
    assert_eq!(nums(&first), (1..=1000).collect::<Vec<_>>());
    let last = json(app.get(&format!("/api/books/{book_id}?page=3")).await).await;
    assert_eq!(nums(&last), (2001..=2500).collect::<Vec<_>>());
    let small = app
        .get_as(
            reader.bearer(),
            &format!("/api/books/{book_id}?page=30&size=50"),
        )
        .await;
    let small = json(small).await;
    assert_eq!(nums(&small), (1451..=1500).collect::<Vec<_>>());
    let owned: Vec<bool> = small["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["owned"].as_bool().unwrap())
        .collect();
    assert_eq!(owned.iter().filter(|o| **o).count(), 1);
    assert!(owned[49], "chapter 1500 is owned");
    assert_eq!(small["chapters"][49]["id"], chapters[1499].to_string());
    let past = json(app.get(&format!("/api/books/{book_id}?page=4")).await).await;
    assert_eq!(past["chapters"], json!([]));
    for query in ["?size=1001", "?size=0", "?page=0", "?page=x", "?size=-5"] {
        let response = app.get(&format!("/api/books/{book_id}{query}")).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

async fn read(app: &TestApp, book_id: BookId, index_id: ChapterId) -> Value {
    json(
        app.get(&format!("/api/books/{book_id}/chapters/{index_id}"))
            .await,
    )
    .await
}

#[tokio::test]
async fn a_chapter_names_its_neighbours_by_number_and_null_at_the_ends() {
    let app = spawn_app().await;
    let (book_id, chapters) =
        testkit::book(&app.state.db, &app.state.ids, &app.state.settings, 4, 4, 10).await;
    let [one, two, three, four] = chapters[..] else {
        unreachable!()
    };
    let first = read(&app, book_id, one).await;
    assert_eq!(first["prev_index_id"], Value::Null);
    assert_eq!(first["next_index_id"], two.to_string());
    let second = read(&app, book_id, two).await;
    assert_eq!(second["prev_index_id"], one.to_string());
    assert_eq!(second["next_index_id"], three.to_string());
    let last = read(&app, book_id, four).await;
    assert_eq!(last["prev_index_id"], three.to_string());
    assert_eq!(last["next_index_id"], Value::Null);
    jobs::authoring::delete_chapter(&app.state.db, book_id, three)
        .await
        .unwrap();
    let second = read(&app, book_id, two).await;
    assert_eq!(second["next_index_id"], four.to_string(), "over the gap");
    let last = read(&app, book_id, four).await;
    assert_eq!(last["prev_index_id"], two.to_string());
}

#[tokio::test]
async fn categories_come_in_their_order_counting_published_books_only() {
    let app = spawn_app().await;
    shelf(&app).await;
    let answer = json(app.get("/api/categories").await).await;
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    let ids: Vec<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(items[0]["name"], "玄幻奇幻");
    assert_eq!(items[0]["channel"], "male");
    assert_eq!(items[6]["channel"], "female");
    // Category 1 holds Alpha, Beta and a draft; category 2 Gamma and Epsilon.
    let counts: Vec<i64> = items
        .iter()
        .map(|c| c["book_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [2, 2, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn rankings_list_the_top_books_by_kind_and_category_and_anything_else_is_refused() {
    let app = spawn_app().await;
    let books = shelf(&app).await;
    let author_id = fixture_author(&app, "prolific").await;
    for _ in 0..50 {
        fixture_book(&app, author_id, &Spec::new("Filler")).await;
    }
    let visits = json(app.get("/api/rankings/visits").await).await;
    assert_eq!(visits["items"].as_array().unwrap().len(), 50);
    assert_eq!(
        ids(&visits)[..4],
        expected(&books, |s| s.visits)[..4],
        "the shelf's books lead, fillers have no visits"
    );
    let sales = json(app.get("/api/rankings/sales?category_id=1").await).await;
    assert_eq!(ids(&sales), vec![books[0].0, books[1].0]);
    let new = json(app.get("/api/rankings/new?category_id=2").await).await;
    assert_eq!(ids(&new), vec![books[4].0, books[2].0]);
    let updated = json(app.get("/api/rankings/updated?category_id=2").await).await;
    assert_eq!(ids(&updated), vec![books[2].0, books[4].0]);
    let empty = json(app.get("/api/rankings/visits?category_id=7").await).await;
    assert_eq!(empty["items"], json!([]));
    for path in [
        "/api/rankings/words",
        "/api/rankings/VISITS",
        "/api/rankings/visits?category_id=99",
    ] {
        expect_error(app.get(path).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let bad = app.get("/api/rankings/visits?category_id=abc").await;
    expect_error(bad, StatusCode::BAD_REQUEST, "invalid_request").await;
}

async fn set_visits(app: &TestApp, book_id: BookId, visits: i64) {
    sqlx::query("UPDATE book SET visit_count = ? WHERE id = ?")
        .bind(visits)
        .bind(book_id)
        .execute(&app.state.db.main)
        .await
        .unwrap();
}

async fn top_by_visits(app: &TestApp) -> BookId {
    ids(&json(app.get("/api/rankings/visits").await).await)[0]
}

#[tokio::test]
async fn a_ranking_is_served_from_memory_until_its_ttl_passes() {
    let app = spawn_app().await;
    let books = shelf(&app).await;
    let delta = books[3].0;
    assert_eq!(top_by_visits(&app).await, delta);
    set_visits(&app, books[4].0, 1000).await;
    assert_eq!(top_by_visits(&app).await, delta, "cached for 60 s");
    // The list is not cached: it sees the change at once.
    assert_eq!(ids(&list(&app, "?sort=visits").await)[0], books[4].0);

    let quick = spawn_app_with(|s| s.library.ranking_ttl_secs = 1).await;
    let books = shelf(&quick).await;
    assert_eq!(top_by_visits(&quick).await, books[3].0);
    set_visits(&quick, books[4].0, 1000).await;
    assert_eq!(top_by_visits(&quick).await, books[3].0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(top_by_visits(&quick).await, books[4].0, "computed again");
}

async fn patch(app: &TestApp, who: As<'_>, book: &str, body: Value) -> reqwest::Response {
    app.request(
        Method::PATCH,
        &format!("/api/author/books/{book}"),
        who,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn an_author_edits_a_books_details_and_so_may_an_admin_but_not_a_stranger() {
    let app = spawn_app().await;
    let owner = author(&app, "owner").await;
    let book = new_book(&app, owner.bearer(), "Old Name").await;
    let edited = json(
        patch(
            &app,
            owner.cookie(),
            &book,
            json!({ "book_name": "  New Name ", "description": "第一卷", "category_id": "3",
                    "book_status": "finished" }),
        )
        .await,
    )
    .await;
    assert_eq!(edited["id"], book);
    assert_eq!(edited["book_name"], "New Name");
    assert_eq!(edited["description"], "第一卷");
    assert_eq!(
        (&edited["category_id"], &edited["category_name"]),
        (&json!("3"), &json!("都市言情"))
    );
    assert_eq!(edited["book_status"], "finished");
    assert_eq!(
        edited["chapters"],
        json!([]),
        "a draft, shown to its author"
    );
    let stranger = author(&app, "stranger").await;
    let refused = patch(
        &app,
        stranger.bearer(),
        &book,
        json!({ "book_name": "Mine" }),
    )
    .await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    // Ownership before the body: a stranger's bad body is still 403.
    let refused = patch(&app, stranger.bearer(), &book, json!({ "colour": 1 })).await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let reader = {
        app.create_user("plainreader", "reader").await;
        app.sign_in("plainreader").await
    };
    let refused = patch(&app, reader.bearer(), &book, json!({ "book_name": "Mine" })).await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    let by_admin = json(
        patch(
            &app,
            admin.bearer(),
            &book,
            json!({ "category_id": null, "description": "" }),
        )
        .await,
    )
    .await;
    assert_eq!(by_admin["category_id"], Value::Null);
    assert_eq!(by_admin["description"], "");
    assert_eq!(by_admin["book_name"], "New Name", "left out, kept");
    assert_eq!(by_admin["book_status"], "finished");
    let missing = patch(
        &app,
        owner.bearer(),
        "123456789",
        json!({ "book_name": "X" }),
    )
    .await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let author_books = json(app.get_as(owner.bearer(), "/api/author/books").await).await;
    let item = &author_books["items"][0];
    assert_eq!(item["book_name"], "New Name");
    assert_eq!(item["book_status"], "finished");
    assert_eq!(item["status"], 0);
    assert_eq!(item["cover_url"], format!("/covers/book/{book}.svg"));
    assert!(item["create_time"].is_string() && item["visit_count"] == 0);
}

#[tokio::test]
async fn a_bad_edit_of_a_books_details_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = author(&app, "owner").await;
    let book = new_book(&app, owner.bearer(), "Kept").await;
    let before = json(
        app.get_as(owner.bearer(), &format!("/api/books/{book}"))
            .await,
    )
    .await;
    for body in [
        json!({}),
        json!({ "colour": "red" }),
        json!({ "book_name": "Fine", "colour": "red" }),
        json!({ "book_name": "   " }),
        json!({ "book_name": "x".repeat(51) }),
        json!({ "book_name": null }),
        json!({ "book_name": 5 }),
        json!({ "description": "字".repeat(2001), "book_name": "Fine" }),
        json!({ "category_id": "99", "book_name": "Fine" }),
        json!({ "category_id": "abc" }),
        json!({ "book_status": "paused", "book_name": "Fine" }),
        json!({ "book_status": null }),
        json!([]),
    ] {
        let response = patch(&app, owner.bearer(), &book, body.clone()).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        let after = json(
            app.get_as(owner.bearer(), &format!("/api/books/{book}"))
                .await,
        )
        .await;
        assert_eq!(after, before, "{body}");
    }
    let fits = json!({ "description": "字".repeat(2000) });
    assert_eq!(
        patch(&app, owner.bearer(), &book, fits).await.status(),
        StatusCode::OK
    );
}
