//! Distributed snowflake ids: local minting under a Redis-leased machine id.

mod generator;
mod lease;
mod snowflake;

pub use generator::{IdError, IdGenerator};
pub use snowflake::{EPOCH_MS, MAX_NODE};
