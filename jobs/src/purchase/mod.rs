//! The `purchase` and `batch_purchase` jobs, idempotent by job id; their transaction is
//! [`group`]'s, which commits one job or several together.

pub mod group;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

use self::group::Member;
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
}

impl PurchaseJob {
    pub fn order(&self) -> Order<'_> {
        Order {
            job_id: &self.job_id,
            user_id: self.user_id,
            kind: Kind::Purchase,
            index_ids: vec![self.index_id],
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
