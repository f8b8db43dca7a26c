//! The Redis queues (apalis-redis): one explicit queue per job kind, shared by web and worker.

use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config, RedisStorage};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::JobId;
use super::view::Kind;
use crate::config::JobSettings;
use crate::redis_conn::RedisConn;

/// One job queue, on the shared connection (one server or a cluster).
pub type Storage<T> = RedisStorage<T, RedisConn>;

/// `{prefix}:q:{kind}`: every deployment (and test) has queues of its own.
pub fn queue_name(prefix: &str, kind: Kind) -> String {
    format!("{prefix}:q:{}", kind.as_str())
}

/// The apalis configuration of one queue. A dead worker's jobs come back after
/// `heartbeat × missed_heartbeats` (+ one heartbeat), not apalis's 5-minute default. apalis's own
/// events stay off: its push script never announces an immediate task (it schedules every push
/// at the current second), so [`push`] announces pushes itself. Task locks stay off: the fetch
/// already moves a task into the worker's in-flight set, which is the lease a dead worker's
/// tasks come back from; apalis's separate lock call only re-stamps the task's metadata, costs a
/// round trip that holds up the worker's next fetch, and `LREM`s the whole active list per task.
pub fn config(prefix: &str, kind: Kind, settings: &JobSettings, batch_size: usize) -> Config {
    Config::default()
        .queue(queue_name(prefix, kind))
        .batch_size(batch_size)
        .heartbeat_interval(Duration::from_secs(settings.heartbeat_secs))
        .missed_heartbeats(settings.missed_heartbeats)
        .emit_events(false)
        .lock_tasks(false)
}

/// The channel [`push`] announces a queue's new job ids on: idle workers wake on it instead of
/// waiting for their next poll.
pub fn announce_channel(config: &Config) -> String {
    format!("{}:pushed", config.active_jobs_list())
}

pub fn storage<T>(redis: &RedisConn, config: Config) -> Storage<T> {
    RedisStorage::new(redis.clone()).with_config(config)
}

/// Pushes `job` under the caller's id through apalis's own push, then announces it: what a
/// redelivery looks like (pushing an id that is already queued changes nothing). New jobs are
/// queued by `submit`, which writes the same layout; its test compares the two.
pub async fn push<T>(storage: &Storage<T>, job_id: &JobId, job: T) -> anyhow::Result<()>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    let id =
        TaskId::from_str(job_id.as_str()).map_err(|e| anyhow::anyhow!("job id {job_id}: {e:?}"))?;
    let task = TaskBuilder::new(job).task_id(id).build();
    let mut storage = storage.clone();
    storage
        .push_task(task)
        .await
        .map_err(|e| anyhow::anyhow!("push: {e}"))?;
    redis::cmd("PUBLISH")
        .arg(announce_channel(storage.get_config()))
        .arg(job_id.as_str())
        .exec_async(storage.get_connection())
        .await?;
    Ok(())
}
