//! A bounded number of turns at CPU-heavy work run on the blocking pool (Argon2 hashes, cover
//! re-encodes): a burst waits a short while for a turn and is then shed with 503 and
//! `Retry-After`, instead of queueing unbounded work and memory behind the pool.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

pub struct Turns {
    turns: Arc<Semaphore>,
    wait: Duration,
}

impl Turns {
    pub fn new(count: usize, wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(count)),
            wait,
        }
    }

    /// A turn, held until the permit drops; after `wait` without one, 503 `unavailable`.
    pub async fn take(&self) -> ApiResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Overloaded {
                retry_after_secs: 1,
            }),
        }
    }
}
