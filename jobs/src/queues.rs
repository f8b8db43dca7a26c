//! Handles to every kind's queues, for producers (web, the sweep) and the worker's consumers.

use crate::job::queue::Partitioned;
use crate::redis_conn::RedisConn;

use crate::config::JobSettings;
use crate::income::IncomeRollupJob;
use crate::job::Kind;
use crate::payments::expiry::OrderExpiryJob;
use crate::payments::recharge::RechargeJob;
use crate::purchase::{BatchPurchaseJob, PurchaseJob};
use crate::refund::{RefundJob, RefundSweepJob};
use crate::visits::VisitFlushJob;

/// Handles to every queue (for producers, and for the worker's consumers: `batch_size`): a
/// partitioned kind's in every partition, the others' in partition 0.
#[derive(Clone)]
pub struct Queues {
    pub purchase: Partitioned<PurchaseJob>,
    pub batch_purchase: Partitioned<BatchPurchaseJob>,
    pub refund: Partitioned<RefundJob>,
    pub refund_sweep: Partitioned<RefundSweepJob>,
    pub income_rollup: Partitioned<IncomeRollupJob>,
    pub recharge: Partitioned<RechargeJob>,
    pub order_expiry: Partitioned<OrderExpiryJob>,
    pub visit_flush: Partitioned<VisitFlushJob>,
}

impl Queues {
    pub fn new(redis: &RedisConn, prefix: &str, settings: &JobSettings, batch_size: usize) -> Self {
        Self {
            purchase: Partitioned::new(redis, prefix, Kind::Purchase, settings, batch_size),
            batch_purchase: Partitioned::new(
                redis,
                prefix,
                Kind::BatchPurchase,
                settings,
                batch_size,
            ),
            refund: Partitioned::new(redis, prefix, Kind::Refund, settings, batch_size),
            refund_sweep: Partitioned::new(redis, prefix, Kind::RefundSweep, settings, batch_size),
            income_rollup: Partitioned::new(
                redis,
                prefix,
                Kind::IncomeRollup,
                settings,
                batch_size,
            ),
            recharge: Partitioned::new(redis, prefix, Kind::Recharge, settings, batch_size),
            order_expiry: Partitioned::new(redis, prefix, Kind::OrderExpiry, settings, batch_size),
            visit_flush: Partitioned::new(redis, prefix, Kind::VisitFlush, settings, batch_size),
        }
    }
}

/// At start: records the deployment's `jobs.partitions` in Redis, or refuses to start when the
/// processes already running use another count (jobs queued into a partition no worker consumes
/// would wait forever, and a user's `Idempotency-Key` claims would be looked up elsewhere).
pub async fn check_partitions(
    redis: &RedisConn,
    prefix: &str,
    partitions: u16,
) -> anyhow::Result<()> {
    let key = crate::keys::partitions_in_use(prefix);
    let mut redis = redis.clone();
    redis::cmd("SET")
        .arg(&key)
        .arg(partitions)
        .arg("NX")
        .exec_async(&mut redis)
        .await?;
    let recorded: Option<u16> = redis::cmd("GET").arg(&key).query_async(&mut redis).await?;
    match recorded {
        Some(other) if other != partitions => anyhow::bail!(
            "configuration key `jobs.partitions` is {partitions}, but the processes of this \
             deployment use {other} (Redis key `{key}`): give every web and worker process the \
             same count; to change it, stop them all with the queues drained and delete that key"
        ),
        _ => Ok(()),
    }
}
