//! The domain shared by web and worker: config, DB access, shards, ids, catalog, jobs.

pub mod accounts;
pub mod audit;
pub mod authoring;
pub mod catalog;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod follows;
pub mod history;
pub mod ids;
pub mod job;
pub mod json;
pub mod ledger;
pub mod metrics;
pub mod outcome;
pub mod purchase;
pub mod purchase_group;
pub mod queue;
pub mod redis_conn;
pub mod refund;
pub mod shard;
pub mod shutdown;
pub mod submit;
pub mod telemetry;
pub mod users;
