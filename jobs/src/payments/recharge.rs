//! The `recharge` job: applies one verified payment event to its order in one transaction. A
//! success moves a pending, expired or failed order to `paid` and credits `coins + bonus_coins`
//! with one ledger row (`recharge`, `ref_id` the order id), or flags it when the charge differs
//! from the order; a failure moves only a pending order to `failed`. Keyed by the order and the
//! event's outcome, so any number of deliveries make one job whose outcome is recorded once.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{MySql, MySqlPool, Transaction};

use super::ProviderKind;
use super::event::Charge;
use super::orders::OrderStatus;
use crate::clock;
use crate::coins::Coins;
use crate::db::with_retries;
use crate::ids::{FlowId, IdGenerator, OrderId, UserId, mint_for_sql};
use crate::job::outcome::{commit_with_outcome, replay};
use crate::job::{Done, JobId, JobView, Kind, payload};
use crate::ledger::{self, Entry, Reason};
use crate::metrics as m;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RechargeJob {
    pub job_id: JobId,
    /// The order's buyer: who may poll the job.
    pub user_id: UserId,
    pub provider: ProviderKind,
    /// The event that asked for it (`lookup-<session>` when the provider was asked instead).
    pub event_id: String,
    /// A success event (else a failure).
    pub succeeded: bool,
    /// The order and the money the event says moved.
    pub charge: Charge,
    pub enqueued_at_ms: i64,
}

payload!(RechargeJob, Kind::Recharge, user_id);

impl RechargeJob {
    pub fn new(
        user_id: UserId,
        provider: ProviderKind,
        event_id: String,
        succeeded: bool,
        charge: Charge,
    ) -> Self {
        Self {
            job_id: job_id(charge.order_id, succeeded),
            user_id,
            provider,
            event_id,
            succeeded,
            charge,
            enqueued_at_ms: clock::now_ms(),
        }
    }
}

/// `rch-<order>-paid` or `rch-<order>-failed`: every delivery of one outcome is one job.
pub fn job_id(order_id: OrderId, succeeded: bool) -> JobId {
    let outcome = if succeeded { "paid" } else { "failed" };
    JobId::from(format!("rch-{order_id}-{outcome}"))
}

/// Whether an order in `status` still waits for what such an event does: a success for an
/// order not paid or flagged, a failure for a pending one.
pub fn awaits(status: OrderStatus, succeeded: bool) -> bool {
    match status {
        OrderStatus::Pending => true,
        OrderStatus::Expired | OrderStatus::Failed => succeeded,
        OrderStatus::Paid | OrderStatus::Flagged => false,
    }
}

/// What the job did to its order: the `outcome` of `novel_payments_total`, if it changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Paid,
    Failed,
    Flagged,
    Unchanged,
}

#[derive(sqlx::FromRow)]
struct Locked {
    user_id: UserId,
    #[sqlx(try_from = "String")]
    status: OrderStatus,
    amount: i64,
    currency: String,
    coins: Coins,
    bonus_coins: Coins,
}

/// Runs the job once (a retry or a twin delivery finds the recorded outcome).
pub async fn run(
    pool: &MySqlPool,
    ids: &IdGenerator,
    job: &RechargeJob,
    retries: u32,
) -> anyhow::Result<Done> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok(done);
    }
    // Minted before the order is locked: waiting on the id lease must never hold it.
    let entry_id = mint_for_sql(ids).await?;
    let (done, applied) = with_retries(retries, || try_once(pool, entry_id, job)).await?;
    let outcome = match applied {
        Applied::Paid => "paid",
        Applied::Failed => "failed",
        Applied::Flagged => "flagged",
        Applied::Unchanged => return Ok(done),
    };
    if !done.replayed {
        let provider = job.provider.as_str();
        metrics::counter!(m::PAYMENTS, "provider" => provider, "outcome" => outcome).increment(1);
        metrics::counter!(m::RECHARGE_COINS).increment(done.coins.get() as u64);
    }
    Ok(done)
}

async fn try_once(
    pool: &MySqlPool,
    entry_id: FlowId,
    job: &RechargeJob,
) -> Result<(Done, Applied), sqlx::Error> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok((done, Applied::Unchanged));
    }
    let order_id = job.charge.order_id;
    let mut tx = pool.begin().await?;
    let order: Option<Locked> = sqlx::query_as(
        r"SELECT user_id, status, amount, currency, coins, bonus_coins FROM order_pay
          WHERE id = ? FOR UPDATE",
    )
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (applied, coins, balance) = match &order {
        Some(order) => apply(&mut tx, entry_id, job, order).await?,
        None => (Applied::Unchanged, Coins::ZERO, None),
    };
    let status = match (applied, &order) {
        (Applied::Paid, _) => Some(OrderStatus::Paid),
        (Applied::Failed, _) => Some(OrderStatus::Failed),
        (Applied::Flagged, _) => Some(OrderStatus::Flagged),
        (Applied::Unchanged, order) => order.as_ref().map(|o| o.status),
    };
    let view = JobView::succeeded(
        &job.job_id,
        Kind::Recharge,
        json!({
            "order_id": order_id.to_string(), "status": status, "coins": coins,
            "balance": balance,
        }),
    );
    let done = commit_with_outcome(pool, tx, view, job.user_id, coins).await?;
    let applied = if done.replayed {
        Applied::Unchanged
    } else {
        applied
    };
    Ok((done, applied))
}

/// The event applied to the locked order: what changed, the coins credited and the balance.
async fn apply(
    tx: &mut Transaction<'_, MySql>,
    entry_id: FlowId,
    job: &RechargeJob,
    order: &Locked,
) -> Result<(Applied, Coins, Option<Coins>), sqlx::Error> {
    let unchanged = Ok((Applied::Unchanged, Coins::ZERO, None));
    let order_id = job.charge.order_id;
    if !awaits(order.status, job.succeeded) {
        return unchanged;
    }
    if !job.succeeded {
        let failed = move_order(tx, order_id, PENDING, OrderStatus::Failed, None).await?;
        return if failed {
            Ok((Applied::Failed, Coins::ZERO, None))
        } else {
            unchanged
        };
    }
    let charge = &job.charge;
    if charge.amount != order.amount || charge.currency.as_str() != order.currency {
        let note = format!(
            "event {} charged {} {}, the order is {} {}",
            job.event_id,
            charge.amount,
            charge.currency.as_str(),
            order.amount,
            order.currency
        );
        let flagged = move_order(tx, order_id, OPEN, OrderStatus::Flagged, Some(&note)).await?;
        return if flagged {
            Ok((Applied::Flagged, Coins::ZERO, None))
        } else {
            unchanged
        };
    }
    if !move_order(tx, order_id, OPEN, OrderStatus::Paid, None).await? {
        return unchanged;
    }
    let coins = order.coins + order.bonus_coins;
    let balance = credit(tx, entry_id, order.user_id, order_id, coins, None).await?;
    Ok((Applied::Paid, coins, Some(balance)))
}

/// The states a failure moves an order from, and those a success does.
const PENDING: &str = "pending";
const OPEN: &str = "pending,expired,failed";

/// Moves the order to `to` if its status is one of `from` (comma-separated), with `note` (why)
/// and, when paid, the time; whether it moved.
async fn move_order(
    tx: &mut Transaction<'_, MySql>,
    order_id: OrderId,
    from: &str,
    to: OrderStatus,
    note: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let now = clock::now();
    let paid_at = (to == OrderStatus::Paid).then_some(now);
    let changed = sqlx::query(
        r"UPDATE order_pay SET status = ?, note = COALESCE(LEFT(?, 255), note),
                 paid_at = COALESCE(?, paid_at), update_time = ?
          WHERE id = ? AND FIND_IN_SET(status, ?) > 0",
    )
    .bind(to.as_str())
    .bind(note)
    .bind(paid_at)
    .bind(now)
    .bind(order_id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Credits a paid order's coins with its one ledger row (`recharge`, `ref_id` the order id).
pub(super) async fn credit(
    tx: &mut Transaction<'_, MySql>,
    entry_id: FlowId,
    user_id: UserId,
    order_id: OrderId,
    coins: Coins,
    note: Option<&str>,
) -> Result<Coins, sqlx::Error> {
    let ref_id = order_id.to_string();
    let entry = Entry {
        id: entry_id,
        user_id,
        reason: Reason::Recharge,
        ref_id: &ref_id,
        note,
    };
    ledger::credit(tx, entry, coins)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_keyed_by_its_order_and_outcome() {
        use crate::ids::EntityId;
        let order = OrderId::from_raw(42);
        assert_eq!(job_id(order, true).as_str(), "rch-42-paid");
        assert_eq!(job_id(order, false).as_str(), "rch-42-failed");
    }

    #[test]
    fn a_success_is_awaited_until_paid_or_flagged_and_a_failure_only_while_pending() {
        use OrderStatus::*;
        for status in [Pending, Expired, Failed] {
            assert!(awaits(status, true), "{status:?}");
        }
        for status in [Paid, Flagged] {
            assert!(!awaits(status, true), "{status:?}");
        }
        assert!(awaits(Pending, false));
        for status in [Paid, Expired, Failed, Flagged] {
            assert!(!awaits(status, false), "{status:?}");
        }
    }
}
