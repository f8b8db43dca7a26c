//! What recording visits and progress costs a chapter read (a measurement, not a check: run it
//! with `cargo nextest run -p web --run-ignored only -E 'test(/read_latency/)' --no-capture`;
//! figures in docs/benchmarks.md).

use std::time::{Duration, Instant};

use jobs::ids::{BookId, ChapterId};

use crate::helpers::{As, TestApp, spawn_app};
use crate::shelf::{BROWSER, free_book};

const CRAWLER: &str = "curl/8.5.0";

/// `reads` reads by each of `concurrency` clients; every latency.
async fn measure(
    app: &TestApp,
    who: As<'_>,
    agent: &str,
    book: (BookId, &[ChapterId]),
    concurrency: usize,
    reads: usize,
) -> Vec<Duration> {
    let clients = (0..concurrency).map(|client| async move {
        let mut latencies = Vec::with_capacity(reads);
        for n in 0..reads {
            let chapter = book.1[(client + n) % book.1.len()];
            let url = format!("{}/api/books/{}/chapters/{chapter}", app.address, book.0);
            let mut request = app.plain.get(url).header("user-agent", agent);
            if let As::Bearer(token) = who {
                request = request.bearer_auth(token);
            }
            let started = Instant::now();
            let response = request.send().await.unwrap();
            assert!(response.status().is_success());
            response.bytes().await.unwrap();
            latencies.push(started.elapsed());
        }
        latencies
    });
    futures::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it on purpose"]
async fn read_latency_with_and_without_recording() {
    let app = spawn_app().await;
    app.create_user("reader", "reader").await;
    let reader = app.sign_in("reader").await;
    let (book_id, chapters) = free_book(&app, 20).await;
    let book = (book_id, chapters.as_slice());
    let cases = [
        (
            "signed out, crawler: nothing recorded",
            As::Anonymous,
            CRAWLER,
        ),
        ("signed in, crawler: progress", reader.bearer(), CRAWLER),
        (
            "signed in, browser: progress + visit",
            reader.bearer(),
            BROWSER,
        ),
    ];
    measure(&app, reader.bearer(), BROWSER, book, 4, 100).await;
    println!("| reads | C | reads/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for concurrency in [1, 16] {
        for (name, who, agent) in cases {
            let reads = 4000 / concurrency;
            let started = Instant::now();
            let mut latencies = measure(&app, who, agent, book, concurrency, reads).await;
            let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
            latencies.sort_unstable();
            println!(
                "| {name} | {concurrency} | {rate:.0} | {:.2} | {:.2} |",
                quantile(&latencies, 0.5),
                quantile(&latencies, 0.99)
            );
        }
    }
    let calls = 5000;
    let started = Instant::now();
    for n in 0..calls {
        let visitor = web::library::Visitor::default();
        let chapter = chapters[n % chapters.len()];
        let user_id = reader.user_id.parse().ok();
        app.state
            .library
            .record_read(&visitor, true, user_id, book_id, chapter);
    }
    let per_call = started.elapsed().as_secs_f64() * 1e6 / calls as f64;
    println!("record_read itself (what the handler waits for): {per_call:.2} µs a call");
}
