//! The `purchase` and `batch_purchase` jobs: one MySQL transaction each, idempotent by job id.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder, Transaction};

use crate::db::with_retries;
use crate::ids::IdGenerator;
use crate::job::{FailureCode, JobView, Kind};
use crate::json::now_millis;
use crate::ledger::{self, Entry, Reason};
use crate::outcome::{insert_outcome, record_failure, twin};

/// Buy one VIP chapter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurchaseJob {
    pub job_id: String,
    pub user_id: i64,
    pub index_id: i64,
    pub enqueued_at_ms: i64,
}

/// Buy up to 100 chapters: owned and free ones skipped, the rest all-or-nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchPurchaseJob {
    pub job_id: String,
    pub user_id: i64,
    pub index_ids: Vec<i64>,
    pub enqueued_at_ms: i64,
}

pub const MAX_BATCH: usize = 100;

/// Either job, as the shared transaction sees it.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    pub job_id: &'a str,
    pub user_id: i64,
    pub kind: Kind,
    /// Sorted and distinct: rows are always locked in the same order.
    pub index_ids: Vec<i64>,
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

/// A finished job: its view, the coins it moved, and whether an earlier run had decided it.
#[derive(Debug, Clone)]
pub struct Done {
    pub view: JobView,
    pub spent: i64,
    pub replayed: bool,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Chapter {
    pub(crate) id: i64,
    book_id: i64,
    book_name: String,
    index_name: String,
    pub(crate) is_vip: bool,
    pub(crate) price: i64,
}

/// Runs the order, retrying deadlocks and lock wait timeouts up to `retries` times.
pub async fn run(
    pool: &MySqlPool,
    ids: &IdGenerator,
    order: &Order<'_>,
    attempt: i32,
    retries: u32,
) -> anyhow::Result<Done> {
    Ok(with_retries(retries, || try_once(pool, ids, order, attempt)).await?)
}

async fn try_once(
    pool: &MySqlPool,
    ids: &IdGenerator,
    order: &Order<'_>,
    attempt: i32,
) -> Result<Done, sqlx::Error> {
    // No pre-read of an earlier outcome: a redelivered job runs again, and its outcome insert
    // (the transaction's last statement, on the job id key) rolls the repeat back.
    let mut tx = pool.begin().await?;
    let decided = charge(&mut tx, ids, order).await?;
    let (view, spent) = match decided {
        Ok((result, spent)) => (JobView::succeeded(order.job_id, order.kind, result), spent),
        Err(code) => {
            tx.rollback().await?;
            return record_failure(pool, order, code, attempt).await;
        }
    };
    if insert_outcome(&mut *tx, order, &view, attempt).await? {
        tx.commit().await?;
        return Ok(Done {
            view,
            spent,
            replayed: false,
        });
    }
    // A twin delivery of this job committed first: its outcome stands.
    tx.rollback().await?;
    twin(pool, order.job_id).await
}

/// Buy records (the unique key decides "owned"), then the conditional debit and ledger row.
async fn charge(
    tx: &mut Transaction<'_, MySql>,
    ids: &IdGenerator,
    order: &Order<'_>,
) -> Result<Result<(serde_json::Value, i64), FailureCode>, sqlx::Error> {
    let chapters = chapters(tx, &order.index_ids).await?;
    if chapters.len() != order.index_ids.len() {
        return Ok(Err(FailureCode::ChapterNotFound));
    }
    let single = order.kind == Kind::Purchase;
    if single && !chapters[0].is_vip {
        return Ok(Err(FailureCode::NotForSale));
    }
    let vip: Vec<&Chapter> = chapters.iter().filter(|c| c.is_vip).collect();
    let bought = insert_buy_records(tx, ids, order, &vip).await?;
    if single && bought.is_empty() {
        return Ok(Err(FailureCode::AlreadyBought));
    }
    let spent: i64 = vip
        .iter()
        .filter(|c| bought.contains(&c.id))
        .map(|c| c.price)
        .sum();
    let balance = if spent == 0 {
        sqlx::query_scalar("SELECT account_balance FROM user WHERE id = ?")
            .bind(order.user_id)
            .fetch_one(&mut **tx)
            .await?
    } else {
        let entry = Entry {
            id: crate::ids::next_for_sql(ids).await?,
            user_id: order.user_id,
            reason: Reason::Purchase,
            ref_id: order.job_id,
            note: None,
        };
        match ledger::debit(tx, entry, spent).await? {
            Some(balance) => balance,
            None => return Ok(Err(FailureCode::InsufficientBalance)),
        }
    };
    Ok(Ok((result(order, &bought, spent, balance), spent)))
}

/// A successful purchase's result: what it bought and skipped (ids as strings), spent, balance.
pub(crate) fn result(
    order: &Order<'_>,
    bought: &BTreeSet<i64>,
    spent: i64,
    balance: i64,
) -> serde_json::Value {
    let skipped: Vec<String> = order
        .index_ids
        .iter()
        .filter(|id| !bought.contains(id))
        .map(i64::to_string)
        .collect();
    let bought: Vec<String> = bought.iter().map(i64::to_string).collect();
    json!({ "bought": bought, "skipped": skipped, "spent": spent, "balance": balance })
}

pub(crate) async fn chapters(
    tx: &mut Transaction<'_, MySql>,
    index_ids: &[i64],
) -> Result<Vec<Chapter>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(
        r"SELECT i.id, i.book_id, b.book_name, i.index_name, i.is_vip = 1 AS is_vip,
                 i.book_price AS price
          FROM book_index i JOIN book b ON b.id = i.book_id WHERE i.id IN (",
    );
    let mut list = query.separated(", ");
    for id in index_ids {
        list.push_bind(*id);
    }
    query.push(") ORDER BY i.id");
    query.build_query_as().fetch_all(&mut **tx).await
}

pub(crate) const INSERT_BUY_RECORDS: &str = r"INSERT IGNORE INTO user_buy_record (id, user_id,
    book_id, book_name, book_index_id, book_index_name, buy_amount, job_id, refund_status,
    create_time) ";

/// One row of [`INSERT_BUY_RECORDS`].
pub(crate) fn bind_buy_record(
    row: &mut sqlx::query_builder::Separated<'_, MySql, &'static str>,
    id: i64,
    order: &Order<'_>,
    chapter: &Chapter,
    now: chrono::DateTime<chrono::Utc>,
) {
    row.push_bind(id)
        .push_bind(order.user_id)
        .push_bind(chapter.book_id)
        .push_bind(chapter.book_name.clone())
        .push_bind(chapter.id)
        .push_bind(chapter.index_name.clone())
        .push_bind(chapter.price)
        .push_bind(order.job_id.to_owned())
        .push_bind(0)
        .push_bind(now);
}

/// Inserts a buy record per VIP chapter in id order; returns the chapters this job bought
/// (the others were owned already, possibly bought by a racing job a moment ago).
async fn insert_buy_records(
    tx: &mut Transaction<'_, MySql>,
    ids: &IdGenerator,
    order: &Order<'_>,
    vip: &[&Chapter],
) -> Result<BTreeSet<i64>, sqlx::Error> {
    if vip.is_empty() {
        return Ok(BTreeSet::new());
    }
    let mut rows = Vec::with_capacity(vip.len());
    for chapter in vip {
        rows.push((crate::ids::next_for_sql(ids).await?, *chapter));
    }
    let now = now_millis();
    let mut insert = QueryBuilder::<MySql>::new(INSERT_BUY_RECORDS);
    insert.push_values(rows, |mut row, (id, chapter)| {
        bind_buy_record(&mut row, id, order, chapter, now);
    });
    let inserted = insert.build().execute(&mut **tx).await?.rows_affected();
    if inserted == vip.len() as u64 {
        return Ok(vip.iter().map(|c| c.id).collect());
    }
    let mut mine =
        QueryBuilder::<MySql>::new("SELECT book_index_id FROM user_buy_record WHERE user_id = ");
    mine.push_bind(order.user_id)
        .push(" AND job_id = ")
        .push_bind(order.job_id);
    mine.push(" AND book_index_id IN (");
    let mut list = mine.separated(", ");
    for chapter in vip {
        list.push_bind(chapter.id);
    }
    mine.push(")");
    let rows: Vec<i64> = mine.build_query_scalar().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}
