//! Polling a job: Redis first, MySQL when the Redis status has expired; owners only.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jobs::accounts::Role;
use jobs::job::{JobId, JobView};
use serde::Deserialize;

use super::errors::LookupErrors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/jobs/{job_id}", get(show))
}

pub const MAX_WAIT_MS: u64 = 10_000;

#[derive(Debug, Deserialize)]
pub(super) struct Wait {
    wait_ms: Option<u64>,
}

/// The job as its owner (or an admin) may see it; `None` for anyone else, as for no job.
async fn visible(
    state: &AppState,
    session: &Session,
    job_id: &JobId,
) -> ApiResult<Option<JobView>> {
    let found = match state.status.get(job_id).await? {
        None => jobs::job::outcome::recorded_with_owner(&state.db.main, job_id).await?,
        found => found,
    };
    Ok(found
        .filter(|s| s.owner == session.user_id || session.has_role(Role::Admin))
        .map(|s| s.view))
}

/// `?wait_ms=N` (at most 10 000) long-polls until the job is terminal or the time is up.
#[utoipa::path(
    get, path = "/api/jobs/{job_id}", operation_id = "show_job", tag = "purchases",
    params(
        ("job_id" = String, Path, pattern = "^[0-9A-Za-z_-]{1,64}$"),
        (
            "wait_ms" = Option<u64>, Query, maximum = 10000,
            description = "long-poll up to this many ms (at most 10000)",
        ),
    ),
    responses((status = 200, body = jobs::job::JobView), LookupErrors)
)]
pub(super) async fn show(
    State(state): State<AppState>,
    session: Session,
    ApiPath(job_id): ApiPath<String>,
    ApiQuery(wait): ApiQuery<Wait>,
) -> ApiResult<Json<JobView>> {
    let wait_ms = wait.wait_ms.unwrap_or(0);
    if wait_ms > MAX_WAIT_MS {
        return Err(ApiError::invalid("wait_ms: at most 10000"));
    }
    let job_id = JobId::parse(&job_id).ok_or(ApiError::NotFound)?;
    let deadline = Instant::now() + Duration::from_millis(wait_ms);
    // Registered before the first read, so a result published in between still reaches us.
    let mut watch = (wait_ms > 0).then(|| state.wakeups.watch(&job_id));
    let mut view = visible(&state, &session, &job_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The published view normally ends the wait (the first read showed the job is the caller's);
    // the re-reads are the fallback for a lost message, so they start at 25 ms (each costs a
    // Redis read per waiting poll).
    let mut pause = Duration::from_millis(25);
    while !view.is_terminal() && Instant::now() < deadline {
        let nap = tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(50));
        if let Some(done) = watch.as_mut().map(|w| &mut w.done) {
            tokio::select! {
                changed = done.changed() => {
                    if changed.is_ok()
                        && let Some(published) = done.borrow_and_update().clone()
                    {
                        view = published;
                        continue;
                    }
                }
                _ = nap => {}
            }
        } else {
            nap.await;
        }
        view = visible(&state, &session, &job_id)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    Ok(Json(view))
}
