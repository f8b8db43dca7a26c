//! The domain shared by web and worker: config, DB access, shards, ids, catalog, jobs.

pub mod accounts;
pub mod authoring;
pub mod catalog;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod ids;
pub mod json;
pub mod metrics;
pub mod redis_conn;
pub mod shard;
pub mod shutdown;
pub mod telemetry;
pub mod users;
