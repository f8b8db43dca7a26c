//! A verified event taken in: kept once in `payment_event`, and its `recharge` job queued while
//! the order still waits for what the event does. A duplicate delivery queues it again until
//! then, so a crash between keeping an event and queueing its job loses nothing; the job's id is
//! derived from the order, so however many deliveries there are it runs once.

use crate::job::queue::Partitioned;
use sqlx::MySqlPool;

use super::event::{EventKind, PaymentEvent};
use super::orders;
use super::recharge::{self, RechargeJob};
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::OrderId;
use crate::job::{StatusStore, submit};
use crate::metrics as m;

/// What became of a verified event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// Nothing to do for this event type (answered 200 all the same).
    Ignored,
    /// No such order, or one paid through another provider (400).
    UnknownOrder,
    /// Kept (or seen before); `queued` when its job was queued now.
    Kept { duplicate: bool, queued: bool },
}

/// Where a verified event's job goes.
#[derive(Clone, Copy)]
pub struct Queue<'a> {
    pub storage: &'a Partitioned<RechargeJob>,
    pub status: &'a StatusStore,
}

pub async fn accept(
    pool: &MySqlPool,
    queue: Queue<'_>,
    event: &PaymentEvent,
) -> anyhow::Result<Intake> {
    let (succeeded, charge) = match &event.kind {
        EventKind::Succeeded(charge) => (true, charge),
        EventKind::Failed(charge) => (false, charge),
        EventKind::Ignored => return Ok(Intake::Ignored),
    };
    let order = orders::get(pool, charge.order_id).await?;
    let Some(order) = order.filter(|o| o.provider == event.provider) else {
        return Ok(Intake::UnknownOrder);
    };
    let duplicate = !keep(pool, event, charge.order_id).await?;
    if duplicate {
        let provider = event.provider.as_str();
        metrics::counter!(m::PAYMENTS, "provider" => provider, "outcome" => "duplicate")
            .increment(1);
    }
    let queued = recharge::awaits(order.status, succeeded);
    if queued {
        let job = RechargeJob::new(
            order.user_id,
            event.provider,
            event.event_id.clone(),
            succeeded,
            charge.clone(),
        );
        submit::enqueue(queue.storage, queue.status, job).await?;
    }
    Ok(Intake::Kept { duplicate, queued })
}

/// Keeps the event once per provider and id; false when it was kept before.
#[tracing::instrument(skip_all)]
async fn keep(
    pool: &MySqlPool,
    event: &PaymentEvent,
    order_id: OrderId,
) -> Result<bool, sqlx::Error> {
    let charge = event.charge();
    let kept = sqlx::query(
        r"INSERT INTO payment_event (provider, event_id, order_id, type, amount, currency,
                                     received_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.provider.as_str())
    .bind(&event.event_id)
    .bind(order_id)
    .bind(&event.event_type)
    .bind(charge.map(|c| c.amount))
    .bind(charge.map(|c| c.currency.as_str()))
    .bind(crate::clock::now())
    .execute(pool)
    .await;
    match kept {
        Ok(_) => Ok(true),
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => Ok(false),
        Err(error) => Err(error),
    }
}
