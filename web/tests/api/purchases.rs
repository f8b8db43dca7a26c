use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::WorkerProcess;

use crate::helpers::{As, TestApp, expect_error, spawn_app, spawn_app_with};
use crate::money::code;

fn workers(app: &TestApp, n: usize) -> Vec<WorkerProcess> {
    (0..n)
        .map(|_| WorkerProcess::spawn(&app.state.settings))
        .collect()
}

async fn balance(app: &TestApp, who: As<'_>) -> i64 {
    app.me(who).await.json::<Value>().await.unwrap()["balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_buys_a_vip_chapter_then_reads_it_and_sees_it_in_the_history() {
    let app = spawn_app().await;
    let _workers = workers(&app, 2);
    let (book, chapters) = app.book(3, 1).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    let path = format!("/api/books/{book}/chapters/{}", chapters[1]);
    expect_error(
        app.get_as(reader.bearer(), &path).await,
        StatusCode::PAYMENT_REQUIRED,
        "purchase_required",
    )
    .await;
    let job = app.buy_and_wait(reader.bearer(), &chapters[1]).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "purchase");
    assert_eq!(
        job["result"],
        json!({ "bought": [chapters[1]], "skipped": [], "spent": 15, "balance": 85 })
    );
    let read: Value = app
        .get_as(reader.bearer(), &path)
        .await
        .json()
        .await
        .unwrap();
    assert!(read["content"].as_str().unwrap().starts_with('字'));
    let purchases = app.my_purchases(reader.bearer()).await;
    assert_eq!(purchases["total"], 1);
    assert_eq!(purchases["items"][0]["index_id"], chapters[1].as_str());
    assert_eq!(purchases["items"][0]["amount"], 15);
    assert_eq!(purchases["items"][0]["refunded"], false);
    let ledger = app.my_ledger(reader.bearer()).await;
    let rows: Vec<(i64, i64, &str)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["delta"].as_i64().unwrap(),
                r["balance_after"].as_i64().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, vec![(-15, 85, "purchase"), (100, 100, "credit")]);
    assert_eq!(ledger["items"][0]["ref_id"], job["job_id"]);
    let book: Value = app
        .get_as(reader.bearer(), &format!("/api/books/{book}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(book["chapters"][1]["owned"], true);
    assert_eq!(book["chapters"][2]["owned"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_purchases_from_many_clients_never_lose_an_update() {
    let app = spawn_app().await;
    let _workers = workers(&app, 2);
    let (_, chapters) = app.book(40, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    let buys = chapters
        .iter()
        .map(|c| app.buy_and_wait(reader.bearer(), c));
    let outcomes = futures::future::join_all(buys).await;
    let succeeded = outcomes.iter().filter(|j| code(j) == "succeeded").count() as i64;
    assert_eq!(succeeded, 100 / 15);
    assert!(
        outcomes
            .iter()
            .all(|j| matches!(code(j), "succeeded" | "insufficient_balance"))
    );
    assert_eq!(balance(&app, reader.bearer()).await, 100 - succeeded * 15);
    assert_eq!(app.my_purchases(reader.bearer()).await["total"], succeeded);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_buys_of_one_chapter_charge_once() {
    let app = spawn_app().await;
    let _workers = workers(&app, 2);
    let (_, chapters) = app.book(1, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    let outcomes =
        futures::future::join_all((0..20).map(|_| app.buy_and_wait(reader.bearer(), &chapters[0])))
            .await;
    let codes: Vec<&str> = outcomes.iter().map(code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "succeeded").count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "already_bought").count(),
        19,
        "{codes:?}"
    );
    assert_eq!(app.my_purchases(reader.bearer()).await["total"], 1);
    assert_eq!(balance(&app, reader.bearer()).await, 85);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_skips_owned_fails_whole_when_short_and_names_a_missing_chapter() {
    let app = spawn_app().await;
    let _workers = workers(&app, 2);
    let (_, chapters) = app.book(5, 1).await;
    let reader = app.reader_with_coins("reader1", 50).await;
    assert_eq!(
        code(&app.buy_and_wait(reader.bearer(), &chapters[1]).await),
        "succeeded"
    );
    let ids: Vec<&str> = chapters.iter().map(String::as_str).collect();
    // 35 coins left; three unowned VIP chapters cost 45: the whole batch fails.
    let short = app.batch_and_wait(reader.bearer(), &ids).await;
    assert_eq!(code(&short), "insufficient_balance");
    assert_eq!(short["kind"], "batch_purchase");
    assert_eq!(balance(&app, reader.bearer()).await, 35);
    let missing = app
        .batch_and_wait(reader.bearer(), &[ids[2], "123456789"])
        .await;
    assert_eq!(code(&missing), "chapter_not_found");
    let two = app.batch_and_wait(reader.bearer(), &ids[..4]).await;
    assert_eq!(code(&two), "succeeded");
    assert_eq!(two["result"]["bought"], json!([ids[2], ids[3]]));
    assert_eq!(two["result"]["spent"], 30);
    assert_eq!(balance(&app, reader.bearer()).await, 5);
    testkit::assert_books_balance(&app.state.db).await;
}

#[tokio::test]
async fn a_poll_right_after_the_202_never_404s_and_an_expired_status_comes_from_mysql() {
    let app = spawn_app().await;
    let (_, chapters) = app.book(1, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    // No worker yet: the job stays queued.
    let response = app.buy(reader.bearer(), &chapters[0]).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    let job_id = accepted["job_id"].as_str().unwrap();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["poll"], format!("/api/jobs/{job_id}"));
    let queued: Value = app
        .job(reader.bearer(), job_id, 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queued["status"], "queued");
    let _worker = WorkerProcess::spawn(&app.state.settings);
    assert_eq!(
        app.outcome(reader.bearer(), job_id).await["status"],
        "succeeded"
    );
    let mut redis = app.state.redis.clone();
    let key = jobs::keys::job_status(&app.state.settings.redis.prefix, &job_id.into());
    redis::cmd("DEL")
        .arg(&key)
        .exec_async(&mut redis)
        .await
        .unwrap();
    let from_mysql: Value = app
        .job(reader.bearer(), job_id, 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(from_mysql["status"], "succeeded");
    assert_eq!(from_mysql["result"]["spent"], 15);
}

/// The worker's "done" message carries the terminal view, and a waiting long-poll answers with
/// it: here the message is the only place the result exists (the job's Redis status still says
/// `queued`, and no worker runs), so a poll that re-read Redis instead would answer `queued`.
#[tokio::test]
async fn a_waiting_poll_answers_with_the_view_the_worker_publishes() {
    let app = spawn_app().await;
    let (_, chapters) = app.book(1, 0).await;
    let reader = app.reader_with_coins("reader", 100).await;
    let job_id = app.bought(reader.bearer(), &chapters[0]).await;
    let published = jobs::job::JobView::succeeded(
        &jobs::job::JobId::from(job_id.as_str()),
        jobs::job::Kind::Purchase,
        json!({ "published": true }),
    );
    let mut redis = app.state.redis.clone();
    let channel = jobs::keys::jobs_done(
        &app.state.settings.redis.prefix,
        published.job_id.partition(),
    );
    // Published until the poll answers: the poll may not be waiting yet when one is sent.
    let announce = async {
        loop {
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(jobs::job::to_json(&published))
                .exec_async(&mut redis)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let answer = tokio::select! {
        answer = app.job(reader.bearer(), &job_id, 8000) => answer,
        () = announce => unreachable!(),
    };
    assert_eq!(answer.status(), StatusCode::OK);
    let view: Value = answer.json().await.unwrap();
    assert_eq!(view["status"], "succeeded");
    assert_eq!(view["result"], json!({ "published": true }));
    let stored: Value = app
        .job(reader.bearer(), &job_id, 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["status"], "queued",
        "the message changed no stored status"
    );
}

#[tokio::test]
async fn another_readers_job_is_not_found_but_an_admin_sees_it() {
    let app = spawn_app().await;
    let (_, chapters) = app.book(1, 0).await;
    let owner = app.reader_with_coins("owner", 100).await;
    let other = app.reader_with_coins("other", 100).await;
    let job_id = &app.bought(owner.bearer(), &chapters[0]).await;
    expect_error(
        app.job(other.bearer(), job_id, 0).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.job(As::Anonymous, job_id, 0).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_error(
        app.job(owner.bearer(), "01NOSUCHJOB", 0).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    assert_eq!(
        app.job(admin.bearer(), job_id, 0).await.status(),
        StatusCode::OK
    );
    expect_error(
        app.job(owner.bearer(), job_id, 10_001).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_job_and_another_users_key_is_unrelated() {
    let app = spawn_app().await;
    let (_, chapters) = app.book(2, 0).await;
    let first = app.reader_with_coins("first", 100).await;
    let second = app.reader_with_coins("second", 100).await;
    let post = |token: String, key: &'static str, index: String| {
        let app = &app;
        async move {
            let response = app
                .plain
                .post(format!("{}/api/purchases", app.address))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({ "index_id": index }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            response.json::<Value>().await.unwrap()["job_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let a = post(first.token.clone(), "buy-1", chapters[0].clone()).await;
    let b = post(first.token.clone(), "buy-1", chapters[0].clone()).await;
    let c = post(second.token.clone(), "buy-1", chapters[0].clone()).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let _worker = WorkerProcess::spawn(&app.state.settings);
    app.outcome(first.bearer(), &a).await;
    app.outcome(second.bearer(), &c).await;
    assert_eq!(
        post(first.token.clone(), "buy-1", chapters[0].clone()).await,
        a,
        "still the same job after it ran"
    );
    assert_eq!(app.my_purchases(first.bearer()).await["total"], 1);
    assert_eq!(balance(&app, first.bearer()).await, 85);
}

/// Three partitions: each reader's jobs, key claims and statuses live in their own partition,
/// and a replay finds the claim there whatever it is; a key is one per user across routes
/// (a recharge order's claim sits in the same partition), and the worker's "done" message on
/// the partition's channel answers the long-poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_idempotency_key_answers_the_same_job_id_whatever_its_partition() {
    let app = spawn_app_with(|s| s.jobs.partitions = 3).await;
    let (_, chapters) = app.book(2, 0).await;
    let mut readers = Vec::new();
    let mut covered = [false; 3];
    for n in 0.. {
        if covered.iter().all(|&c| c) {
            break;
        }
        let name = format!("part{n}");
        let user = app.create_user(&name, "reader").await;
        let partition = jobs::keys::partition_of_user(user, 3);
        if !std::mem::replace(&mut covered[usize::from(partition)], true) {
            readers.push((app.sign_in(&name).await, partition));
        }
    }
    let body = json!({ "index_id": chapters[0] });
    let accepted = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let job: Value = response.json().await.unwrap();
        jobs::job::JobId::from(job["job_id"].as_str().unwrap())
    };
    let mut jobs = Vec::new();
    for (reader, partition) in &readers {
        let path = "/api/purchases";
        let first = accepted(app.keyed(&reader.token, "k-1", path, body.clone()).await).await;
        assert_eq!(first.partition(), *partition, "{first}");
        let again = accepted(app.keyed(&reader.token, "k-1", path, body.clone()).await).await;
        assert_eq!(again, first);
        let queued: Value = app
            .job(reader.bearer(), first.as_str(), 0)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(queued["status"], "queued");
        for (path, other) in [
            (path, json!({ "index_id": chapters[1] })),
            ("/api/recharge/orders", json!({ "package_id": "p600" })),
        ] {
            expect_error(
                app.keyed(&reader.token, "k-1", path, other).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
            )
            .await;
        }
        jobs.push(first);
    }
    let partitions = [("NOVEL__JOBS__PARTITIONS", "3")];
    let _worker = WorkerProcess::spawn_with(&app.state.settings, &partitions);
    for ((reader, _), job_id) in readers.iter().zip(&jobs) {
        let done = app.outcome(reader.bearer(), job_id.as_str()).await;
        assert_eq!(code(&done), "insufficient_balance", "{done}");
        let replayed = app
            .keyed(&reader.token, "k-1", "/api/purchases", body.clone())
            .await;
        assert_eq!(
            &accepted(replayed).await,
            job_id,
            "the same job after it ran"
        );
    }
}

#[tokio::test]
async fn bad_purchase_input_gets_400_and_enqueues_nothing() {
    let app = spawn_app().await;
    let reader = app.reader_with_coins("reader1", 100).await;
    let many: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let bodies = [
        ("/api/purchases", json!({})),
        ("/api/purchases", json!({ "index_id": -5 })),
        ("/api/purchases", json!({ "index_id": "12x" })),
        ("/api/purchases", json!({ "index_id": [1] })),
        ("/api/purchases", json!({ "index_id": 1.5 })),
        (
            "/api/purchases",
            json!({ "index_id": "99999999999999999999999" }),
        ),
        ("/api/purchases", json!({ "index_id": 1, "extra": true })),
        ("/api/purchases/batch", json!({ "index_ids": [] })),
        ("/api/purchases/batch", json!({ "index_ids": many })),
        ("/api/purchases/batch", json!({ "index_ids": ["5", 5] })),
        ("/api/purchases/batch", json!({ "index_ids": ["0"] })),
        ("/api/purchases/batch", json!({ "index_ids": "5" })),
        ("/api/purchases/batch", json!({ "index_ids": [null] })),
    ];
    for (path, body) in bodies {
        let response = app
            .request(
                reqwest::Method::POST,
                path,
                reader.bearer(),
                Some(body.clone()),
            )
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let not_json = app
        .plain
        .post(format!("{}/api/purchases", app.address))
        .bearer_auth(&reader.token)
        .header("content-type", "application/json")
        .body("{\"index_id\":")
        .send()
        .await
        .unwrap();
    expect_error(not_json, StatusCode::BAD_REQUEST, "invalid_request").await;
    let bad_key = app
        .plain
        .post(format!("{}/api/purchases", app.address))
        .bearer_auth(&reader.token)
        .header("Idempotency-Key", "x".repeat(65))
        .json(&json!({ "index_id": 1 }))
        .send()
        .await
        .unwrap();
    expect_error(bad_key, StatusCode::BAD_REQUEST, "invalid_request").await;
    let mut redis = app.state.redis.clone();
    let queues = &app.state.queues;
    let purchase = queues.purchase.all().iter().map(|q| q.get_config());
    let batch = queues.batch_purchase.all().iter().map(|q| q.get_config());
    for config in purchase.chain(batch) {
        let queued: (u64, u64) = redis::pipe()
            .zcard(config.scheduled_jobs_set())
            .llen(config.active_jobs_list())
            .query_async(&mut redis)
            .await
            .unwrap();
        let queue = config.active_jobs_list();
        assert_eq!(queued, (0, 0), "no job was enqueued on {queue}");
    }
    expect_error(
        app.buy(As::Anonymous, "1").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn enqueueing_faster_than_the_per_user_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.limits.enqueue_burst = 3;
        s.limits.enqueue_per_second = 1;
    })
    .await;
    let (_, chapters) = app.book(1, 0).await;
    let reader = app.reader_with_coins("reader1", 100).await;
    for _ in 0..3 {
        assert_eq!(
            app.buy(reader.bearer(), &chapters[0]).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let limited = app.buy(reader.bearer(), &chapters[0]).await;
    assert!(limited.headers().contains_key("retry-after"));
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.buy(reader.bearer(), &chapters[0]).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chapter_of_a_draft_book_is_not_for_sale_and_charges_nothing() {
    let app = spawn_app().await;
    let _workers = workers(&app, 1);
    let (book, chapters) = app.book(3, 1).await;
    sqlx::query("UPDATE book SET status = 0 WHERE id = ?")
        .bind(book.parse::<i64>().unwrap())
        .execute(&app.state.db.main)
        .await
        .unwrap();
    let reader = app.reader_with_coins("draftbuyer", 100).await;
    let single = app.buy_and_wait(reader.bearer(), &chapters[1]).await;
    assert_eq!(code(&single), "chapter_not_found", "{single}");
    let batch = app
        .batch_and_wait(reader.bearer(), &[&chapters[1], &chapters[2]])
        .await;
    assert_eq!(code(&batch), "chapter_not_found", "{batch}");
    assert_eq!(balance(&app, reader.bearer()).await, 100);
    assert_eq!(app.my_purchases(reader.bearer()).await["total"], 0);
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_request_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    let (_, chapters) = app.book(3, 0).await;
    let reader = app.reader_with_coins("reuser", 100).await;
    let token = &reader.token;
    let first = app
        .keyed(
            token,
            "k1",
            "/api/purchases",
            json!({ "index_id": chapters[0] }),
        )
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let job_id = first.json::<Value>().await.unwrap()["job_id"].clone();
    let others = [
        ("/api/purchases", json!({ "index_id": chapters[1] })),
        (
            "/api/purchases/batch",
            json!({ "index_ids": [chapters[0]] }),
        ),
    ];
    for (path, body) in others {
        let response = app.keyed(token, "k1", path, body).await;
        expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
        )
        .await;
    }
    // The same request with the id written as a number is the same request.
    let again = app
        .keyed(
            token,
            "k1",
            "/api/purchases",
            json!({ "index_id": chapters[0].parse::<i64>().unwrap() }),
        )
        .await;
    assert_eq!(again.json::<Value>().await.unwrap()["job_id"], job_id);
    let _worker = WorkerProcess::spawn(&app.state.settings);
    app.outcome(reader.bearer(), job_id.as_str().unwrap()).await;
    assert_eq!(app.my_purchases(reader.bearer()).await["total"], 1);
    assert_eq!(balance(&app, reader.bearer()).await, 85);
}

#[tokio::test]
async fn a_replay_of_a_key_is_answered_with_its_job_after_the_burst_is_used() {
    let app = spawn_app_with(|s| {
        s.limits.enqueue_per_second = 1;
        s.limits.enqueue_burst = 2;
    })
    .await;
    let (_, chapters) = app.book(4, 0).await;
    let reader = app.reader_with_coins("replayer", 100).await;
    let buy = |n: usize| json!({ "index_id": chapters[n] });
    let first = app
        .keyed(&reader.token, "once", "/api/purchases", buy(0))
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let job_id = first.json::<Value>().await.unwrap()["job_id"].clone();
    let mut limited = false;
    for chapter in &chapters[1..] {
        limited |=
            app.buy(reader.bearer(), chapter).await.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "the burst is used up");
    let replay = app
        .keyed(&reader.token, "once", "/api/purchases", buy(0))
        .await;
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    assert_eq!(replay.json::<Value>().await.unwrap()["job_id"], job_id);
}
