//! `TestApp`: a real web tier on port 0 over a fresh database and a unique Redis prefix.

use std::time::Duration;

use jobs::config::Settings;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use web::state::AppState;

pub use crate::client::{As, PASSWORD, Signed, csrf_of};

pub struct TestApp {
    pub address: String,
    pub metrics_address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    /// No cookie jar: every request says explicitly how it authenticates (`As`).
    pub plain: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The web tier as its own process (`spawn_web_process`), killed on drop.
    process: Option<std::process::Child>,
}

pub use testkit::settings as test_settings;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    adjust(&mut settings);
    jobs::db::migrate(&settings.database, &settings.sharding)
        .await
        .expect("migrations apply");
    start(settings).await
}

/// Serves `settings` as they are (no migration: the database may be unreachable on purpose).
pub async fn start(settings: Settings) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let metrics_address = format!("http://{}", metrics.local_addr().unwrap());
    let state = web::build_state(settings).await.expect("state builds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(state.clone(), listener, metrics, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    TestApp {
        address,
        metrics_address,
        state,
        client,
        plain,
        stop: Some(stop),
        process: None,
    }
}

/// The `web` binary as operators run it, over a fresh database: for tests that read the
/// process's own metrics. `state` still works for fixtures.
pub async fn spawn_web_process() -> TestApp {
    spawn_web_process_with(&[]).await
}

/// [`spawn_web_process`] with extra `NOVEL__…` overrides.
pub async fn spawn_web_process_with(env: &[(&str, &str)]) -> TestApp {
    use secrecy::ExposeSecret;
    let settings = test_settings();
    jobs::db::migrate(&settings.database, &settings.sharding)
        .await
        .expect("migrations apply");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_web"))
        .arg("serve")
        .envs(testkit::redis_env(&settings))
        .envs(env.iter().copied())
        .env("NOVEL_ENV", "test")
        .env(
            "NOVEL__DATABASE__URL",
            settings.database.url.expose_secret(),
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = testkit::first_line(&mut child);
    let urls: Vec<&str> = line
        .split_whitespace()
        .filter(|w| w.starts_with("http://"))
        .collect();
    let mut app = start(settings).await;
    app.address = urls[0].to_owned();
    app.metrics_address = urls[1].to_owned();
    app.process = Some(child);
    app
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl TestApp {
    /// The Prometheus text a process serves at `url` (its metrics address).
    pub async fn scrape(&self, url: &str) -> String {
        let metrics = self.plain.get(format!("{url}/metrics")).send().await;
        metrics.unwrap().text().await.unwrap()
    }

    /// This app's own metrics.
    pub async fn metrics(&self) -> String {
        self.scrape(&self.metrics_address).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Loads the demo catalog into this test's database.
    pub async fn load_demo(&self) {
        let loaded = jobs::demo::load(
            &self.state.db,
            &self.state.ids,
            &self.state.settings.pricing,
        )
        .await
        .expect("demo loads");
        assert!(loaded);
    }
}

/// Asserts the status and the documented error shape; returns the body.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// The `Retry-After` of a response, in seconds.
pub fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn json(response: Response) -> Value {
    assert!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    response.json().await.unwrap()
}
