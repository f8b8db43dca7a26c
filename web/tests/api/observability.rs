//! Metrics as operators see them: scraped from a running web tier and workers, and the
//! dashboard's every query evaluated by a real Prometheus.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use testkit::WorkerProcess;

use crate::helpers::{TestApp, spawn_app, spawn_web_process};
use crate::money::code;
use crate::shelf::BROWSER;

const METRICS: [&str; 17] = [
    "novel_http_requests_total",
    "novel_http_request_duration_seconds",
    "novel_jobs_enqueued_total",
    "novel_jobs_completed_total",
    "novel_job_duration_seconds",
    "novel_job_wait_seconds",
    "novel_queue_depth",
    "novel_coins_total",
    "novel_sessions_active",
    "novel_logins_total",
    "novel_db_retries_total",
    "novel_id_lease_lost_total",
    "novel_clock_backwards_total",
    "novel_purchase_group_size",
    "novel_password_hashes_running",
    "novel_payments_total",
    "novel_recharge_coins_total",
];

/// The value of one exact series line (`name{labels}`), 0 if absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// Real traffic: credits, five purchases that succeed and one that cannot, a failed login, and a
/// recharge of 600 coins paid through the sandbox's signed webhook.
async fn traffic(app: &TestApp) {
    let (book_id, chapters) = app.book(6, 0).await;
    let reader = app.reader_with_coins("reader1", 75).await;
    for chapter in &chapters {
        app.buy_and_wait(reader.bearer(), chapter).await;
    }
    assert_eq!(
        code(&app.buy_and_wait(reader.bearer(), &chapters[0]).await),
        "already_bought"
    );
    assert_eq!(
        app.login("reader1", "wrong password", false).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for _ in 0..5 {
        app.get("/api/books").await;
    }
    // A reader's browser reading a chapter counts a visit.
    let (book, chapter) = (book_id.parse().unwrap(), chapters[0].parse().unwrap());
    crate::shelf::read(app, reader.bearer(), Some(BROWSER), book, chapter).await;
    let order_id = app.order_600(reader.bearer()).await;
    let delivered = app.deliver("payment.succeeded", &order_id, 600).await;
    assert_eq!(delivered.status(), StatusCode::OK);
    app.order_reaches(reader.bearer(), &order_id, "paid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_metric_is_exported_with_sensible_values_after_real_traffic() {
    let app = spawn_web_process().await;
    let before = app.metrics().await;
    let workers = [
        WorkerProcess::spawn(&app.state.settings),
        WorkerProcess::spawn(&app.state.settings),
    ];
    traffic(&app).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let web = app.metrics().await;
    let scraped = [
        app.scrape(&workers[0].metrics_url).await,
        app.scrape(&workers[1].metrics_url).await,
    ];
    // Every process exports every metric, except the HTTP ones and password hashes (only the
    // web tier serves the API), queue depth (sampled by the workers) and group sizes (only
    // workers group purchases).
    for name in METRICS {
        let on_web = !matches!(name, "novel_queue_depth" | "novel_purchase_group_size");
        let on_workers =
            !name.starts_with("novel_http_") && name != "novel_password_hashes_running";
        assert_eq!(web.contains(name), on_web, "{name} on the web tier");
        for worker in &scraped {
            assert_eq!(worker.contains(name), on_workers, "{name} on a worker");
        }
    }
    let delta = |series: &str| value(&web, series) - value(&before, series);
    assert_eq!(
        value(&before, "novel_jobs_enqueued_total{kind=\"purchase\"}"),
        0.0,
        "registered at zero"
    );
    assert_eq!(
        delta("novel_jobs_enqueued_total{kind=\"purchase\"}"),
        7.0,
        "each purchase enqueued once"
    );
    let workers_sum = |series: &str| scraped.iter().map(|w| value(w, series)).sum::<f64>();
    assert_eq!(
        workers_sum("novel_jobs_completed_total{kind=\"purchase\",outcome=\"succeeded\"}"),
        5.0
    );
    assert_eq!(
        workers_sum(
            "novel_jobs_completed_total{kind=\"purchase\",outcome=\"insufficient_balance\"}"
        ),
        1.0
    );
    assert_eq!(
        workers_sum("novel_jobs_completed_total{kind=\"purchase\",outcome=\"already_bought\"}"),
        1.0
    );
    assert_eq!(workers_sum("novel_coins_total{direction=\"spent\"}"), 75.0);
    assert_eq!(
        workers_sum("novel_payments_total{provider=\"sandbox\",outcome=\"paid\"}"),
        1.0
    );
    assert_eq!(workers_sum("novel_recharge_coins_total"), 600.0);
    assert_eq!(
        workers_sum("novel_coins_total{direction=\"recharged\"}"),
        600.0
    );
    assert_eq!(
        workers_sum("novel_job_duration_seconds_count{kind=\"purchase\"}"),
        7.0
    );
    assert_eq!(
        workers_sum("novel_purchase_group_size_sum"),
        7.0,
        "each purchase in exactly one group"
    );
    assert!(workers_sum("novel_purchase_group_size_bucket{le=\"1\"}") >= 1.0);
    assert_eq!(delta("novel_coins_total{direction=\"credited\"}"), 75.0);
    assert!(delta("novel_logins_total{outcome=\"failure\"}") >= 1.0);
    assert!(
        delta("novel_http_requests_total{method=\"GET\",route=\"/api/books\",status=\"200\"}")
            >= 5.0
    );
    assert!(
        web.contains("route=\"/api/jobs/{job_id}\""),
        "routes are labelled by their pattern, not the raw path"
    );
    assert!(web.contains("novel_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/books\",le=\"0.005\"}"), "explicit buckets");
    assert!(value(&web, "novel_sessions_active") >= 1.0);
    assert!(scraped[0].contains("novel_queue_depth{queue=\"purchase\",state=\"done\"}"));
}

struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://")
}

async fn prometheus(app: &TestApp, workers: &[WorkerProcess]) -> Prometheus {
    let binary = "/usr/bin/prometheus";
    assert!(
        std::path::Path::new(binary).exists(),
        "Debian's prometheus package is needed (scripts/test.sh installs it)"
    );
    let dir = std::env::temp_dir().join(format!("novel-prometheus-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let targets: Vec<String> = workers
        .iter()
        .map(|w| format!("\"{}\"", host(&w.metrics_url)))
        .collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: novel-web\n    static_configs:\n      - targets: [\"{}\"]\n  - job_name: novel-worker\n    static_configs:\n      - targets: [{}]\n",
        host(&app.metrics_address),
        targets.join(", ")
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prometheus = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while !app
        .plain
        .get(format!("{}/-/ready", prometheus.url))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "prometheus never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    prometheus
}

async fn query(app: &TestApp, prometheus: &Prometheus, expr: &str) -> Value {
    let response = app
        .plain
        .get(format!("{}/api/v1/query", prometheus.url))
        .query(&[("query", expr)])
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

fn dashboard() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboards/novel.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_prometheus_evaluates_every_dashboard_query_with_data() {
    let board = dashboard();
    let panels = board["panels"].as_array().unwrap();
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "Request rate",
        "Error rate",
        "latency p50 / p99",
        "Jobs per second",
        "Job wait",
        "Job run time",
        "Queue depth",
        "Coins per minute",
        "Active sessions",
        "Workers",
        "Purchases per group",
        "Payment events",
        "Coins recharged",
        "Chapter visits",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "no panel for {wanted}: {titles:?}"
        );
    }
    assert_eq!(board["templating"]["list"][0]["type"], "datasource");
    let app = spawn_app().await;
    let workers = [
        WorkerProcess::spawn(&app.state.settings),
        WorkerProcess::spawn(&app.state.settings),
    ];
    let prometheus = prometheus(&app, &workers).await;
    traffic(&app).await;
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    let mut pending = exprs.clone();
    let started = Instant::now();
    while !pending.is_empty() {
        // Keep traffic flowing so every rate() window has fresh samples.
        app.get("/api/books").await;
        let mut still = Vec::new();
        for expr in pending {
            let answer = query(&app, &prometheus, expr).await;
            assert_eq!(answer["status"], "success", "{expr}: {answer}");
            if answer["data"]["result"]
                .as_array()
                .is_none_or(Vec::is_empty)
            {
                still.push(expr);
            }
        }
        pending = still;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "queries without data: {pending:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let up = query(&app, &prometheus, "sum(up{job=\"novel-worker\"})").await;
    assert_eq!(
        up["data"]["result"][0]["value"][1], "2",
        "both workers are scraped"
    );
}
