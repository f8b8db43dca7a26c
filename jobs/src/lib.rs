//! The domain shared by web and worker: config, DB access, shards, ids, catalog, jobs.

pub mod accounts;
pub mod audit;
pub mod authoring;
pub mod catalog;
pub mod config;
pub mod content;
pub mod credit;
pub mod db;
pub mod demo;
pub mod exporter;
pub mod follows;
pub mod history;
pub mod ids;
pub mod job;
pub mod json;
pub mod ledger;
pub mod metrics;
pub mod purchase;
pub mod queues;
pub mod redis_conn;
pub mod refund;
pub mod runtime;
pub mod shard;
pub mod shutdown;
pub mod telemetry;
pub mod users;
