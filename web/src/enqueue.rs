//! Enqueueing a user's job: per-user rate limit, `Idempotency-Key`, then the queue push.

use apalis_redis::RedisStorage;
use axum::http::HeaderMap;
use jobs::job::{Kind, Status};
use jobs::queue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Keys are claimed for this long: the same key from the same user within it is the same job.
const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Token bucket per user in one Lua call: `rate` tokens a second, at most `burst`.
const TAKE_TOKEN: &str = r"
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return allowed";

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
    let allowed: i64 = redis::Script::new(TAKE_TOKEN)
        .key(format!("{prefix}:rl:enqueue:{user_id}"))
        .arg(jobs::json::now_millis().timestamp_millis())
        .arg(limits.enqueue_per_second)
        .arg(limits.enqueue_burst)
        .invoke_async(&mut redis)
        .await?;
    if allowed == 0 {
        return Err(ApiError::RateLimited {
            retry_after_secs: 1,
        });
    }
    let job_id = ulid::Ulid::new().to_string();
    let claim = key.map(|k| format!("{prefix}:idem:{user_id}:{k}"));
    if let Some(claim) = &claim {
        let earlier: Option<String> = redis::cmd("SET")
            .arg(claim)
            .arg(&job_id)
            .arg("NX")
            .arg("GET")
            .arg("EX")
            .arg(IDEMPOTENCY_TTL_SECS)
            .query_async(&mut redis)
            .await?;
        if let Some(earlier) = earlier {
            return replay(state, storage, kind, user_id, earlier, make).await;
        }
    }
    let job = make(job_id.clone());
    if let Err(error) = queue::enqueue(storage, &state.status, kind, user_id, &job_id, job).await {
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
