//! A job's status in Redis: a hash with its owner and the view clients poll, kept for a while
//! after the job ends; ends are announced to waiting long-polls. A status lives in the partition
//! its job's id names, so a call about several jobs (a worker's group) is one per partition.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use futures::future::try_join_all;

use crate::config::RedisSettings;
use crate::keys;
use crate::redis_conn::RedisConn;

use super::JobId;
use super::view::{JobView, Status, to_json};
use crate::ids::{EntityId, UserId};

/// The Redis status of one job: a hash with its owner and view.
#[derive(Clone)]
pub struct StatusStore {
    redis: RedisConn,
    prefix: String,
    /// Seconds a terminal result stays in Redis (afterwards MySQL answers).
    result_ttl_secs: u64,
    /// Replicas that must hold a new job before it is accepted, if any.
    wait: Option<Wait>,
}

/// `WAIT <replicas> <timeout_ms>` after each submit (`redis.wait_replicas`,
/// `redis.wait_timeout_ms`), on connections of its own.
#[derive(Clone)]
pub(crate) struct Wait {
    pub(crate) replicas: u8,
    pub(crate) timeout_ms: u64,
    connections: Arc<[RedisConn]>,
    next: Arc<AtomicUsize>,
}

/// Connections a process keeps for waiting submits: a slow `WAIT` (no replica after a
/// failover) holds up the submits behind it on its connection, not every submit.
const WAIT_CONNECTIONS: usize = 4;

impl Wait {
    /// The next of its connections, in turn.
    pub(crate) fn connection(&self) -> RedisConn {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.connections[n % self.connections.len()].clone()
    }
}

/// Marks each job (KEYS[i], view ARGV[i]) running, but only while it is still queued: a queued
/// or running status never overwrites a terminal one.
static SET_RUNNING: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'status') == 'queued' then
    redis.call('HSET', key, 'status', 'running', 'view', ARGV[i])
  end
end
return 1",
    )
});

/// `items` by the partition of the job each names (`id`), partitions in order.
fn by_partition<I>(items: &[I], id: impl Fn(&I) -> &JobId) -> BTreeMap<u16, Vec<&I>> {
    let mut partitions: BTreeMap<u16, Vec<&I>> = BTreeMap::new();
    for item in items {
        partitions
            .entry(id(item).partition())
            .or_default()
            .push(item);
    }
    partitions
}

/// One job's status as stored (in Redis, or its outcome in MySQL): the user who may poll it
/// and its view.
#[derive(Debug, Clone)]
pub struct StoredStatus {
    pub owner: UserId,
    pub view: JobView,
}

impl StatusStore {
    pub fn new(redis: RedisConn, prefix: &str, result_ttl_secs: u64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            result_ttl_secs,
            wait: None,
        }
    }

    /// Submits wait until `redis.wait_replicas` replicas hold the job (none: they don't wait),
    /// on connections opened here for it.
    pub async fn replicated(mut self, settings: &RedisSettings) -> redis::RedisResult<Self> {
        if settings.wait_replicas == 0 {
            return Ok(self);
        }
        let connecting = (0..WAIT_CONNECTIONS).map(|_| crate::redis_conn::connect(settings));
        self.wait = Some(Wait {
            replicas: settings.wait_replicas,
            timeout_ms: settings.wait_timeout_ms,
            connections: try_join_all(connecting).await?.into(),
            next: Arc::default(),
        });
        Ok(self)
    }

    /// What a submit waits for, if anything.
    pub(crate) fn wait(&self) -> Option<&Wait> {
        self.wait.as_ref()
    }

    /// The connection statuses are written on (for scripts that write a status with more).
    pub(crate) fn connection(&self) -> RedisConn {
        self.redis.clone()
    }

    /// The job's status hash: fields `status`, `view` (the JSON clients see) and `owner`.
    pub fn key(&self, job_id: &JobId) -> String {
        keys::job_status(&self.prefix, job_id)
    }

    /// Several jobs at once (a worker's group): one call per partition, concurrently.
    pub async fn running(&self, views: &[JobView]) -> redis::RedisResult<()> {
        let calls = by_partition(views, |view| &view.job_id)
            .into_values()
            .map(|views| {
                let mut marking = SET_RUNNING.prepare_invoke();
                for view in views {
                    marking.key(self.key(&view.job_id)).arg(to_json(view));
                }
                let mut redis = self.redis.clone();
                async move { marking.invoke_async::<i64>(&mut redis).await }
            });
        try_join_all(calls).await?;
        Ok(())
    }

    /// Published after the MySQL commit, each kept for `result_ttl_secs`, and announced on its
    /// partition's "job done" channel ([`keys::jobs_done`]: the web tier answers the job's
    /// long-polls with the view, without a re-read); several jobs (a worker's group, with their
    /// owners) in one transaction per partition, concurrently.
    pub async fn terminal(&self, done: &[(&JobView, UserId)]) -> redis::RedisResult<()> {
        let calls = by_partition(done, |(view, _)| &view.job_id)
            .into_iter()
            .map(|(partition, done)| self.terminal_in(partition, done));
        try_join_all(calls).await?;
        Ok(())
    }

    /// [`Self::terminal`] of jobs of one partition: one MULTI in one slot.
    async fn terminal_in(
        &self,
        partition: u16,
        done: Vec<&(&JobView, UserId)>,
    ) -> redis::RedisResult<()> {
        let channel = keys::jobs_done(&self.prefix, partition);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for &&(view, owner) in &done {
            let key = self.key(&view.job_id);
            let status = if view.status == Status::Succeeded {
                "succeeded"
            } else {
                "failed"
            };
            let json = to_json(view);
            pipe.hset_multiple(
                &key,
                &[
                    ("status", status.to_owned()),
                    ("view", json.clone()),
                    ("owner", owner.to_string()),
                ],
            )
            .expire(&key, self.result_ttl_secs as i64)
            .publish(&channel, json);
        }
        pipe.exec_async(&mut self.redis.clone()).await
    }

    pub async fn get(&self, job_id: &JobId) -> redis::RedisResult<Option<StoredStatus>> {
        let (owner, view): (Option<i64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(job_id))
            .arg("owner")
            .arg("view")
            .query_async(&mut self.redis.clone())
            .await?;
        let (Some(owner), Some(view)) = (owner, view) else {
            return Ok(None);
        };
        match serde_json::from_str(&view) {
            Ok(view) => Ok(Some(StoredStatus {
                owner: UserId::from_raw(owner),
                view,
            })),
            // Answered from MySQL instead, but never silently: something wrote a bad status.
            Err(error) => {
                tracing::error!(%job_id, %error, "corrupt job status in Redis; ignoring it");
                Ok(None)
            }
        }
    }
}
