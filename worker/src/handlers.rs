//! apalis handlers: run a job's transaction, count it, publish its outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use jobs::coins::Coins;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::income::{self, IncomeRollupJob};
use jobs::job::{Done, Job, JobView, Status, StatusStore, outcome, submit};
use jobs::metrics as m;
use jobs::payments::expiry::{self, OrderExpiryJob};
use jobs::payments::intake::Queue;
use jobs::payments::provider::Providers;
use jobs::payments::recharge::{self, RechargeJob};
use jobs::purchase::{BatchPurchaseJob, PurchaseJob};
use jobs::queues::Queues;
use jobs::redis_conn::RedisConn;
use jobs::refund::{self, RefundJob, RefundSweepJob};
use jobs::visits::{self, VisitFlushJob};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use crate::grouping::Purchases;

/// What every handler of this process shares.
#[derive(Clone)]
pub struct WorkerState {
    pub name: Arc<str>,
    pub db: Db,
    pub ids: IdGenerator,
    pub status: StatusStore,
    pub queues: Queues,
    pub purchases: Purchases,
    /// The payment providers switched on (the expiry asks them about lost events).
    pub providers: Arc<Providers>,
    pub deadlock_retries: u32,
    /// For the jobs that keep their data in Redis (`visit_flush`), under `prefix`.
    pub redis: RedisConn,
    pub prefix: Arc<str>,
}

/// A job kind as this worker runs it.
pub trait Handler: Job {
    /// Label of `novel_coins_total` for the coins this kind moves.
    const COINS: &'static str;
    /// Run by the purchase committer, which publishes `running` and the outcome for its whole
    /// group in one round trip each (`crate::grouping`).
    const GROUPED: bool = false;
    fn run<'a>(
        &'a self,
        state: &'a WorkerState,
        attempt: i32,
    ) -> impl Future<Output = anyhow::Result<Done>> + Send + 'a;
}

impl Handler for PurchaseJob {
    const COINS: &'static str = "spent";
    const GROUPED: bool = true;
    async fn run(&self, state: &WorkerState, attempt: i32) -> anyhow::Result<Done> {
        state.purchases.run(self.order(), attempt).await
    }
}

impl Handler for BatchPurchaseJob {
    const COINS: &'static str = "spent";
    const GROUPED: bool = true;
    async fn run(&self, state: &WorkerState, attempt: i32) -> anyhow::Result<Done> {
        state.purchases.run(self.order(), attempt).await
    }
}

impl Handler for RefundJob {
    const COINS: &'static str = "refunded";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        refund::run(&state.db.main, &state.ids, self, state.deadlock_retries).await
    }
}

impl Handler for RefundSweepJob {
    const COINS: &'static str = "refunded";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        sweep(state, self).await
    }
}

impl Handler for IncomeRollupJob {
    const COINS: &'static str = "spent";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        income::run(&state.db.main, self).await
    }
}

impl Handler for RechargeJob {
    const COINS: &'static str = "recharged";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        recharge::run(&state.db.main, &state.ids, self, state.deadlock_retries).await
    }
}

impl Handler for OrderExpiryJob {
    const COINS: &'static str = "recharged";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        let queue = Queue {
            storage: &state.queues.recharge,
            status: &state.status,
        };
        expiry::run(&state.db.main, &state.providers, queue, self).await
    }
}

impl Handler for VisitFlushJob {
    const COINS: &'static str = "spent";
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        let mut redis = state.redis.clone();
        visits::run(&state.db.main, &mut redis, &state.prefix, self).await
    }
}

/// Enqueues a `refund` job per user chunk, then records the sweep. A crash in between re-runs
/// the sweep, which may enqueue a record twice: the refund itself is idempotent per record.
async fn sweep(state: &WorkerState, job: &RefundSweepJob) -> anyhow::Result<Done> {
    if let Some(done) = outcome::replay(&state.db.main, &job.job_id).await? {
        return Ok(done);
    }
    let chunks = refund::refundable(&state.db.main).await?;
    let records = chunks.iter().map(|r| r.record_ids.len()).sum();
    for chunk in &chunks {
        let refund = RefundJob {
            job_id: state.queues.refund.new_id(chunk.user_id),
            user_id: chunk.user_id,
            record_ids: chunk.record_ids.clone(),
            enqueued_at_ms: jobs::clock::now_ms(),
        };
        submit::enqueue(&state.queues.refund, &state.status, refund).await?;
    }
    Ok(refund::record_sweep(&state.db.main, job, chunks.len(), records).await?)
}

/// Consumers take raw JSON so a malformed payload cannot fail the queue's decoding (which
/// would stop the consumer and leave the job at the head of the queue): it is aborted to the
/// dead set instead, where the reaper records it as failed.
fn decode<T: DeserializeOwned>(payload: Value) -> Result<T, BoxDynError> {
    serde_json::from_value(payload).map_err(|error| {
        tracing::error!(%error, "malformed job payload; giving up on it");
        AbortError::new(error).into()
    })
}

/// The handler of every queue. A transient error (MySQL or Redis down) is returned, so apalis
/// retries the job later; the retry finds the committed outcome, if any, and only publishes it.
pub async fn handle<J: Handler>(
    job: Value,
    attempt: Attempt,
    state: Data<Arc<WorkerState>>,
) -> Result<(), BoxDynError> {
    let job: J = decode(job)?;
    let kind = J::KIND.as_str();
    let span = tracing::info_span!("job", job_id = %job.job_id(), kind, worker = &*state.name);
    async move {
        let attempt = attempt.current() as i32;
        if attempt == 1 {
            let waited = (jobs::clock::now_ms() - job.enqueued_at_ms()).max(0);
            metrics::histogram!(m::JOB_WAIT, "kind" => kind).record(waited as f64 / 1000.0);
        }
        let started = Instant::now();
        if !J::GROUPED {
            let running = JobView::new(job.job_id(), J::KIND, Status::Running);
            if let Err(error) = state.status.running(&[running]).await {
                tracing::warn!(%error, "could not publish running status");
            }
        }
        let done = job.run(&state, attempt).await.inspect_err(|error| {
            tracing::warn!(error = ?error, attempt, "job failed; will retry");
        })?;
        if !done.replayed {
            let outcome = done
                .view
                .error
                .as_ref()
                .map_or("succeeded", |e| e.code.as_str());
            metrics::counter!(m::JOBS_COMPLETED, "kind" => kind, "outcome" => outcome).increment(1);
            metrics::histogram!(m::JOB_DURATION, "kind" => kind)
                .record(started.elapsed().as_secs_f64());
            if done.coins > Coins::ZERO {
                metrics::counter!(m::COINS, "direction" => J::COINS)
                    .increment(done.coins.get() as u64);
            }
        }
        if !J::GROUPED {
            state.status.terminal(&[(&done.view, job.owner())]).await?;
        }
        tracing::info!(status = ?done.view.status, replayed = done.replayed, "job done");
        Ok(())
    }
    .instrument(span)
    .await
}
