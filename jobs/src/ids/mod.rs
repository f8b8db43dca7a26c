//! Distributed snowflake ids: local minting under a Redis-leased machine id.

mod generator;
mod lease;
mod snowflake;

pub use generator::{IdError, IdGenerator};
pub use snowflake::{EPOCH_MS, MAX_NODE};

/// An id inside a transaction: a missing lease surfaces as a (retryable, transient) DB error.
pub async fn next_for_sql(ids: &IdGenerator) -> Result<i64, sqlx::Error> {
    ids.next_id()
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("id generator: {e}")))
}
