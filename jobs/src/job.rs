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

/// The pub/sub channel a job's terminal view (its JSON, which names the job) is published on
/// once it is in Redis: the web tier answers that job's long-polls with it, without a re-read.
pub fn done_channel(prefix: &str) -> String {
    format!("{prefix}:jobs:done")
}

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

    /// The connection statuses are written on (for scripts that write a status with more).
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.redis.clone()
    }

    /// The job's status hash: fields `status`, `view` (the JSON clients see) and `owner`.
    pub fn key(&self, job_id: &str) -> String {
        format!("{}:job:{job_id}", self.prefix)
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
