//! apalis handlers: run a job's transaction, count it, publish its outcome.

use std::sync::Arc;
use std::time::Instant;

use apalis::prelude::{Attempt, BoxDynError, Data};
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::{JobView, Kind, Status, StatusStore};
use jobs::metrics as m;
use jobs::purchase::{self, BatchPurchaseJob, Order, PurchaseJob};
use tracing::Instrument;

/// What every handler of this process shares.
#[derive(Clone)]
pub struct WorkerState {
    pub name: Arc<str>,
    pub db: Db,
    pub ids: IdGenerator,
    pub status: StatusStore,
    pub deadlock_retries: u32,
}

pub async fn purchase(
    job: PurchaseJob,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    process(&state, &job.order(), job.enqueued_at_ms, attempt).await
}

pub async fn batch_purchase(
    job: BatchPurchaseJob,
    attempt: Attempt,
    state: Data<WorkerState>,
) -> Result<(), BoxDynError> {
    process(&state, &job.order(), job.enqueued_at_ms, attempt).await
}

/// A transient error (MySQL or Redis down) is returned, so apalis retries the job later;
/// the retry finds the committed outcome, if any, and only publishes it again.
async fn process(
    state: &WorkerState,
    order: &Order<'_>,
    enqueued_at_ms: i64,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let kind = order.kind.as_str();
    let span = tracing::info_span!("job", job_id = order.job_id, kind, worker = &*state.name);
    async move {
        let attempt = attempt.current() as i32;
        if attempt == 1 {
            let waited = (jobs::json::now_millis().timestamp_millis() - enqueued_at_ms).max(0);
            metrics::histogram!(m::JOB_WAIT, "kind" => kind).record(waited as f64 / 1000.0);
        }
        let started = Instant::now();
        if let Err(error) = state
            .status
            .running(&JobView::new(order.job_id, order.kind, Status::Running))
            .await
        {
            tracing::warn!(%error, "could not publish running status");
        }
        let done = purchase::run(
            &state.db.main,
            &state.ids,
            order,
            attempt,
            state.deadlock_retries,
        )
        .await
        .inspect_err(|error| tracing::warn!(error = ?error, attempt, "job failed; will retry"))?;
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
                metrics::counter!(m::COINS, "direction" => "spent").increment(done.spent as u64);
            }
        }
        state.status.terminal(&done.view, order.user_id).await?;
        tracing::info!(status = ?done.view.status, replayed = done.replayed, "job done");
        Ok(())
    }
    .instrument(span)
    .await
}

/// The kinds this worker runs, for metrics registration.
pub const KINDS: [Kind; 2] = [Kind::Purchase, Kind::BatchPurchase];
