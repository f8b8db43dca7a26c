//! An admin's resolution of a flagged order (its charge differed from it): credit it (→ paid,
//! one `recharge` ledger row with the admin's note) or reject it (it stays flagged, so no later
//! event credits it). Either is final.

use serde::Deserialize;
use sqlx::MySqlPool;

use super::orders::{self, Order, OrderStatus};
use super::recharge;
use crate::clock;
use crate::coins::Coins;
use crate::db::with_retries;
use crate::ids::{FlowId, IdGenerator, OrderId, UserId, mint_for_sql};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Credit,
    Reject,
}

#[derive(Debug, Clone, Copy)]
pub struct Resolution<'a> {
    pub order_id: OrderId,
    pub admin_id: UserId,
    pub action: Action,
    pub note: &'a str,
}

#[derive(Debug)]
pub enum Resolved {
    /// The order as it is now.
    Done(Order),
    NotFound,
    /// Not flagged, or resolved already: nothing changed.
    NotFlagged,
}

pub async fn resolve(
    pool: &MySqlPool,
    ids: &IdGenerator,
    resolution: Resolution<'_>,
    retries: u32,
) -> Result<Resolved, sqlx::Error> {
    // Minted before the order is locked.
    let entry_id = mint_for_sql(ids).await?;
    let resolved = with_retries(retries, || try_once(pool, entry_id, resolution)).await?;
    Ok(match orders::get(pool, resolution.order_id).await? {
        None => Resolved::NotFound,
        Some(order) if resolved => Resolved::Done(order),
        Some(_) => Resolved::NotFlagged,
    })
}

/// Whether this call resolved the order.
async fn try_once(
    pool: &MySqlPool,
    entry_id: FlowId,
    resolution: Resolution<'_>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Only a flagged order not yet resolved.
    let locked: Option<(UserId, Coins, Coins)> = sqlx::query_as(
        r"SELECT user_id, coins, bonus_coins FROM order_pay
          WHERE id = ? AND status = 'flagged' AND resolution IS NULL FOR UPDATE",
    )
    .bind(resolution.order_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, coins, bonus_coins)) = locked else {
        return Ok(false);
    };
    let now = clock::now();
    let (status, resolved) = match resolution.action {
        Action::Credit => (OrderStatus::Paid, "credited"),
        Action::Reject => (OrderStatus::Flagged, "rejected"),
    };
    let note = format!("{resolved} by an admin: {}", resolution.note);
    let note: String = note.chars().take(255).collect();
    sqlx::query(
        r"UPDATE order_pay SET status = ?, resolution = ?, resolved_by = ?, resolved_time = ?,
                 note = LEFT(CONCAT_WS(' | ', note, ?), 255), update_time = ?,
                 paid_at = IF(? = 'paid', ?, paid_at)
          WHERE id = ? AND status = 'flagged' AND resolution IS NULL",
    )
    .bind(status.as_str())
    .bind(resolved)
    .bind(resolution.admin_id)
    .bind(now)
    .bind(&note)
    .bind(now)
    .bind(status.as_str())
    .bind(now)
    .bind(resolution.order_id)
    .execute(&mut *tx)
    .await?;
    let coins = match resolution.action {
        Action::Credit => coins + bonus_coins,
        Action::Reject => Coins::ZERO,
    };
    if coins > Coins::ZERO {
        let order_id = resolution.order_id;
        recharge::credit(&mut tx, entry_id, user_id, order_id, coins, Some(&note)).await?;
    }
    tx.commit().await?;
    metrics::counter!(crate::metrics::RECHARGE_COINS).increment(coins.get() as u64);
    Ok(true)
}
