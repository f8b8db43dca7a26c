//! The Redis queues (apalis-redis): explicit queues per job kind (one per partition, see
//! [`Kind::partitions`]), shared by web and worker.

use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config, RedisStorage};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::JobId;
use super::view::Kind;
use crate::config::JobSettings;
use crate::ids::UserId;
use crate::keys;
use crate::redis_conn::RedisConn;

/// One job queue, on the shared connection (one server or a cluster).
pub type Storage<T> = RedisStorage<T, RedisConn>;

/// The apalis configuration of `kind`'s queue in `partition` (named by [`keys::job_queue`]:
/// every deployment, and test, has queues of its own). A dead worker's jobs come back after
/// `heartbeat × missed_heartbeats` (+ one heartbeat), not apalis's 5-minute default. apalis's own
/// events stay off: its push script never announces an immediate task (it schedules every push
/// at the current second), so [`push`] announces pushes itself. Task locks stay off: the fetch
/// already moves a task into the worker's in-flight set, which is the lease a dead worker's
/// tasks come back from; apalis's separate lock call only re-stamps the task's metadata, costs a
/// round trip that holds up the worker's next fetch, and `LREM`s the whole active list per task.
pub fn config(
    prefix: &str,
    kind: Kind,
    partition: u16,
    settings: &JobSettings,
    batch_size: usize,
) -> Config {
    Config::default()
        .queue(keys::job_queue(prefix, partition, kind))
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

fn storage<T>(redis: &RedisConn, config: Config) -> Storage<T> {
    RedisStorage::new(redis.clone()).with_config(config)
}

/// One kind's queues, one per partition: a job is always pushed to the one its id names.
pub struct Partitioned<T> {
    storages: Vec<Storage<T>>,
}

impl<T> Clone for Partitioned<T> {
    fn clone(&self) -> Self {
        Self {
            storages: self.storages.clone(),
        }
    }
}

impl<T> Partitioned<T> {
    /// `kind`'s queues under `prefix`, each fetching `batch_size` jobs at a time.
    pub fn new(
        redis: &RedisConn,
        prefix: &str,
        kind: Kind,
        settings: &JobSettings,
        batch_size: usize,
    ) -> Self {
        let storages = (0..kind.partitions(settings.partitions))
            .map(|partition| storage(redis, config(prefix, kind, partition, settings, batch_size)))
            .collect();
        Self { storages }
    }

    /// A fresh id for a job of `owner`'s: in the owner's partition (partition 0 where the kind
    /// has one queue).
    pub fn new_id(&self, owner: UserId) -> JobId {
        let partitions = u16::try_from(self.storages.len()).unwrap_or(u16::MAX);
        JobId::for_partition(keys::partition_of_user(owner, partitions))
    }

    /// The queue `job_id` names; an error for a partition this kind does not have here (an id
    /// minted with more partitions configured).
    pub fn for_job(&self, job_id: &JobId) -> anyhow::Result<&Storage<T>> {
        self.storages
            .get(usize::from(job_id.partition()))
            .ok_or_else(|| anyhow::anyhow!("job {job_id}: no such partition here"))
    }

    /// Every partition's queue, partition 0 first.
    pub fn all(&self) -> &[Storage<T>] {
        &self.storages
    }
}

/// Pushes `job` under the caller's id through apalis's own push, then announces it: what a
/// redelivery looks like (pushing an id that is already queued changes nothing), onto the
/// queue of the partition the id names. New jobs are queued by `submit`, which writes the same
/// layout; its test compares the two.
pub async fn push<T>(queues: &Partitioned<T>, job_id: &JobId, job: T) -> anyhow::Result<()>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    let storage = queues.for_job(job_id)?;
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
