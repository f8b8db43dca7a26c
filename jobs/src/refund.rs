//! The `refund_sweep` and `refund` jobs: buy records whose chapter is gone get their coins back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::coins::Coins;
use crate::db::with_retries;
use crate::ids::{BuyRecordId, IdGenerator, UserId};
use crate::job::outcome::{self, commit_with_outcome, replay};
use crate::job::{Done, JobId, JobView, Kind, payload};
use crate::ledger::{self, Entry, Reason};

/// Finds refundable buy records and enqueues `refund` jobs for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundSweepJob {
    pub job_id: JobId,
    /// The admin who asked, or [`UserId::NOBODY`] for the cron schedule.
    #[serde(with = "crate::ids::number")]
    pub requested_by: UserId,
    pub enqueued_at_ms: i64,
}

/// Refunds some of one user's buy records: one ledger row for the job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundJob {
    pub job_id: JobId,
    #[serde(with = "crate::ids::number")]
    pub user_id: UserId,
    #[serde(with = "crate::ids::numbers")]
    pub record_ids: Vec<BuyRecordId>,
    pub enqueued_at_ms: i64,
}

payload!(RefundSweepJob, Kind::RefundSweep, requested_by);
payload!(RefundJob, Kind::Refund, user_id);

/// Buy records per `refund` job.
pub const CHUNK: usize = 100;

/// Some of one user's refundable buy records: what one `refund` job refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refundable {
    pub user_id: UserId,
    pub record_ids: Vec<BuyRecordId>,
}

/// Refundable records (chapter deleted, not yet refunded), grouped per user in chunks.
#[tracing::instrument(skip_all)]
pub async fn refundable(pool: &MySqlPool) -> Result<Vec<Refundable>, sqlx::Error> {
    let rows: Vec<(UserId, BuyRecordId)> = sqlx::query_as(
        r"SELECT r.user_id, r.id FROM user_buy_record r
          LEFT JOIN book_index i ON i.id = r.book_index_id
          WHERE r.refund_status = 0 AND i.id IS NULL
          ORDER BY r.user_id, r.id",
    )
    .fetch_all(pool)
    .await?;
    let mut per_user: BTreeMap<UserId, Vec<BuyRecordId>> = BTreeMap::new();
    for (user_id, record_id) in rows {
        per_user.entry(user_id).or_default().push(record_id);
    }
    Ok(per_user
        .into_iter()
        .flat_map(|(user, records)| {
            records
                .chunks(CHUNK)
                .map(|c| Refundable {
                    user_id: user,
                    record_ids: c.to_vec(),
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Records a finished sweep (its own outcome, so the admin's poll ends).
pub async fn record_sweep(
    pool: &MySqlPool,
    job: &RefundSweepJob,
    jobs: usize,
    records: usize,
) -> Result<Done, sqlx::Error> {
    let view = JobView::succeeded(
        &job.job_id,
        Kind::RefundSweep,
        json!({ "refund_jobs": jobs, "records": records }),
    );
    outcome::record(pool, view, job.requested_by, 1).await
}

/// Marks each record refunded (only if it was not), credits the sum and writes one ledger row,
/// all in one transaction; the result's `coins` are the amount refunded.
pub async fn run(
    pool: &MySqlPool,
    ids: &IdGenerator,
    job: &RefundJob,
    retries: u32,
) -> anyhow::Result<Done> {
    Ok(with_retries(retries, || try_once(pool, ids, job)).await?)
}

async fn try_once(
    pool: &MySqlPool,
    ids: &IdGenerator,
    job: &RefundJob,
) -> Result<Done, sqlx::Error> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok(done);
    }
    let mut records = job.record_ids.clone();
    records.sort_unstable();
    records.dedup();
    // Minted before the records are locked: waiting on the id lease must never hold them.
    let entry_id = crate::ids::mint_for_sql(ids).await?;
    let mut tx = pool.begin().await?;
    let mut select = QueryBuilder::<MySql>::new(
        "SELECT id, buy_amount FROM user_buy_record WHERE refund_status = 0 AND user_id = ",
    );
    select.push_bind(job.user_id).push(" AND id IN (");
    let mut list = select.separated(", ");
    for id in &records {
        list.push_bind(*id);
    }
    select.push(") ORDER BY id FOR UPDATE");
    let open: Vec<(BuyRecordId, Coins)> = select.build_query_as().fetch_all(&mut *tx).await?;
    let mut refunded = Vec::new();
    let mut amount = Coins::ZERO;
    for (record_id, buy_amount) in open {
        let changed = sqlx::query(
            r"UPDATE user_buy_record SET refund_status = 1, refund_time = ?
              WHERE id = ? AND refund_status = 0",
        )
        .bind(crate::clock::now())
        .bind(record_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            refunded.push(record_id.to_string());
            amount += buy_amount;
        }
    }
    let balance = if amount > Coins::ZERO {
        let entry = Entry {
            id: entry_id,
            user_id: job.user_id,
            reason: Reason::Refund,
            ref_id: job.job_id.as_str(),
            note: None,
        };
        ledger::credit(&mut tx, entry, amount).await?
    } else {
        None
    };
    let view = JobView::succeeded(
        &job.job_id,
        Kind::Refund,
        json!({ "refunded": refunded, "amount": amount, "balance": balance }),
    );
    commit_with_outcome(pool, tx, view, job.user_id, amount).await
}
