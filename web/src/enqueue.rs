//! Enqueueing a user's job: the `Idempotency-Key` header, one atomic submit (rate limit, key
//! claim, status, push), and the replay of a key claimed before.

use jobs::ids::UserId;
use jobs::job::queue::Partitioned;
use jobs::job::submit::{self, Admission, Admitted, Claim};
use jobs::job::{Job, JobId, JobView, Status, outcome};

use crate::error::{ApiError, ApiResult};
use crate::idempotency::{IDEMPOTENCY_TTL_SECS, Keyed, claim_key};
use crate::state::AppState;

/// What the 202 answers: the job (a new one, or the one an earlier request with the same key made).
pub struct Accepted {
    pub job_id: JobId,
    pub status: Status,
}

/// Enqueues `make(job_id)` (a job of `owner`'s, in the owner's partition where its kind is
/// partitioned), or answers the job an earlier request of its owner with the same
/// `Idempotency-Key` made.
pub async fn submit<T: Job>(
    state: &AppState,
    queues: &Partitioned<T>,
    owner: UserId,
    key: Option<Keyed>,
    make: impl Fn(JobId) -> T,
) -> ApiResult<Accepted> {
    let prefix = &state.settings.redis.prefix;
    let limits = &state.settings.limits;
    let job_id = queues.new_id(owner);
    let job = make(job_id.clone());
    // The bucket and the claim sit in the job's partition: one script touches them all.
    let partition = job_id.partition();
    let claim_key = key
        .as_ref()
        .map(|k| claim_key(prefix, partition, owner, &k.key));
    // The rate limit, the key's claim, the `queued` status and the push: one atomic call.
    let admission = Admission {
        bucket: &jobs::keys::enqueue_bucket(prefix, partition, owner),
        rate: limits.enqueue_per_second,
        burst: limits.enqueue_burst,
        claim: key
            .as_ref()
            .zip(claim_key.as_deref())
            .map(|(k, claim)| Claim {
                key: claim,
                fingerprint: &k.fingerprint,
            }),
        claim_ttl_secs: IDEMPOTENCY_TTL_SECS,
    };
    let view = JobView::new(&job_id, T::KIND, Status::Queued);
    match submit::submit(queues, &state.status, owner, &view, Some(&admission), &job)
        .await
        .map_err(ApiError::Unavailable)?
    {
        Admitted::RateLimited => Err(ApiError::RateLimited {
            retry_after_secs: 1,
        }),
        Admitted::Earlier(earlier) => replay(state, queues, earlier, make).await,
        Admitted::KeyReused => Err(ApiError::IdempotencyKeyReused),
        Admitted::New => Ok(Accepted {
            job_id,
            status: Status::Queued,
        }),
    }
}

/// The job an earlier request with the same key made. If neither Redis nor MySQL knows it (its
/// status expired while it waited, or Redis lost it), this request's job is enqueued under the
/// earlier id instead (in the partition it names, the claim's); its outcome key still lets it
/// be charged only once.
async fn replay<T: Job>(
    state: &AppState,
    queues: &Partitioned<T>,
    job_id: JobId,
    make: impl FnOnce(JobId) -> T,
) -> ApiResult<Accepted> {
    // A status means the job was queued with it: `submit` writes both in one call.
    if let Some(stored) = state.status.get(&job_id).await? {
        return Ok(Accepted {
            job_id,
            status: stored.view.status,
        });
    }
    if let Some(view) = outcome::recorded(&state.db.main, &job_id).await? {
        return Ok(Accepted {
            job_id,
            status: view.status,
        });
    }
    submit::enqueue(queues, &state.status, make(job_id.clone()))
        .await
        .map_err(ApiError::Unavailable)?;
    Ok(Accepted {
        job_id,
        status: Status::Queued,
    })
}
