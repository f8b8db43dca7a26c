//! A new job in one Redis call: its admission (the per-user rate limit, the `Idempotency-Key`
//! claim), its `queued` status, its push onto the apalis queue and the announcement that wakes
//! idle workers. Atomic: a job is either admitted, with its status and its place in the queue,
//! or nothing was written (no claim without a job, no status without a push).
//!
//! The push writes what apalis-redis 1.0's own push (`batch_push.lua`) writes for a task due
//! now: the payload in the queue's data hash, the task's metadata hash, the id on the active
//! list, and the signal list. A test pushes one job each way and compares what is stored, so an
//! apalis upgrade that changes this layout fails it.

use std::sync::LazyLock;

use super::queue::Partitioned;
use redis::Script;

use super::queue::announce_channel;
use super::status::{StatusStore, Wait};
use super::view::{JobView, Status, to_json};
use super::{Job, JobId};
use crate::ids::UserId;
use crate::metrics as m;

/// Seconds a queued job's status is kept while it waits (a deep backlog must not lose it).
const QUEUED_TTL_SECS: u64 = 24 * 3600;

/// apalis-redis's `max_attempts` for a task that does not set one.
const MAX_ATTEMPTS: u32 = 25;

/// Returns `{0, ''}` when rate limited, `{1, earlier id}` when the key was claimed before with
/// the same request, `{3, ''}` when it was claimed with another one, `{2, ''}` when the job is
/// queued. KEYS: status hash, data hash, metadata hash, active list, signal list, [bucket],
/// [claim]. ARGV: job id, view JSON, owner, status TTL, payload, max attempts, announcement
/// channel, now ms or '' (no limit), rate, burst, claim TTL or '', request fingerprint.
/// A replay is answered before the rate limit, so a client's retry is never refused, and renews
/// the claim: a write, so a `WAIT` after it (`redis.wait_replicas`) covers the earlier request's
/// job too, whichever connection made it (the replication stream is ordered). A claim
/// holds `fingerprint|job id` (one of an older release, the bare job id, is taken as a match).
/// A job id already in the data hash is not pushed again (as apalis's `HSETNX`), and a job
/// submitted again after it ended keeps its terminal status (jobs keyed by what they do, as
/// `recharge` is, are submitted again; a run of one that ended only replays its outcome).
static SUBMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if ARGV[11] ~= '' then
  local earlier = redis.call('GET', KEYS[#KEYS])
  if earlier then
    local bar = string.find(earlier, '|', 1, true)
    if bar and string.sub(earlier, 1, bar - 1) ~= ARGV[12] then
      return {3, ''}
    end
    redis.call('EXPIRE', KEYS[#KEYS], ARGV[11])
    if not bar then
      return {1, earlier}
    end
    return {1, string.sub(earlier, bar + 1)}
  end
end
if ARGV[8] ~= '' then
  local now = tonumber(ARGV[8])
  local rate = tonumber(ARGV[9])
  local burst = tonumber(ARGV[10])
  local state = redis.call('HMGET', KEYS[6], 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  local allowed = tokens >= 1
  if allowed then
    tokens = tokens - 1
  end
  redis.call('HSET', KEYS[6], 'tokens', tokens, 'at', now)
  redis.call('PEXPIRE', KEYS[6], math.ceil(burst / rate * 1000) + 1000)
  if not allowed then
    return {0, ''}
  end
end
if ARGV[11] ~= '' then
  redis.call('SET', KEYS[#KEYS], ARGV[12] .. '|' .. ARGV[1], 'EX', ARGV[11])
end
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'succeeded' and current ~= 'failed' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'view', ARGV[2], 'owner', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[5]) == 1 then
  redis.call('HSET', KEYS[3], 'attempts', 0, 'max_attempts', ARGV[6], 'status', 'Pending',
    'idempotency_key', '')
  redis.call('RPUSH', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[5])
  redis.call('LPUSH', KEYS[5], 1)
  redis.call('PUBLISH', ARGV[7], ARGV[1])
end
return {2, ''}",
    )
});

/// The checks a user's new job passes before anything is written. Its keys are in the partition
/// of the job they admit (`crate::keys`): one script touches them all.
pub struct Admission<'a> {
    /// The user's token bucket key, refilled at `rate` a second up to `burst`.
    pub bucket: &'a str,
    pub rate: u32,
    pub burst: u32,
    /// The `Idempotency-Key` claim, held for `claim_ttl_secs`.
    pub claim: Option<Claim<'a>>,
    pub claim_ttl_secs: u64,
}

/// An `Idempotency-Key` claim: its Redis key and the fingerprint of the request that made it.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub key: &'a str,
    pub fingerprint: &'a str,
}

/// What [`submit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Queued: status written, job pushed and announced.
    New,
    RateLimited,
    /// The key was claimed before by the same request, for this job.
    Earlier(JobId),
    /// The key was claimed before by another request (method, path or body): nothing written.
    KeyReused,
}

/// Queues `job` (the new job `view` names, polled by `owner`) onto the queue of the partition
/// its id names, after the `admission` checks; counted as enqueued when it is.
pub async fn submit<T: serde::Serialize>(
    queues: &Partitioned<T>,
    status: &StatusStore,
    owner: UserId,
    view: &JobView,
    admission: Option<&Admission<'_>>,
    job: &T,
) -> anyhow::Result<Admitted> {
    let id = &view.job_id;
    let config = queues.for_job(id)?.get_config();
    let mut call = SUBMIT.prepare_invoke();
    call.key(status.key(id))
        .key(config.job_data_hash())
        .key(format!("{}:{id}", config.job_meta_hash()))
        .key(config.active_jobs_list())
        .key(config.signal_list())
        .arg(id.as_str())
        .arg(to_json(view))
        .arg(owner.to_string())
        .arg(QUEUED_TTL_SECS)
        .arg(serde_json::to_vec(job)?)
        .arg(MAX_ATTEMPTS)
        .arg(announce_channel(config));
    match admission {
        None => {
            call.arg("").arg("").arg("").arg("").arg("");
        }
        Some(admission) => {
            call.key(admission.bucket)
                .arg(crate::clock::now_ms())
                .arg(admission.rate)
                .arg(admission.burst);
            match admission.claim {
                Some(claim) => call
                    .key(claim.key)
                    .arg(admission.claim_ttl_secs)
                    .arg(claim.fingerprint),
                None => call.arg("").arg(""),
            };
        }
    }
    let (verdict, earlier): (i64, String) = match status.wait() {
        None => call.invoke_async(&mut status.connection()).await?,
        Some(wait) => submit_replicated(&call, wait).await?,
    };
    Ok(match verdict {
        0 => Admitted::RateLimited,
        1 => Admitted::Earlier(JobId::from(earlier)),
        3 => Admitted::KeyReused,
        _ => {
            metrics::counter!(m::JOBS_ENQUEUED, "kind" => view.kind.as_str()).increment(1);
            Admitted::New
        }
    })
}

/// The submit, then `WAIT` in the same pipeline (so on a cluster it goes to the primary that
/// ran the script and counts that primary's replicas), on one of the connections kept for it (a
/// `WAIT` holds up its connection until it returns: never the one sessions and statuses use): an
/// error unless `wait.replicas` replicas acknowledged it within `wait.timeout_ms`. The job may
/// still be queued then (on the primary only); a retry with the same `Idempotency-Key` answers
/// that job once it is replicated.
async fn submit_replicated(
    call: &redis::ScriptInvocation<'_>,
    wait: &Wait,
) -> anyhow::Result<(i64, String)> {
    let redis = &mut wait.connection();
    let mut pipe = redis::pipe();
    pipe.invoke_script(call)
        .cmd("WAIT")
        .arg(wait.replicas)
        .arg(wait.timeout_ms);
    let answer: redis::RedisResult<((i64, String), i64)> = pipe.query_async(redis).await;
    let (verdict, acked) = match answer {
        Err(error)
            if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
        {
            call.load_async(redis).await?;
            pipe.query_async(redis).await?
        }
        answer => answer?,
    };
    // A refusal (429, 422) wrote nothing worth waiting for.
    let admitted = matches!(verdict.0, 1 | 2);
    anyhow::ensure!(
        !admitted || acked >= i64::from(wait.replicas),
        "the job reached {acked} of {} Redis replicas within {} ms",
        wait.replicas,
        wait.timeout_ms
    );
    Ok(verdict)
}

/// Queues a new job with no admission checks (the sweep's refunds, tests): its status, push
/// and announcement in one call.
pub async fn enqueue<T: Job>(
    queues: &Partitioned<T>,
    status: &StatusStore,
    job: T,
) -> anyhow::Result<()> {
    let view = JobView::new(job.job_id(), T::KIND, Status::Queued);
    submit(queues, status, job.owner(), &view, None, &job).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::Value;

    use super::*;
    use crate::ids::EntityId;
    use crate::job::queue;
    use crate::job::view::Kind;

    /// A payload of the shape every kind's has.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Probe {
        job_id: JobId,
        #[serde(with = "crate::ids::number")]
        user_id: UserId,
        enqueued_at_ms: i64,
    }

    impl Job for Probe {
        const KIND: Kind = Kind::Purchase;
        fn job_id(&self) -> &JobId {
            &self.job_id
        }
        fn owner(&self) -> UserId {
            self.user_id
        }
        fn enqueued_at_ms(&self) -> i64 {
            self.enqueued_at_ms
        }
    }

    fn job(job_id: &JobId) -> Probe {
        Probe {
            job_id: job_id.clone(),
            user_id: UserId::from_raw(7),
            enqueued_at_ms: 1,
        }
    }

    /// What the queue holds of one task: its payload (with the id taken out, since the two ids
    /// differ) and its metadata.
    async fn stored(
        redis: &mut crate::redis_conn::RedisConn,
        config: &apalis_redis::Config,
        id: &JobId,
    ) -> (Value, HashMap<String, String>) {
        let (data, meta): (String, HashMap<String, String>) = redis::pipe()
            .hget(config.job_data_hash(), id.as_str())
            .hgetall(format!("{}:{id}", config.job_meta_hash()))
            .query_async(redis)
            .await
            .unwrap();
        let mut data: Value = serde_json::from_str(&data).unwrap();
        data.as_object_mut().unwrap().remove("job_id");
        (data, meta)
    }

    #[tokio::test]
    async fn a_submitted_job_is_stored_as_apalis_stores_a_pushed_one_and_only_once() {
        let mut settings = crate::config::load_with("test").unwrap();
        settings.redis.prefix = format!("tsub{}", ulid::Ulid::new());
        settings.jobs.partitions = 3;
        let prefix = &settings.redis.prefix;
        let mut redis = crate::redis_conn::connect(&settings.redis).await.unwrap();
        let queues = Partitioned::<Probe>::new(&redis, prefix, Kind::Purchase, &settings.jobs, 1);
        // Both go to the queue of the partition their ids name.
        let config = queues.all()[2].get_config().clone();
        let status = StatusStore::new(redis.clone(), prefix, 60);
        let pushed = JobId::for_partition(2);
        queue::push(&queues, &pushed, job(&pushed)).await.unwrap();
        let submitted = JobId::for_partition(2);
        let view = JobView::new(&submitted, Kind::Purchase, Status::Queued);
        for _ in 0..2 {
            let owner = UserId::from_raw(7);
            let admitted = submit(&queues, &status, owner, &view, None, &job(&submitted)).await;
            assert_eq!(admitted.unwrap(), Admitted::New);
        }
        assert_eq!(
            stored(&mut redis, &config, &submitted).await,
            stored(&mut redis, &config, &pushed).await
        );
        // apalis schedules its push at the current second; ours is due at once, and only once.
        let (active, scheduled): (Vec<String>, Vec<String>) = redis::pipe()
            .lrange(config.active_jobs_list(), 0, -1)
            .zrange(config.scheduled_jobs_set(), 0, -1)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(active, vec![submitted.to_string()]);
        assert_eq!(scheduled, vec![pushed.to_string()]);
        let queued = status.get(&submitted).await.unwrap().unwrap();
        assert_eq!(
            (queued.owner, queued.view),
            (UserId::from_raw(7), view.clone())
        );
        // Submitted again once it ended: its terminal status stays, nothing is pushed.
        let ended = JobView::succeeded(&submitted, Kind::Purchase, serde_json::json!({}));
        status
            .terminal(&[(&ended, UserId::from_raw(7))])
            .await
            .unwrap();
        let again = submit(
            &queues,
            &status,
            UserId::from_raw(7),
            &view,
            None,
            &job(&submitted),
        )
        .await;
        assert_eq!(again.unwrap(), Admitted::New);
        assert_eq!(status.get(&submitted).await.unwrap().unwrap().view, ended);
        let active: Vec<String> = redis::cmd("LRANGE")
            .arg(config.active_jobs_list())
            .arg(0)
            .arg(-1)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(active, vec![submitted.to_string()]);
        let keys = redis.keys_of(prefix).await.unwrap();
        redis::cmd("DEL")
            .arg(keys)
            .exec_async(&mut redis)
            .await
            .unwrap();
    }
}
