//! The cron schedules (refund sweep, income rollup, order expiry, visit flush): every worker
//! ticks, exactly one enqueues the job of each tick.

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use jobs::ids::UserId;
use jobs::income::{self, IncomeRollupJob};
use jobs::job::{Job, JobId, submit};
use jobs::payments::expiry::OrderExpiryJob;
use jobs::redis_conn::RedisConn;
use jobs::refund::RefundSweepJob;
use jobs::visits::VisitFlushJob;

use crate::handlers::WorkerState;

/// A job the schedule enqueues.
#[derive(Debug, Clone, Copy)]
pub enum Scheduled {
    RefundSweep,
    IncomeRollup,
    OrderExpiry,
    VisitFlush,
}

#[derive(Clone)]
pub struct CronState {
    pub worker: WorkerState,
    pub redis: RedisConn,
    pub prefix: String,
    pub scheduled: Scheduled,
}

/// `SET NX` on the tick time decides which process enqueues; the job id is derived from the
/// tick (and the kind) as well, so even a lost race could not make a second job of one tick.
pub async fn on_tick(tick: Tick, state: Data<CronState>) -> Result<(), BoxDynError> {
    let at = tick.get_timestamp();
    let (kind, random) = match state.scheduled {
        Scheduled::RefundSweep => (RefundSweepJob::KIND, 0),
        Scheduled::IncomeRollup => (IncomeRollupJob::KIND, 1),
        Scheduled::OrderExpiry => (OrderExpiryJob::KIND, 2),
        Scheduled::VisitFlush => (VisitFlushJob::KIND, 3),
    };
    let claim: Option<String> = redis::cmd("SET")
        .arg(format!("{}:cron:{}:{at}", state.prefix, kind.as_str()))
        .arg(&*state.worker.name)
        .arg("NX")
        .arg("EX")
        .arg(7 * 24 * 3600)
        .query_async(&mut state.redis.clone())
        .await?;
    if claim.is_none() {
        return Ok(());
    }
    let job_id = JobId::from(ulid::Ulid::from_parts(at * 1000, random));
    let enqueued_at_ms = jobs::clock::now_ms();
    let worker = &state.worker;
    match state.scheduled {
        Scheduled::RefundSweep => {
            let job = RefundSweepJob {
                job_id: job_id.clone(),
                requested_by: UserId::NOBODY,
                enqueued_at_ms,
            };
            submit::enqueue(&worker.queues.refund_sweep, &worker.status, job).await?;
        }
        Scheduled::IncomeRollup => {
            let days = income::scheduled_days(jobs::clock::now());
            let job = IncomeRollupJob {
                job_id: job_id.clone(),
                requested_by: UserId::NOBODY,
                from: days.from(),
                to: days.to(),
                enqueued_at_ms,
            };
            submit::enqueue(&worker.queues.income_rollup, &worker.status, job).await?;
        }
        Scheduled::OrderExpiry => {
            let job = OrderExpiryJob {
                job_id: job_id.clone(),
                requested_by: UserId::NOBODY,
                enqueued_at_ms,
            };
            submit::enqueue(&worker.queues.order_expiry, &worker.status, job).await?;
        }
        Scheduled::VisitFlush => {
            let job = VisitFlushJob {
                job_id: job_id.clone(),
                requested_by: UserId::NOBODY,
                enqueued_at_ms,
            };
            submit::enqueue(&worker.queues.visit_flush, &worker.status, job).await?;
        }
    }
    tracing::info!(
        %job_id,
        tick = at,
        kind = kind.as_str(),
        "scheduled job enqueued"
    );
    Ok(())
}
