//! Handles to every kind's queue, for producers (web, the sweep) and the worker's consumers.

use crate::job::queue::Storage;
use crate::redis_conn::RedisConn;

use crate::config::JobSettings;
use crate::income::IncomeRollupJob;
use crate::job::Kind;
use crate::job::queue::{config, storage};
use crate::payments::expiry::OrderExpiryJob;
use crate::payments::recharge::RechargeJob;
use crate::purchase::{BatchPurchaseJob, PurchaseJob};
use crate::refund::{RefundJob, RefundSweepJob};
use crate::visits::VisitFlushJob;

/// Handles to every queue (for producers, and for the worker's consumers: `batch_size`).
#[derive(Clone)]
pub struct Queues {
    pub purchase: Storage<PurchaseJob>,
    pub batch_purchase: Storage<BatchPurchaseJob>,
    pub refund: Storage<RefundJob>,
    pub refund_sweep: Storage<RefundSweepJob>,
    pub income_rollup: Storage<IncomeRollupJob>,
    pub recharge: Storage<RechargeJob>,
    pub order_expiry: Storage<OrderExpiryJob>,
    pub visit_flush: Storage<VisitFlushJob>,
}

impl Queues {
    pub fn new(redis: &RedisConn, prefix: &str, settings: &JobSettings, batch_size: usize) -> Self {
        let config = |kind| config(prefix, kind, settings, batch_size);
        Self {
            purchase: storage(redis, config(Kind::Purchase)),
            batch_purchase: storage(redis, config(Kind::BatchPurchase)),
            refund: storage(redis, config(Kind::Refund)),
            refund_sweep: storage(redis, config(Kind::RefundSweep)),
            income_rollup: storage(redis, config(Kind::IncomeRollup)),
            recharge: storage(redis, config(Kind::Recharge)),
            order_expiry: storage(redis, config(Kind::OrderExpiry)),
            visit_flush: storage(redis, config(Kind::VisitFlush)),
        }
    }
}
