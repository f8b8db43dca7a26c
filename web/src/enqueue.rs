//! Enqueueing a user's job: per-user rate limit, `Idempotency-Key`, then the queue push.

use std::sync::LazyLock;

use apalis_redis::RedisStorage;
use axum::http::HeaderMap;
use jobs::job::{JobView, Kind, QUEUED_TTL_SECS, Status, to_json};
use jobs::queue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Keys are claimed for this long: the same key from the same user within it is the same job.
const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Everything before the push in one Lua call: the per-user token bucket (`rate` tokens a second,
/// at most `burst`), then the `Idempotency-Key` claim, then the new job's owner and `queued`
/// status (the hash `StatusStore` reads). Returns `{0, ''}` when rate limited, `{1, earlier id}`
/// when the key was claimed before, `{2, ''}` when the new job may be pushed.
/// KEYS: bucket, status hash, [claim]. ARGV: now ms, rate, burst, job id, view JSON, owner,
/// status TTL, claim TTL.
static ADMIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = tokens >= 1
if allowed then
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if not allowed then
  return {0, ''}
end
if KEYS[3] then
  local earlier = redis.call('SET', KEYS[3], ARGV[4], 'NX', 'GET', 'EX', ARGV[8])
  if earlier then
    return {1, earlier}
  end
end
redis.call('HSET', KEYS[2], 'status', 'queued', 'view', ARGV[5], 'owner', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return {2, ''}",
    )
});

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
/// `Idempotency-Key` made (pushing it again if it never reached the queue: a push is a no-op
/// for an id that is already there).
pub async fn submit<T>(
    state: &AppState,
    storage: &RedisStorage<T>,
    kind: Kind,
    user_id: i64,
    key: Option<String>,
    make: impl FnOnce(String) -> T,
) -> ApiResult<Accepted>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    let mut redis = state.redis.clone();
    let prefix = &state.settings.redis.prefix;
    let limits = &state.settings.limits;
    let job_id = ulid::Ulid::new().to_string();
    let claim = key.map(|k| format!("{prefix}:idem:{user_id}:{k}"));
    let mut admit = ADMIT.prepare_invoke();
    admit
        .key(format!("{prefix}:rl:enqueue:{user_id}"))
        .key(state.status.key(&job_id));
    if let Some(claim) = &claim {
        admit.key(claim);
    }
    let (verdict, earlier): (i64, String) = admit
        .arg(jobs::json::now_millis().timestamp_millis())
        .arg(limits.enqueue_per_second)
        .arg(limits.enqueue_burst)
        .arg(&job_id)
        .arg(to_json(&JobView::new(&job_id, kind, Status::Queued)))
        .arg(user_id)
        .arg(QUEUED_TTL_SECS)
        .arg(IDEMPOTENCY_TTL_SECS)
        .invoke_async(&mut redis)
        .await?;
    match verdict {
        0 => {
            return Err(ApiError::RateLimited {
                retry_after_secs: 1,
            });
        }
        1 => return replay(state, storage, kind, user_id, earlier, make).await,
        _ => {}
    }
    if let Err(error) = queue::push_new(storage, kind, &job_id, make(job_id.clone())).await {
        if let Some(claim) = &claim {
            let _: Result<(), _> = redis::cmd("DEL").arg(claim).query_async(&mut redis).await;
        }
        return Err(ApiError::Unavailable(error));
    }
    Ok(Accepted {
        job_id,
        status: Status::Queued,
    })
}

/// The job an earlier request with the same key made. If it never reached Redis (that request
/// failed half-way), this request's job is enqueued under the earlier id instead.
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
    if let Some(stored) = state.status.get(&job_id).await? {
        if stored.view.status == Status::Queued {
            // A push of an id already queued changes nothing; one that was lost is restored.
            queue::push(storage, &job_id, make(job_id.clone()))
                .await
                .map_err(ApiError::Unavailable)?;
        }
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
