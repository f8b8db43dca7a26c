//! HTML pages: values from the database are escaped, errors are HTML pages off `/api`.

use reqwest::{Response, StatusCode, header};

use crate::helpers::{As, TestApp, expect_error, spawn_app};
use jobs::ids::BookId;

async fn html(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    response.text().await.unwrap()
}

/// A published book by a new author; returns its id.
async fn publish_book(app: &TestApp, book_name: &str) -> BookId {
    let (db, ids) = (&app.state.db, &app.state.ids);
    let user_id = app.create_user("writer", "reader,author").await;
    let author_id = ids.mint().await.unwrap();
    jobs::accounts::create_author(&db.main, author_id, user_id, "Pen <b>Name</b>")
        .await
        .unwrap();
    let book_id = ids.mint().await.unwrap();
    jobs::authoring::create_book(&db.main, book_id, author_id, book_name)
        .await
        .unwrap();
    jobs::authoring::publish_book(&db.main, book_id)
        .await
        .unwrap();
    book_id
}

#[tokio::test]
async fn a_book_named_with_a_script_tag_is_shown_escaped() {
    let app = spawn_app().await;
    let book_id = publish_book(&app, "<script>alert(1)</script>").await;

    for path in ["/".to_owned(), format!("/book/{book_id}")] {
        let body = html(app.get(&path).await, StatusCode::OK).await;
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {body}"
        );
        assert!(!body.contains("<script>alert(1)"), "{path}");
        assert!(body.contains("Pen &lt;b&gt;Name&lt;"), "{path}");
    }
}

#[tokio::test]
async fn unknown_pages_get_an_html_404_and_unknown_api_paths_json() {
    let app = spawn_app().await;
    let body = html(app.get("/no/such/page").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("Page not found"));
    let body = html(app.get("/book/not-a-number").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("Page not found"));
    expect_error(
        app.get("/api/no/such").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_frozen_session_gets_the_html_403_page_and_the_api_its_json() {
    let app = spawn_app().await;
    app.create_admin("boss").await;
    app.create_user("suspect", "reader").await;
    let admin = app.sign_in("boss").await;
    let suspect = app.sign_in("suspect").await;
    app.admin_freeze(admin.bearer(), "suspect").await;

    let cookie = As::Cookie(&suspect.token, None);
    for path in ["/", "/me"] {
        let body = html(app.get_as(cookie, path).await, StatusCode::FORBIDDEN).await;
        assert!(body.contains("Session frozen"), "{path}");
    }
    let response = app.get_as(cookie, "/api/me").await;
    expect_error(response, StatusCode::FORBIDDEN, "session_frozen").await;
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_readers_kept_out_of_admin() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/me", "/recharge", "/author", "/admin"] {
        let response = no_redirects
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            response.headers()[header::LOCATION],
            format!("/login?next={path}").as_str()
        );
    }
    app.create_user("plain", "reader").await;
    let reader = app.sign_in("plain").await;
    let page = app.get_as(reader.cookie(), "/admin").await;
    assert!(
        html(page, StatusCode::FORBIDDEN)
            .await
            .contains("Forbidden")
    );
    let page = app.get_as(reader.cookie(), "/me").await;
    let body = html(page, StatusCode::OK).await;
    assert!(body.contains(r#"<meta name="csrf-token" content=""#));
}

#[tokio::test]
async fn my_orders_are_listed_on_my_account_escaped_and_a_pending_one_links_to_its_checkout() {
    let app = spawn_app().await;
    let reader = app.reader("orderer").await;
    let order_id = app.order_600(reader.bearer()).await;
    let body = html(app.get_as(reader.cookie(), "/me").await, StatusCode::OK).await;
    assert!(body.contains(&format!(
        r#"data-order-id="{order_id}" data-status="pending""#
    )));
    assert!(body.contains("CNY 6.00"), "{body}");
    assert!(body.contains(r#"id="awaiting""#));
    assert!(
        body.contains(">Pay</a>"),
        "a pending order links to its checkout"
    );

    // The checkout address comes from the provider: shown only escaped.
    sqlx::query("UPDATE order_pay SET checkout_url = ? WHERE id = ?")
        .bind(r#"https://pay.invalid/"><script>alert(1)</script>"#)
        .bind(&order_id)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let body = html(app.get_as(reader.cookie(), "/me").await, StatusCode::OK).await;
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(body.contains("&quot;&gt;&lt;script&gt;alert(1)"), "{body}");

    sqlx::query("UPDATE order_pay SET status = 'failed' WHERE id = ?")
        .bind(&order_id)
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let body = html(app.get_as(reader.cookie(), "/me").await, StatusCode::OK).await;
    assert!(body.contains(r#"data-status="failed""#));
    assert!(
        !body.contains(r#"id="awaiting""#),
        "nothing awaits a failed order"
    );
    assert!(
        !body.contains(">Pay</a>"),
        "a failed order has no checkout to go to"
    );
}

#[tokio::test]
async fn the_recharge_page_lists_the_packages_as_money() {
    let app = spawn_app().await;
    let reader = app.reader("buyer").await;
    let body = html(
        app.get_as(reader.cookie(), "/recharge").await,
        StatusCode::OK,
    )
    .await;
    for (package, price) in [("p600", "CNY 6.00"), ("p19800", "CNY 198.00")] {
        assert!(
            body.contains(&format!(r#"data-package-id="{package}""#)),
            "{body}"
        );
        assert!(body.contains(price), "{price}");
    }
    assert!(body.contains("+1200 bonus"));
}

/// The `data-next` the sign-in form was rendered with, unescaped.
fn rendered_next(body: &str) -> String {
    let start = body.find(r#"data-next=""#).expect("the form has data-next") + 11;
    let value = &body[start..start + body[start..].find('"').unwrap()];
    value
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn signing_in_leads_only_to_paths_of_this_site() {
    let app = spawn_app().await;
    let cases = [
        ("/admin", "/admin"),
        ("%2Fbook%2F12%3Fpage%3D2", "/book/12?page=2"),
        ("/%5Cevil.com", "/"),
        ("/%5C%5Cevil.com", "/"),
        ("//evil.com", "/"),
        ("%2F%2Fevil.com", "/"),
        ("https://evil.com", "/"),
        ("https%3A%2F%2Fevil.com", "/"),
        ("/%09/evil.com", "/"),
        ("/%0A/evil.com", "/"),
        ("evil.com", "/"),
        ("", "/"),
    ];
    for page in ["/login", "/register"] {
        for (next, expected) in cases {
            let path = format!("{page}?next={next}");
            let body = html(app.get(&path).await, StatusCode::OK).await;
            assert_eq!(rendered_next(&body), expected, "{path}");
        }
        let body = html(app.get(page).await, StatusCode::OK).await;
        assert_eq!(rendered_next(&body), "/", "{page}");
    }
}

#[tokio::test]
async fn a_chapter_past_the_first_thousand_has_its_page_with_both_neighbours() {
    let app = spawn_app().await;
    let (db, ids) = (&app.state.db, &app.state.ids);
    let (book_id, _) = testkit::book(db, ids, &app.state.settings, 0, 0, 0).await;
    let chapters = testkit::bulk_chapters(db, ids, book_id, 1500, 5).await;
    let (prev, this, next) = (chapters[1199], chapters[1200], chapters[1201]);
    let body = html(
        app.get(&format!("/book/{book_id}/{this}")).await,
        StatusCode::OK,
    )
    .await;
    assert!(body.contains("Bulk 1201"), "its name: {body}");
    assert!(
        body.contains(&format!("/book/{book_id}/{prev}\"")),
        "{body}"
    );
    assert!(
        body.contains(&format!("/book/{book_id}/{next}\"")),
        "{body}"
    );
    let last = chapters[1499];
    let body = html(
        app.get(&format!("/book/{book_id}/{last}")).await,
        StatusCode::OK,
    )
    .await;
    assert!(!body.contains("Next →"), "the last chapter has no next");
}

#[tokio::test]
async fn the_reading_page_loads_its_settings_script_in_the_head_before_any_text() {
    let app = spawn_app().await;
    app.load_demo().await;
    let chapter: (i64, i64) = sqlx::query_as(
        r"SELECT i.book_id, i.id FROM book_index i JOIN book b ON b.id = i.book_id
          WHERE b.book_name = 'The Jade Pavilion' AND i.index_num = 1",
    )
    .fetch_one(&app.state.db.main)
    .await
    .unwrap();
    let body = html(
        app.get(&format!("/book/{}/{}", chapter.0, chapter.1)).await,
        StatusCode::OK,
    )
    .await;
    let script = body
        .find(r#"<script src="/static/reader.js"></script>"#)
        .expect("the settings script, not deferred");
    assert!(script < body.find("</head>").unwrap(), "in the head");
    assert!(
        body.contains(r#"data-action="font-larger""#) && body.contains(r#"data-theme="sepia""#)
    );
    assert!(!body.contains(" onclick="), "no inline handlers");

    let response = app.get("/static/reader.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    let script = response.text().await.unwrap();
    assert!(script.contains("novel.reader.theme") && script.contains("--reader-size"));
    let book_page = html(
        app.get(&format!("/book/{}", chapter.0)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !book_page.contains("reader.js"),
        "only the reading page has it"
    );
}

#[tokio::test]
async fn the_buy_button_and_the_batch_form_carry_the_prices_the_reader_sees() {
    let app = spawn_app().await;
    let (db, ids, settings) = (&app.state.db, &app.state.ids, &app.state.settings);
    let (book_id, _) = testkit::book(db, ids, settings, 0, 0, 0).await;
    let mut chapters = Vec::new();
    for (name, words) in [("Short", 1500), ("Longer", 2500), ("Longest", 4000)] {
        let chapter = jobs::authoring::NewChapter {
            book_id,
            index_name: name,
            content: &"字".repeat(words),
            is_vip: true,
        };
        chapters.push(
            jobs::authoring::add_chapter(db, ids, &settings.pricing, chapter)
                .await
                .unwrap(),
        );
    }
    assert!(
        chapters.windows(2).all(|w| w[0].price < w[1].price),
        "three prices"
    );
    let reader = app.reader("pricewatcher").await;
    // Each page offers its own chapter and, in order, the unowned VIP chapters from it on.
    for at in [0, 1] {
        let (chapter, batch) = (&chapters[at], &chapters[at..]);
        let path = format!("/book/{book_id}/{}", chapter.index_id);
        let body = html(app.get_as(reader.cookie(), &path).await, StatusCode::OK).await;
        let button = format!(
            r#"data-action="buy" data-index-id="{}" data-price="{}""#,
            chapter.index_id, chapter.price
        );
        assert!(body.contains(&button), "{button} in {body}");
        let ids: Vec<_> = batch.iter().map(|c| c.index_id.to_string()).collect();
        let prices: Vec<_> = batch.iter().map(|c| c.price.to_string()).collect();
        let form = format!(
            "data-ids=\"{}\"\n    data-prices=\"{}\"",
            ids.join(","),
            prices.join(",")
        );
        assert!(body.contains(&form), "{form} in {body}");
    }
}
