//! Balance changes: each one an atomic statement plus its ledger row, in the caller's transaction.

use sqlx::{MySql, Transaction};

use crate::clock;
use crate::coins::Coins;
use crate::ids::{FlowId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Purchase,
    Refund,
    Credit,
    /// A paid recharge order (`ref_id` the order id).
    Recharge,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Purchase => "purchase",
            Reason::Refund => "refund",
            Reason::Credit => "credit",
            Reason::Recharge => "recharge",
        }
    }
}

pub struct Entry<'a> {
    pub id: FlowId,
    pub user_id: UserId,
    pub reason: Reason,
    pub ref_id: &'a str,
    pub note: Option<&'a str>,
}

/// Debits `amount` only if the balance covers it (never read-then-write). Returns the new
/// balance, or `None` when the balance is too low (nothing changed).
#[tracing::instrument(skip_all)]
pub async fn debit(
    tx: &mut Transaction<'_, MySql>,
    entry: Entry<'_>,
    amount: Coins,
) -> Result<Option<Coins>, sqlx::Error> {
    let changed = sqlx::query(
        r"UPDATE user SET account_balance = account_balance - ?
          WHERE id = ? AND account_balance >= ?",
    )
    .bind(amount)
    .bind(entry.user_id)
    .bind(amount)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    record(tx, entry, -amount).await.map(Some)
}

/// Adds `amount`; returns the new balance, or `None` if the user does not exist.
#[tracing::instrument(skip_all)]
pub async fn credit(
    tx: &mut Transaction<'_, MySql>,
    entry: Entry<'_>,
    amount: Coins,
) -> Result<Option<Coins>, sqlx::Error> {
    let changed = sqlx::query("UPDATE user SET account_balance = account_balance + ? WHERE id = ?")
        .bind(amount)
        .bind(entry.user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    record(tx, entry, amount).await.map(Some)
}

/// The ledger row; the user row is already locked by our update, so the balance read is exact.
async fn record(
    tx: &mut Transaction<'_, MySql>,
    entry: Entry<'_>,
    delta: Coins,
) -> Result<Coins, sqlx::Error> {
    let balance: Coins = sqlx::query_scalar("SELECT account_balance FROM user WHERE id = ?")
        .bind(entry.user_id)
        .fetch_one(&mut **tx)
        .await?;
    let row = Row {
        id: entry.id,
        user_id: entry.user_id,
        delta,
        balance_after: balance,
        ref_id: entry.ref_id,
    };
    insert_rows(tx, entry.reason, entry.note, &[row]).await?;
    Ok(balance)
}

/// One ledger row of a batch written by [`insert_rows`].
pub(crate) struct Row<'a> {
    pub id: FlowId,
    pub user_id: UserId,
    pub delta: Coins,
    pub balance_after: Coins,
    /// What moved the coins: a job id, or `admin:{id}` for a credit.
    pub ref_id: &'a str,
}

/// Ledger rows of one reason and note.
pub(crate) async fn insert_rows(
    tx: &mut Transaction<'_, MySql>,
    reason: Reason,
    note: Option<&str>,
    rows: &[Row<'_>],
) -> Result<(), sqlx::Error> {
    let now = clock::now();
    let mut insert = sqlx::QueryBuilder::<MySql>::new(
        "INSERT INTO account_flow (id, user_id, delta, balance_after, reason, ref_id, note, create_time) ",
    );
    insert.push_values(rows, |mut values, row| {
        values
            .push_bind(row.id)
            .push_bind(row.user_id)
            .push_bind(row.delta)
            .push_bind(row.balance_after)
            .push_bind(reason.as_str())
            .push_bind(row.ref_id.to_owned())
            .push_bind(note.map(str::to_owned))
            .push_bind(now);
    });
    insert.build().execute(&mut **tx).await?;
    Ok(())
}
