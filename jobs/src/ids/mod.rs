//! Distributed snowflake ids: local minting under a Redis-leased machine id, typed per entity.

mod generator;
mod lease;
mod snowflake;
mod typed;

pub use generator::{IdError, IdGenerator};
pub use snowflake::{EPOCH_MS, MAX_NODE};
pub use typed::{
    AuthorId, BookId, BuyRecordId, CategoryId, ChapterId, ContentId, EntityId, FlowId,
    IdParseError, OrderId, PATTERN, UserId, number, numbers, text_schema,
};

/// An id inside a transaction: a missing lease surfaces as a (retryable, transient) DB error.
pub async fn mint_for_sql<T: EntityId>(ids: &IdGenerator) -> Result<T, sqlx::Error> {
    ids.mint()
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("id generator: {e}")))
}
