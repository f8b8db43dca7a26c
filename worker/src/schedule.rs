//! The refund sweep schedule: every worker ticks, exactly one enqueues the sweep per tick.

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use jobs::ids::UserId;
use jobs::job::{JobId, submit};
use jobs::refund::RefundSweepJob;
use redis::aio::ConnectionManager;

use crate::handlers::WorkerState;

#[derive(Clone)]
pub struct CronState {
    pub worker: WorkerState,
    pub redis: ConnectionManager,
    pub prefix: String,
}

/// `SET NX` on the tick time decides which process enqueues; the job id is derived from the
/// tick as well, so even a lost race could not make a second sweep of the same tick.
pub async fn on_tick(tick: Tick, state: Data<CronState>) -> Result<(), BoxDynError> {
    let at = tick.get_timestamp();
    let claim: Option<String> = redis::cmd("SET")
        .arg(format!("{}:cron:refund_sweep:{at}", state.prefix))
        .arg(&*state.worker.name)
        .arg("NX")
        .arg("EX")
        .arg(7 * 24 * 3600)
        .query_async(&mut state.redis.clone())
        .await?;
    if claim.is_none() {
        return Ok(());
    }
    let job_id = JobId::from(ulid::Ulid::from_parts(at * 1000, 0));
    let job = RefundSweepJob {
        job_id: job_id.clone(),
        requested_by: UserId::NOBODY,
        enqueued_at_ms: jobs::clock::now_ms(),
    };
    let worker = &state.worker;
    submit::enqueue(&worker.queues.refund_sweep, &worker.status, job).await?;
    tracing::info!(%job_id, tick = at, "refund sweep enqueued");
    Ok(())
}
