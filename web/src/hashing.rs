//! Argon2id off the async threads, at most `http.hash_concurrency` at once: every hash takes
//! 19 MiB and tens of milliseconds, so a burst waits a short while for a turn and is then shed
//! with 503 instead of queueing gigabytes of work on the blocking pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::error::{ApiError, ApiResult};
use crate::turns::Turns;
use jobs::accounts;
use jobs::config::HttpSettings;

/// A verifier for unknown accounts, so their answer takes as long as a wrong password's.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| accounts::hash_password("no account has this password"));

/// The process's bounded Argon2 runner (one in `AppState`).
pub struct Hasher {
    turns: Turns,
    running: Arc<AtomicUsize>,
}

/// Registers the hashing gauge at 0 (web processes only: workers hash nothing).
pub fn register_metrics() {
    metrics::gauge!(jobs::metrics::HASHES_RUNNING).set(0.0);
}

impl Hasher {
    pub fn new(settings: &HttpSettings) -> Self {
        Self {
            turns: Turns::new(
                settings.hash_concurrency,
                Duration::from_millis(settings.hash_queue_timeout_ms),
            ),
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Hashes running right now (also the `novel_password_hashes_running` gauge).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.run(move || accounts::hash_password(&password)).await
    }

    /// Verifies against `stored`, or against a dummy hash when there is none (answers false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> ApiResult<bool> {
        self.run(move || match stored {
            Some(hash) => accounts::verify_password(&password, &hash),
            None => {
                let _ = accounts::verify_password(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        // Waits up to `http.hash_queue_timeout_ms` for a turn, else 503 with `Retry-After`.
        let turn = self.turns.take().await?;
        let running = self.running.clone();
        tokio::task::spawn_blocking(move || {
            let gauge = metrics::gauge!(jobs::metrics::HASHES_RUNNING);
            gauge.set((running.fetch_add(1, Ordering::SeqCst) + 1) as f64);
            let output = work();
            gauge.set((running.fetch_sub(1, Ordering::SeqCst) - 1) as f64);
            drop(turn);
            output
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }
}
