//! apalis handlers: run a job's transaction, count it, publish its outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::{JobView, Kind, Status, StatusStore};
use jobs::metrics as m;
use jobs::purchase::{BatchPurchaseJob, Done, PurchaseJob};
use jobs::queue::{self, Queues};
use jobs::refund::{self, RefundJob, RefundSweepJob};
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
    pub deadlock_retries: u32,
}

/// A job kind as this worker runs it.
pub trait Job: DeserializeOwned + Send + Sync + 'static {
    const KIND: Kind;
    /// Label of `novel_coins_total` for the coins this kind moves.
    const COINS: &'static str;
    /// Run by the purchase committer, which publishes `running` and the outcome for its whole
    /// group in one round trip each (`crate::grouping`).
    const GROUPED: bool = false;
    fn job_id(&self) -> &str;
    /// Who may poll it.
    fn owner(&self) -> i64;
    fn enqueued_at_ms(&self) -> i64;
    fn run<'a>(
        &'a self,
        state: &'a WorkerState,
        attempt: i32,
    ) -> impl Future<Output = anyhow::Result<Done>> + Send + 'a;
}

/// The three fields every payload carries; `$owner` names the one that says who may poll it.
macro_rules! payload_fields {
    ($owner:ident) => {
        fn job_id(&self) -> &str {
            &self.job_id
        }
        fn owner(&self) -> i64 {
            self.$owner
        }
        fn enqueued_at_ms(&self) -> i64 {
            self.enqueued_at_ms
        }
    };
}

/// A purchase kind: run by the purchase committer, which groups it with others.
macro_rules! grouped_purchase {
    ($job:ty, $kind:expr) => {
        impl Job for $job {
            const KIND: Kind = $kind;
            const COINS: &'static str = "spent";
            const GROUPED: bool = true;
            payload_fields!(user_id);
            async fn run(&self, state: &WorkerState, attempt: i32) -> anyhow::Result<Done> {
                state.purchases.run(self.order(), attempt).await
            }
        }
    };
}

grouped_purchase!(PurchaseJob, Kind::Purchase);
grouped_purchase!(BatchPurchaseJob, Kind::BatchPurchase);

impl Job for RefundJob {
    const KIND: Kind = Kind::Refund;
    const COINS: &'static str = "refunded";
    payload_fields!(user_id);
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        refund::run(&state.db.main, &state.ids, self, state.deadlock_retries).await
    }
}

impl Job for RefundSweepJob {
    const KIND: Kind = Kind::RefundSweep;
    const COINS: &'static str = "refunded";
    payload_fields!(requested_by);
    async fn run(&self, state: &WorkerState, _attempt: i32) -> anyhow::Result<Done> {
        sweep(state, self).await
    }
}

/// Enqueues a `refund` job per user chunk, then records the sweep. A crash in between re-runs
/// the sweep, which may enqueue a record twice: the refund itself is idempotent per record.
async fn sweep(state: &WorkerState, job: &RefundSweepJob) -> anyhow::Result<Done> {
    if let Some(done) = jobs::outcome::replay(&state.db.main, &job.job_id).await? {
        return Ok(done);
    }
    let chunks = refund::refundable(&state.db.main).await?;
    let records = chunks.iter().map(|(_, r)| r.len()).sum();
    for (user_id, record_ids) in &chunks {
        let job_id = ulid::Ulid::new().to_string();
        let refund = RefundJob {
            job_id: job_id.clone(),
            user_id: *user_id,
            record_ids: record_ids.clone(),
            enqueued_at_ms: now_ms(),
        };
        queue::enqueue(
            &state.queues.refund,
            &state.status,
            Kind::Refund,
            *user_id,
            &job_id,
            refund,
        )
        .await?;
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

pub fn now_ms() -> i64 {
    jobs::json::now_millis().timestamp_millis()
}

/// The handler of every queue. A transient error (MySQL or Redis down) is returned, so apalis
/// retries the job later; the retry finds the committed outcome, if any, and only publishes it.
pub async fn handle<J: Job>(
    job: Value,
    attempt: Attempt,
    state: Data<Arc<WorkerState>>,
) -> Result<(), BoxDynError> {
    let job: J = decode(job)?;
    let kind = J::KIND.as_str();
    let span = tracing::info_span!("job", job_id = job.job_id(), kind, worker = &*state.name);
    async move {
        let attempt = attempt.current() as i32;
        if attempt == 1 {
            let waited = (now_ms() - job.enqueued_at_ms()).max(0);
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
            if done.spent > 0 {
                metrics::counter!(m::COINS, "direction" => J::COINS).increment(done.spent as u64);
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
