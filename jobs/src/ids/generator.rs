//! The process-wide id generator: mints locally, only while its Redis lease is provably held.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::redis_conn::RedisConn;
use rand::Rng;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::lease::{Acquired, Lease};
use super::snowflake::{Next, RANDOM_START_BELOW, Snowflake};
use super::typed::EntityId;
use crate::metrics as m;

#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error("no machine id lease is held right now")]
    NotLeased,
    #[error("the clock went back {0} ms; refusing to mint ids")]
    ClockWentBack(u64),
    #[error("every machine id of this datacenter is leased")]
    NoFreeMachine,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

struct Inner {
    base: Instant,
    /// Milliseconds since `base` until which the lease is known to be ours; 0 = fenced.
    valid_until: AtomicU64,
    snowflake: Mutex<Option<Snowflake>>,
    task: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

#[derive(Clone)]
pub struct IdGenerator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGenerator")
            .field("machine", &self.machine_id())
            .finish()
    }
}

fn unix_ms() -> u64 {
    u64::try_from(crate::clock::now_ms()).unwrap_or(0)
}

impl IdGenerator {
    /// Leases a machine id and keeps renewing it in the background. Minting starts as soon as
    /// the lease is safe to use (at once after a clean handover, else after one TTL).
    pub async fn start(
        redis: RedisConn,
        prefix: &str,
        datacenter: u8,
        ttl: Duration,
    ) -> Result<Self, IdError> {
        let mut lease = Lease::new(redis, prefix, datacenter, ttl);
        let acquired = lease.acquire().await?.ok_or(IdError::NoFreeMachine)?;
        let inner = Arc::new(Inner {
            base: Instant::now(),
            valid_until: AtomicU64::new(0),
            snowflake: Mutex::new(None),
            task: Mutex::new(None),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(maintain(inner.clone(), lease, acquired, stop_rx));
        *inner.task.lock().expect("poisoned") = Some((stop_tx, task));
        Ok(Self { inner })
    }

    /// The machine id currently held, if minting is allowed.
    pub fn machine_id(&self) -> Option<u8> {
        self.inner
            .snowflake
            .lock()
            .expect("poisoned")
            .as_ref()
            .map(Snowflake::machine)
    }

    /// One id, or an error when the lease is not (or no longer) provably held.
    pub fn next<T: EntityId>(&self) -> Result<T, IdError> {
        self.next_raw().map(T::from_raw)
    }

    fn next_raw(&self) -> Result<i64, IdError> {
        loop {
            let mut guard = self.inner.snowflake.lock().expect("poisoned");
            // Read the clock under the lock: a thread that waited for it must not mint "earlier".
            let now_ms = unix_ms();
            let elapsed = self.inner.base.elapsed().as_millis() as u64;
            if elapsed >= self.inner.valid_until.load(Ordering::Acquire) {
                return Err(IdError::NotLeased);
            }
            let snowflake = guard.as_mut().ok_or(IdError::NotLeased)?;
            let start = rand::rng().random_range(0..RANDOM_START_BELOW);
            let wait_until = match snowflake.next(now_ms, start) {
                Next::Id(id) => return Ok(id),
                Next::WaitUntil(ms) => ms,
                Next::ClockStepBack(ms) => {
                    metrics::counter!(m::CLOCK_BACKWARDS).increment(1);
                    ms
                }
                Next::ClockWentBack { behind_ms } => {
                    metrics::counter!(m::CLOCK_BACKWARDS).increment(1);
                    return Err(IdError::ClockWentBack(behind_ms));
                }
            };
            drop(guard);
            let wait = wait_until
                .saturating_sub(now_ms)
                .min(super::snowflake::MAX_BACKWARDS_WAIT_MS);
            std::thread::sleep(Duration::from_millis(wait));
        }
    }

    /// Like `next`, but waits (up to about two lease TTLs) for a lease to become usable.
    pub async fn mint<T: EntityId>(&self) -> Result<T, IdError> {
        self.mint_raw().await.map(T::from_raw)
    }

    /// Waits, as [`Self::mint`], until minting works (the id it took to find out is dropped).
    pub async fn ready(&self) -> Result<(), IdError> {
        self.mint_raw().await.map(drop)
    }

    async fn mint_raw(&self) -> Result<i64, IdError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.next_raw() {
                Err(IdError::NotLeased) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// Stops minting and releases the lease so a successor can start at once.
    pub async fn shutdown(&self) {
        let task = self.inner.task.lock().expect("poisoned").take();
        if let Some((stop, handle)) = task {
            let _ = stop.send(());
            let _ = handle.await;
        }
    }
}

async fn maintain(
    inner: Arc<Inner>,
    mut lease: Lease,
    mut acquired: Acquired,
    mut stop: oneshot::Receiver<()>,
) {
    let ttl = lease.ttl();
    let mut own_last_ms = 0;
    loop {
        let machine = acquired.machine;
        let floor_ms = acquired.floor_ms.max(own_last_ms);
        let taken_at = inner.base.elapsed();
        // After an unclean handover the old holder may still mint until its lease runs out.
        let ready_at = if acquired.clean {
            taken_at
        } else {
            taken_at + ttl
        };
        tracing::info!(
            machine,
            floor_ms,
            clean = acquired.clean,
            "id lease acquired"
        );
        let mut renewed_at = taken_at;
        let mut next_renew = taken_at + ttl / 3;
        let mut minting = false;
        let lost = loop {
            let now = inner.base.elapsed();
            if !minting && now >= ready_at {
                let snowflake = Snowflake::new(lease.datacenter(), machine, floor_ms);
                *inner.snowflake.lock().expect("poisoned") = Some(snowflake);
                extend(&inner, renewed_at + ttl);
                minting = true;
            }
            let wake = if minting {
                next_renew
            } else {
                next_renew.min(ready_at)
            };
            tokio::select! {
                _ = tokio::time::sleep(wake.saturating_sub(now)) => {}
                _ = &mut stop => {
                    let last = fence(&inner).max(own_last_ms);
                    if let Err(error) = lease.release(machine, last).await {
                        tracing::warn!(%error, "id lease release failed; it will expire");
                    }
                    return;
                }
            }
            if inner.base.elapsed() < next_renew {
                continue;
            }
            let sent = inner.base.elapsed();
            next_renew = sent + ttl / 3;
            match lease
                .renew(machine, current_last(&inner).max(floor_ms))
                .await
            {
                Ok(true) => {
                    renewed_at = sent;
                    if minting {
                        extend(&inner, sent + ttl);
                    }
                }
                Ok(false) => break true,
                Err(error) => tracing::warn!(%error, "id lease renewal failed; retrying"),
            }
        };
        if lost {
            metrics::counter!(m::ID_LEASE_LOST).increment(1);
            tracing::error!(machine, "id lease lost; minting stopped until re-leased");
            own_last_ms = fence(&inner).max(floor_ms);
        }
        acquired = loop {
            match lease.acquire().await {
                Ok(Some(next)) => break next,
                Ok(None) => tracing::error!("no free machine id; retrying"),
                Err(error) => tracing::warn!(%error, "id lease acquire failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(ttl / 3) => {}
                _ = &mut stop => return,
            }
        };
    }
}

fn extend(inner: &Inner, until: Duration) {
    inner
        .valid_until
        .store(until.as_millis() as u64, Ordering::Release);
}

/// Stops minting at once; returns the last millisecond minted.
fn fence(inner: &Inner) -> u64 {
    let mut guard = inner.snowflake.lock().expect("poisoned");
    inner.valid_until.store(0, Ordering::Release);
    guard.take().map_or(0, |s| s.last_ms())
}

fn current_last(inner: &Inner) -> u64 {
    inner
        .snowflake
        .lock()
        .expect("poisoned")
        .as_ref()
        .map_or(0, Snowflake::last_ms)
}
