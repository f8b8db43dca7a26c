//! The `order_expiry` job (cron, every minute): pending orders past their time expire, in
//! bounded batches. A provider that keeps payments (Stripe) is asked first, since its webhook may
//! have been lost: paid → a `recharge` job as for a success event, expired → the order expires,
//! still open → it waits, unreachable → the next run asks again.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::MySqlPool;

use super::event::Charge;
use super::intake::Queue;
use super::orders::{self, Order};
use super::provider::{Providers, Remote, RemoteState};
use super::recharge::RechargeJob;
use crate::ids::UserId;
use crate::job::outcome::{self, replay};
use crate::job::{Done, JobId, JobView, Kind, payload, submit};

/// Orders read per batch.
pub const BATCH: u32 = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderExpiryJob {
    pub job_id: JobId,
    /// Nobody: the schedule.
    #[serde(with = "crate::ids::number")]
    pub requested_by: UserId,
    pub enqueued_at_ms: i64,
}

payload!(OrderExpiryJob, Kind::OrderExpiry, requested_by);

/// What one run did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    expired: u64,
    recharged: u64,
    waiting: u64,
}

pub async fn run(
    pool: &MySqlPool,
    providers: &Providers,
    queue: Queue<'_>,
    job: &OrderExpiryJob,
) -> anyhow::Result<Done> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok(done);
    }
    let now = crate::clock::now();
    let mut tally = Tally::default();
    let mut after = None;
    loop {
        let due = orders::due(pool, now, after, BATCH).await?;
        for order in &due {
            settle(pool, providers, queue, order, &mut tally).await?;
        }
        match due.last() {
            Some(last) if due.len() == BATCH as usize => {
                after = Some((last.expires_at, last.order_id));
            }
            _ => break,
        }
    }
    let view = JobView::succeeded(
        &job.job_id,
        Kind::OrderExpiry,
        json!({
            "expired": tally.expired, "recharged": tally.recharged, "waiting": tally.waiting,
        }),
    );
    Ok(outcome::record(pool, view, job.requested_by, 1).await?)
}

/// One due order: asked about where its provider keeps payments, then expired or recharged.
async fn settle(
    pool: &MySqlPool,
    providers: &Providers,
    queue: Queue<'_>,
    order: &Order,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let provider = providers.get(order.provider);
    let remote = match (provider, order.provider_ref.as_deref()) {
        (Some(provider), Some(reference)) => match provider.lookup(reference).await {
            Ok(remote) => remote,
            Err(error) if error.is_transient() => {
                tracing::warn!(order_id = %order.order_id, %error, "payment lookup failed");
                tally.waiting += 1;
                return Ok(());
            }
            // A payment the provider refuses to tell about expires (a success event for it
            // would still credit).
            Err(error) => {
                tracing::error!(order_id = %order.order_id, %error, "payment lookup refused");
                None
            }
        },
        _ => None,
    };
    match remote {
        Some(remote) if remote.state == RemoteState::Paid => {
            recharge(queue, order, remote, tally).await?;
        }
        Some(remote) if remote.state == RemoteState::Unpaid => tally.waiting += 1,
        _ => {
            if orders::expire(pool, order.order_id).await? {
                tally.expired += 1;
            }
        }
    }
    Ok(())
}

/// A payment the provider says was taken: credited by a `recharge` job as for its success event
/// (the same job id, so a late webhook makes no second one).
async fn recharge(
    queue: Queue<'_>,
    order: &Order,
    remote: Remote,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let (Some(amount), Some(currency)) = (remote.amount, remote.currency) else {
        tracing::warn!(
            order_id = %order.order_id,
            "a paid payment without its amount"
        );
        tally.waiting += 1;
        return Ok(());
    };
    let charge = Charge {
        order_id: order.order_id,
        amount,
        currency,
    };
    let reference = order.provider_ref.as_deref().unwrap_or_default();
    let event_id = format!("lookup-{reference}");
    let job = RechargeJob::new(order.user_id, order.provider, event_id, true, charge);
    submit::enqueue(queue.storage, queue.status, job).await?;
    tally.recharged += 1;
    Ok(())
}
