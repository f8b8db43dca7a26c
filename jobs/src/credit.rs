//! An admin's credit of coins: one ledger row, and at most one per `Idempotency-Key`.

use chrono::{Duration, Utc};
use sqlx::{MySql, MySqlPool, Transaction};

use crate::clock;
use crate::coins::Coins;
use crate::db::with_retries;
use crate::ids::{FlowId, IdGenerator, UserId, mint_for_sql};
use crate::ledger::{self, Entry, Reason};

/// A key is the same credit for this long (as a purchase's key).
const KEY_KEPT_HOURS: i64 = 24;

/// An `Idempotency-Key` and the fingerprint of the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub key: &'a str,
    pub fingerprint: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub struct Credit<'a> {
    pub admin_id: UserId,
    pub user_id: UserId,
    pub amount: Coins,
    pub note: &'a str,
    pub key: Option<Key<'a>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Credited {
    /// Credited now: the balance right after it.
    Balance(Coins),
    /// Credited by an earlier request with the same key: the balance right after that one.
    Replayed(Coins),
    UserNotFound,
    /// The key was used for another request: nothing changed.
    KeyReused,
}

/// Credits `credit.amount` unless its key was used before (then answers what that request
/// did). Two requests racing with one key: the loser's gap lock deadlocks and its retry
/// finds the winner's row.
pub async fn credit(
    pool: &MySqlPool,
    ids: &IdGenerator,
    credit: Credit<'_>,
    retries: u32,
) -> Result<Credited, sqlx::Error> {
    // Minted before any row is locked: a lease hiccup never holds a lock.
    let entry_id = mint_for_sql(ids).await?;
    with_retries(retries, || try_once(pool, entry_id, credit)).await
}

async fn try_once(
    pool: &MySqlPool,
    entry_id: FlowId,
    credit: Credit<'_>,
) -> Result<Credited, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if let Some(key) = credit.key
        && let Some(earlier) = earlier(&mut tx, credit.admin_id, key).await?
    {
        return Ok(earlier);
    }
    let ref_id = format!("admin:{}", credit.admin_id);
    let entry = Entry {
        id: entry_id,
        user_id: credit.user_id,
        reason: Reason::Credit,
        ref_id: &ref_id,
        note: Some(credit.note),
    };
    let Some(balance) = ledger::credit(&mut tx, entry, credit.amount).await? else {
        return Ok(Credited::UserNotFound);
    };
    if let Some(key) = credit.key {
        sqlx::query(
            r"INSERT INTO admin_credit (admin_id, idempotency_key, fingerprint, user_id, amount,
                                       balance, create_time)
              VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(credit.admin_id)
        .bind(key.key)
        .bind(key.fingerprint)
        .bind(credit.user_id)
        .bind(credit.amount)
        .bind(balance)
        .bind(clock::now())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Credited::Balance(balance))
}

/// What an earlier request with this key did, if it is still kept; an expired one is removed.
async fn earlier(
    tx: &mut Transaction<'_, MySql>,
    admin_id: UserId,
    key: Key<'_>,
) -> Result<Option<Credited>, sqlx::Error> {
    let row: Option<(String, Coins, chrono::DateTime<Utc>)> = sqlx::query_as(
        r"SELECT fingerprint, balance, create_time FROM admin_credit
          WHERE admin_id = ? AND idempotency_key = ? FOR UPDATE",
    )
    .bind(admin_id)
    .bind(key.key)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((fingerprint, balance, created)) = row else {
        return Ok(None);
    };
    if created < clock::now() - Duration::hours(KEY_KEPT_HOURS) {
        sqlx::query("DELETE FROM admin_credit WHERE admin_id = ? AND idempotency_key = ?")
            .bind(admin_id)
            .bind(key.key)
            .execute(&mut **tx)
            .await?;
        return Ok(None);
    }
    Ok(Some(if fingerprint == key.fingerprint {
        Credited::Replayed(balance)
    } else {
        Credited::KeyReused
    }))
}
