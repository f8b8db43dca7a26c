//! apalis handlers: run a job's transaction, count it, publish its outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::{JobView, Kind, Status, StatusStore};
use jobs::metrics as m;
use jobs::purchase::{self, BatchPurchaseJob, Done, PurchaseJob};
use jobs::queue::{self, Queues};
use jobs::refund::{self, RefundJob, RefundSweepJob};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

/// What every handler of this process shares.
#[derive(Clone)]
pub struct WorkerState {
    pub name: Arc<str>,
    pub db: Db,
    pub ids: IdGenerator,
    pub status: StatusStore,
    pub queues: Queues,
    pub deadlock_retries: u32,
}

/// One job as the shared runner sees it.
struct Meta<'a> {
    kind: Kind,
    job_id: &'a str,
    owner: i64,
    enqueued_at_ms: i64,
    /// Label of `novel_coins_total` for the coins this kind moves.
    coins: &'static str,
}

pub async fn purchase(
    job: Value,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    let job: PurchaseJob = decode(job)?;
    let meta = Meta {
        kind: Kind::Purchase,
        job_id: &job.job_id,
        owner: job.user_id,
        enqueued_at_ms: job.enqueued_at_ms,
        coins: "spent",
    };
    let order = job.order();
    let retries = state.deadlock_retries;
    process(&state, meta, attempt, |a| {
        purchase::run(&state.db.main, &state.ids, &order, a, retries)
    })
    .await
}

pub async fn batch_purchase(
    job: Value,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    let job: BatchPurchaseJob = decode(job)?;
    let meta = Meta {
        kind: Kind::BatchPurchase,
        job_id: &job.job_id,
        owner: job.user_id,
        enqueued_at_ms: job.enqueued_at_ms,
        coins: "spent",
    };
    let order = job.order();
    let retries = state.deadlock_retries;
    process(&state, meta, attempt, |a| {
        purchase::run(&state.db.main, &state.ids, &order, a, retries)
    })
    .await
}

pub async fn refund(
    job: Value,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    let job: RefundJob = decode(job)?;
    let meta = Meta {
        kind: Kind::Refund,
        job_id: &job.job_id,
        owner: job.user_id,
        enqueued_at_ms: job.enqueued_at_ms,
        coins: "refunded",
    };
    let retries = state.deadlock_retries;
    process(&state, meta, attempt, |_| {
        refund::run(&state.db.main, &state.ids, &job, retries)
    })
    .await
}

pub async fn refund_sweep(
    job: Value,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    let job: RefundSweepJob = decode(job)?;
    let meta = Meta {
        kind: Kind::RefundSweep,
        job_id: &job.job_id,
        owner: job.requested_by,
        enqueued_at_ms: job.enqueued_at_ms,
        coins: "refunded",
    };
    process(&state, meta, attempt, |_| sweep(&state, &job)).await
}

/// Enqueues a `refund` job per user chunk, then records the sweep. A crash in between re-runs
/// the sweep, which may enqueue a record twice: the refund itself is idempotent per record.
async fn sweep(state: &WorkerState, job: &RefundSweepJob) -> anyhow::Result<Done> {
    if let Some(view) = jobs::outcome::recorded(&state.db.main, &job.job_id).await? {
        return Ok(Done {
            view,
            spent: 0,
            replayed: true,
        });
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

/// A transient error (MySQL or Redis down) is returned, so apalis retries the job later;
/// the retry finds the committed outcome, if any, and only publishes it again.
async fn process<F, Fut>(
    state: &WorkerState,
    meta: Meta<'_>,
    attempt: Attempt,
    run: F,
) -> Result<(), BoxDynError>
where
    F: FnOnce(i32) -> Fut,
    Fut: Future<Output = anyhow::Result<Done>>,
{
    let kind = meta.kind.as_str();
    let span = tracing::info_span!("job", job_id = meta.job_id, kind, worker = &*state.name);
    async move {
        let attempt = attempt.current() as i32;
        if attempt == 1 {
            let waited = (now_ms() - meta.enqueued_at_ms).max(0);
            metrics::histogram!(m::JOB_WAIT, "kind" => kind).record(waited as f64 / 1000.0);
        }
        let started = Instant::now();
        if let Err(error) = state
            .status
            .running(&JobView::new(meta.job_id, meta.kind, Status::Running))
            .await
        {
            tracing::warn!(%error, "could not publish running status");
        }
        let done = run(attempt).await.inspect_err(
            |error| tracing::warn!(error = ?error, attempt, "job failed; will retry"),
        )?;
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
                metrics::counter!(m::COINS, "direction" => meta.coins).increment(done.spent as u64);
            }
        }
        state.status.terminal(&done.view, meta.owner).await?;
        tracing::info!(status = ?done.view.status, replayed = done.replayed, "job done");
        Ok(())
    }
    .instrument(span)
    .await
}
