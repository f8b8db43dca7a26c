//! Enqueueing a user's job: the `Idempotency-Key` header, one atomic submit (rate limit, key
//! claim, status, push), and the replay of a key claimed before.

use apalis_redis::RedisStorage;
use axum::http::HeaderMap;
use jobs::job::{JobView, Kind, Status};
use jobs::queue;
use jobs::submit::{Admission, Admitted};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Keys are claimed for this long: the same key from the same user within it is the same job.
const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// The validated `Idempotency-Key` header, if any: 1–64 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| ApiError::invalid("Idempotency-Key: 1 to 64 visible ASCII characters"))?;
    Ok(Some(key.to_owned()))
}

/// What the 202 answers: the job (a new one, or the one an earlier request with the same key made).
pub struct Accepted {
    pub job_id: String,
    pub status: Status,
}

/// Enqueues `make(job_id)` for `user_id`, or answers the job an earlier request with the same
/// `Idempotency-Key` made.
pub async fn submit<T>(
    state: &AppState,
    storage: &RedisStorage<T>,
    kind: Kind,
    user_id: i64,
    key: Option<String>,
    make: impl Fn(String) -> T,
) -> ApiResult<Accepted>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    let prefix = &state.settings.redis.prefix;
    let limits = &state.settings.limits;
    let job_id = ulid::Ulid::new().to_string();
    let claim = key.map(|k| format!("{prefix}:idem:{user_id}:{k}"));
    // The rate limit, the key's claim, the `queued` status and the push: one atomic call.
    let admission = Admission {
        bucket: &format!("{prefix}:rl:enqueue:{user_id}"),
        rate: limits.enqueue_per_second,
        burst: limits.enqueue_burst,
        claim: claim.as_deref(),
        claim_ttl_secs: IDEMPOTENCY_TTL_SECS,
    };
    let view = JobView::new(&job_id, kind, Status::Queued);
    let job = make(job_id.clone());
    match jobs::submit::submit(
        storage,
        &state.status,
        user_id,
        &view,
        Some(&admission),
        &job,
    )
    .await
    .map_err(ApiError::Unavailable)?
    {
        Admitted::RateLimited => Err(ApiError::RateLimited {
            retry_after_secs: 1,
        }),
        Admitted::Earlier(earlier) => replay(state, storage, kind, user_id, earlier, make).await,
        Admitted::New => Ok(Accepted {
            job_id,
            status: Status::Queued,
        }),
    }
}

/// The job an earlier request with the same key made. If neither Redis nor MySQL knows it (its
/// status expired while it waited, or Redis lost it), this request's job is enqueued under the
/// earlier id instead; its outcome key still lets it be charged only once.
async fn replay<T>(
    state: &AppState,
    storage: &RedisStorage<T>,
    kind: Kind,
    user_id: i64,
    job_id: String,
    make: impl FnOnce(String) -> T,
) -> ApiResult<Accepted>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    // A status means the job was queued with it: `submit` writes both in one call.
    if let Some(stored) = state.status.get(&job_id).await? {
        return Ok(Accepted {
            job_id,
            status: stored.view.status,
        });
    }
    if let Some(view) = jobs::outcome::recorded(&state.db.main, &job_id).await? {
        return Ok(Accepted {
            job_id,
            status: view.status,
        });
    }
    queue::enqueue(
        storage,
        &state.status,
        kind,
        user_id,
        &job_id,
        make(job_id.clone()),
    )
    .await
    .map_err(ApiError::Unavailable)?;
    Ok(Accepted {
        job_id,
        status: Status::Queued,
    })
}
