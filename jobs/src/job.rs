//! The job object clients poll, its kinds and failure codes, and its status in Redis.

use std::sync::LazyLock;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Purchase,
    BatchPurchase,
    Refund,
    RefundSweep,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Purchase,
        Kind::BatchPurchase,
        Kind::Refund,
        Kind::RefundSweep,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::BatchPurchase => "batch_purchase",
            Kind::Refund => "refund",
            Kind::RefundSweep => "refund_sweep",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// Business failures are outcomes (published, job done), never retried errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    InsufficientBalance,
    AlreadyBought,
    ChapterNotFound,
    NotForSale,
    Internal,
}

impl FailureCode {
    pub const ALL: [FailureCode; 5] = [
        FailureCode::InsufficientBalance,
        FailureCode::AlreadyBought,
        FailureCode::ChapterNotFound,
        FailureCode::NotForSale,
        FailureCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::InsufficientBalance => "insufficient_balance",
            FailureCode::AlreadyBought => "already_bought",
            FailureCode::ChapterNotFound => "chapter_not_found",
            FailureCode::NotForSale => "not_for_sale",
            FailureCode::Internal => "internal",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            FailureCode::InsufficientBalance => "not enough coins for this purchase",
            FailureCode::AlreadyBought => "this chapter is already yours",
            FailureCode::ChapterNotFound => "a chapter of this purchase does not exist",
            FailureCode::NotForSale => "this chapter is free and not for sale",
            FailureCode::Internal => "the job could not be completed; nothing was charged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobError {
    pub code: FailureCode,
    pub message: String,
}

/// What `GET /api/jobs/{id}` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_id: String,
    pub kind: Kind,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

impl JobView {
    pub fn new(job_id: &str, kind: Kind, status: Status) -> Self {
        Self {
            job_id: job_id.to_owned(),
            kind,
            status,
            result: None,
            error: None,
        }
    }

    pub fn succeeded(job_id: &str, kind: Kind, result: Value) -> Self {
        Self {
            result: Some(result),
            ..Self::new(job_id, kind, Status::Succeeded)
        }
    }

    pub fn failed(job_id: &str, kind: Kind, code: FailureCode) -> Self {
        let error = JobError {
            code,
            message: code.message().to_owned(),
        };
        Self {
            error: Some(error),
            ..Self::new(job_id, kind, Status::Failed)
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status, Status::Succeeded | Status::Failed)
    }
}

/// The Redis status of one job: a hash with its owner and view.
#[derive(Clone)]
pub struct StatusStore {
    redis: ConnectionManager,
    prefix: String,
    /// Seconds a terminal result stays in Redis (afterwards MySQL answers).
    result_ttl_secs: u64,
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

/// A new job's `queued` status (owner and view; the layout `get` reads), written only if it is
/// admitted: first the optional per-user token bucket (`rate` tokens a second, at most `burst`),
/// then the optional `Idempotency-Key` claim. Returns `{0, ''}` when rate limited, `{1, earlier
/// id}` when the key was claimed before, `{2, ''}` when the status is written.
/// KEYS: status hash, [bucket], [claim]. ARGV: view JSON, owner, status TTL, now ms or '' (no
/// limit), rate, burst, job id, claim TTL or '' (no claim).
static ADMIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if ARGV[4] ~= '' then
  local now = tonumber(ARGV[4])
  local rate = tonumber(ARGV[5])
  local burst = tonumber(ARGV[6])
  local state = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  local allowed = tokens >= 1
  if allowed then
    tokens = tokens - 1
  end
  redis.call('HSET', KEYS[2], 'tokens', tokens, 'at', now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  if not allowed then
    return {0, ''}
  end
end
if ARGV[8] ~= '' then
  local earlier = redis.call('SET', KEYS[#KEYS], ARGV[7], 'NX', 'GET', 'EX', ARGV[8])
  if earlier then
    return {1, earlier}
  end
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'view', ARGV[1], 'owner', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {2, ''}",
    )
});

/// The checks a user's new job passes before its status is written.
pub struct Admission<'a> {
    /// The user's token bucket key, refilled at `rate` a second up to `burst`.
    pub bucket: &'a str,
    pub rate: u32,
    pub burst: u32,
    /// The `Idempotency-Key` claim's key, held for `claim_ttl_secs`.
    pub claim: Option<&'a str>,
    pub claim_ttl_secs: u64,
}

/// What [`StatusStore::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Written: the job may be pushed.
    New,
    RateLimited,
    /// The key was claimed before, by this job.
    Earlier(String),
}

/// The pub/sub channel a job's terminal view (its JSON, which names the job) is published on
/// once it is in Redis: the web tier answers that job's long-polls with it, without a re-read.
pub fn done_channel(prefix: &str) -> String {
    format!("{prefix}:jobs:done")
}

/// Seconds a queued job's status is kept while it waits (a deep backlog must not lose it).
const QUEUED_TTL_SECS: u64 = 24 * 3600;

/// One job's status hash as stored.
#[derive(Debug, Clone)]
pub struct StoredStatus {
    pub owner: i64,
    pub view: JobView,
}

impl StatusStore {
    pub fn new(redis: ConnectionManager, prefix: &str, result_ttl_secs: u64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            result_ttl_secs,
        }
    }

    /// The job's status hash: fields `status`, `view` (the JSON clients see) and `owner`.
    pub fn key(&self, job_id: &str) -> String {
        format!("{}:job:{job_id}", self.prefix)
    }

    /// Written before the push, so an immediate poll never gets 404.
    pub async fn queued(&self, view: &JobView, owner: i64) -> redis::RedisResult<()> {
        self.admit(view, owner, None).await.map(drop)
    }

    /// [`Self::queued`] after the `admission` checks, in one call; nothing is written unless
    /// the answer is [`Admitted::New`].
    pub async fn admit(
        &self,
        view: &JobView,
        owner: i64,
        admission: Option<&Admission<'_>>,
    ) -> redis::RedisResult<Admitted> {
        let mut call = ADMIT.prepare_invoke();
        call.key(self.key(&view.job_id))
            .arg(to_json(view))
            .arg(owner)
            .arg(QUEUED_TTL_SECS);
        match admission {
            None => {
                call.arg("").arg("").arg("").arg(&view.job_id).arg("");
            }
            Some(admission) => {
                call.key(admission.bucket)
                    .arg(crate::json::now_millis().timestamp_millis())
                    .arg(admission.rate)
                    .arg(admission.burst)
                    .arg(&view.job_id);
                match admission.claim {
                    Some(claim) => call.key(claim).arg(admission.claim_ttl_secs),
                    None => call.arg(""),
                };
            }
        }
        let (verdict, earlier): (i64, String) = call.invoke_async(&mut self.redis.clone()).await?;
        Ok(match verdict {
            0 => Admitted::RateLimited,
            1 => Admitted::Earlier(earlier),
            _ => Admitted::New,
        })
    }

    /// Several jobs at once (a worker's group), in one call.
    pub async fn running(&self, views: &[JobView]) -> redis::RedisResult<()> {
        let mut marking = SET_RUNNING.prepare_invoke();
        for view in views {
            marking.key(self.key(&view.job_id)).arg(to_json(view));
        }
        marking.invoke_async::<i64>(&mut self.redis.clone()).await?;
        Ok(())
    }

    /// Published after the MySQL commit, each kept for `result_ttl_secs`; several jobs (a
    /// worker's group, with their owners) in one round trip.
    pub async fn terminal(&self, done: &[(&JobView, i64)]) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for &(view, owner) in done {
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
            .publish(done_channel(&self.prefix), json);
        }
        pipe.exec_async(&mut self.redis.clone()).await
    }

    pub async fn get(&self, job_id: &str) -> redis::RedisResult<Option<StoredStatus>> {
        let (owner, view): (Option<i64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(job_id))
            .arg("owner")
            .arg("view")
            .query_async(&mut self.redis.clone())
            .await?;
        let (Some(owner), Some(view)) = (owner, view) else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&view)
            .ok()
            .map(|view| StoredStatus { owner, view }))
    }
}

pub fn to_json(view: &JobView) -> String {
    serde_json::to_string(view).expect("a job view always serialises")
}
