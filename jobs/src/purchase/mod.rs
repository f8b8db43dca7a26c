//! The `purchase` and `batch_purchase` jobs, idempotent by job id; their transaction is
//! [`group`]'s, which commits one job or several together.

pub mod group;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

use self::group::Member;
use crate::coins::Coins;
use crate::ids::{ChapterId, IdGenerator, UserId};
use crate::job::{Done, JobId, Kind, payload};

/// Buy one VIP chapter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurchaseJob {
    pub job_id: JobId,
    #[serde(with = "crate::ids::number")]
    pub user_id: UserId,
    #[serde(with = "crate::ids::number")]
    pub index_id: ChapterId,
    pub enqueued_at_ms: i64,
    /// The price the buyer saw; a higher charge fails `price_changed`. Absent in jobs queued
    /// before it existed, which then buy at any price as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<Coins>,
}

/// Buy up to 100 chapters: owned and free ones skipped, the rest all-or-nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchPurchaseJob {
    pub job_id: JobId,
    #[serde(with = "crate::ids::number")]
    pub user_id: UserId,
    #[serde(with = "crate::ids::numbers")]
    pub index_ids: Vec<ChapterId>,
    pub enqueued_at_ms: i64,
    /// The total the buyer saw, as `max_price` is for one chapter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total: Option<Coins>,
}

pub const MAX_BATCH: usize = 100;

payload!(PurchaseJob, Kind::Purchase, user_id);
payload!(BatchPurchaseJob, Kind::BatchPurchase, user_id);

/// Either job, as the shared transaction sees it.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    pub job_id: &'a JobId,
    pub user_id: UserId,
    pub kind: Kind,
    /// Sorted and distinct: rows are always locked in the same order.
    pub index_ids: Vec<ChapterId>,
    /// The most the job may spend (what the buyer saw); `None`: no bound.
    pub max_spent: Option<Coins>,
}

impl PurchaseJob {
    pub fn order(&self) -> Order<'_> {
        Order {
            job_id: &self.job_id,
            user_id: self.user_id,
            kind: Kind::Purchase,
            index_ids: vec![self.index_id],
            max_spent: self.max_price,
        }
    }
}

impl BatchPurchaseJob {
    pub fn order(&self) -> Order<'_> {
        let index_ids = self
            .index_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Order {
            job_id: &self.job_id,
            user_id: self.user_id,
            kind: Kind::BatchPurchase,
            index_ids,
            max_spent: self.max_total,
        }
    }
}

/// Runs one order: a group of one ([`group::run`]), retrying deadlocks and lock wait
/// timeouts up to `retries` times.
pub async fn run(
    pool: &MySqlPool,
    ids: &IdGenerator,
    order: &Order<'_>,
    attempt: i32,
    retries: u32,
) -> anyhow::Result<Done> {
    let member = Member {
        order: order.clone(),
        attempt,
    };
    group::run(pool, ids, std::slice::from_ref(&member), retries)
        .await
        .pop()
        .expect("one result per member")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_queued_before_max_price_existed_still_reads_and_buys_at_any_price() {
        let old = serde_json::json!({
            "job_id": "J1", "user_id": 7, "index_id": 9, "enqueued_at_ms": 1
        });
        let job: PurchaseJob = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(job.order().max_spent, None);
        assert_eq!(
            serde_json::to_value(&job).unwrap(),
            old,
            "written as before"
        );
        let batch: BatchPurchaseJob = serde_json::from_value(serde_json::json!({
            "job_id": "J2", "user_id": 7, "index_ids": [9], "enqueued_at_ms": 1, "max_total": 4
        }))
        .unwrap();
        assert_eq!(batch.order().max_spent, Some(Coins::new(4)));
    }
}
