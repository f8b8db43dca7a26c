//! Admin money operations: crediting coins (synchronously, through the ledger) and the
//! on-demand refund sweep (a job like any other).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use jobs::job::Kind;
use jobs::ledger::{self, Entry, Reason};
use jobs::metrics as m;
use jobs::refund::RefundSweepJob;
use serde::{Deserialize, Serialize};

use super::purchases::{AcceptedResponse, accepted};
use crate::enqueue;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::sessions::AdminSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users/{user_id}/credit", post(credit))
        .route("/api/admin/refunds/sweep", post(sweep))
}

pub const MAX_CREDIT: i64 = 1_000_000_000;
pub const MAX_NOTE_CHARS: usize = 255;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreditRequest {
    amount: i64,
    note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Balance {
    balance: i64,
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/credit",
    tag = "admin",
    params(("user_id" = i64, Path)),
    request_body = CreditRequest,
    responses((status = 200, body = Balance), (status = 400, description = "invalid request", body = crate::error::ErrorBody), (status = 401, description = "not signed in", body = crate::error::ErrorBody), (status = 403, description = "frozen, CSRF or forbidden", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody), (status = 413, description = "body too large", body = crate::error::ErrorBody), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = []))
)]
pub(super) async fn credit(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreditRequest>,
) -> ApiResult<Json<Balance>> {
    if !(1..=MAX_CREDIT).contains(&body.amount) {
        return Err(ApiError::invalid("amount: between 1 and 1000000000 coins"));
    }
    let note = body.note.unwrap_or_default();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid("note: at most 255 characters"));
    }
    let ref_id = format!("admin:{}", admin.user_id);
    let entry = Entry {
        id: state.ids.next_id().await?,
        user_id,
        reason: Reason::Credit,
        ref_id: &ref_id,
        note: Some(&note),
    };
    let mut tx = state.db.main.begin().await?;
    let balance = ledger::credit(&mut tx, entry, body.amount)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    metrics::counter!(m::COINS, "direction" => "credited").increment(body.amount as u64);
    tracing::info!(user_id, amount = body.amount, admin = %admin.account, "coins credited");
    Ok(Json(Balance { balance }))
}

#[utoipa::path(
    post,
    path = "/api/admin/refunds/sweep",
    tag = "admin",
    responses((status = 202, body = super::purchases::JobAccepted), (status = 401, description = "not signed in", body = crate::error::ErrorBody), (status = 403, description = "frozen, CSRF or forbidden", body = crate::error::ErrorBody), (status = 429, description = "rate limited", body = crate::error::ErrorBody), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = []))
)]
pub(super) async fn sweep(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
) -> ApiResult<AcceptedResponse> {
    let requested_by = admin.user_id;
    let job = enqueue::submit(
        &state,
        &state.queues.refund_sweep,
        Kind::RefundSweep,
        requested_by,
        None,
        |job_id| RefundSweepJob {
            job_id,
            requested_by,
            enqueued_at_ms: jobs::json::now_millis().timestamp_millis(),
        },
    )
    .await?;
    Ok(accepted(job))
}
