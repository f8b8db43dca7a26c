//! Admin money operations: crediting coins (synchronously, through the ledger) and the
//! on-demand refund sweep (a job like any other).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use jobs::coins::Coins;
use jobs::credit::{self, Credit, Credited, Key};
use jobs::ids::UserId;
use jobs::metrics as m;
use jobs::refund::RefundSweepJob;
use serde::{Deserialize, Serialize};

use super::errors::{CreditErrors, SweepErrors};
use super::purchases::{AcceptedResponse, accepted};
use crate::enqueue;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, PathId};
use crate::idempotency::Idempotency;
use crate::sessions::AdminSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users/{user_id}/credit", post(credit))
        .route("/api/admin/refunds/sweep", post(sweep))
}

pub const MAX_CREDIT: i64 = 1_000_000_000;
pub const MAX_NOTE_CHARS: usize = 255;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreditRequest {
    #[serde(deserialize_with = "jobs::json::whole")]
    #[schema(minimum = 1, maximum = 1000000000)]
    amount: i64,
    #[schema(max_length = 255)]
    note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Balance {
    balance: Coins,
}

#[utoipa::path(
    post, path = "/api/admin/users/{user_id}/credit", tag = "admin",
    params(
        ("user_id" = UserId, Path),
        Idempotency,
    ),
    request_body = CreditRequest,
    responses((status = 200, body = Balance), CreditErrors)
)]
pub(super) async fn credit(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    ApiPath(PathId(user_id)): ApiPath<PathId<UserId>>,
    idempotency: Idempotency,
    body: Result<ApiJson<CreditRequest>, ApiError>,
) -> ApiResult<Json<Balance>> {
    // The target before the body.
    jobs::users::user(&state.db.main, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ApiJson(body) = body?;
    if !(1..=MAX_CREDIT).contains(&body.amount) {
        return Err(ApiError::invalid("amount: between 1 and 1000000000 coins"));
    }
    let note = body.note.as_deref().unwrap_or_default();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid("note: at most 255 characters"));
    }
    let keyed = idempotency.with_body(&body);
    let request = Credit {
        admin_id: admin.user_id,
        user_id,
        amount: Coins::new(body.amount),
        note,
        key: keyed.as_ref().map(|k| Key {
            key: &k.key,
            fingerprint: &k.fingerprint,
        }),
    };
    let retries = state.settings.database.deadlock_retries;
    match credit::credit(&state.db.main, &state.ids, request, retries).await? {
        Credited::Balance(balance) => {
            metrics::counter!(m::COINS, "direction" => "credited").increment(body.amount as u64);
            tracing::info!(%user_id, amount = body.amount, admin = %admin.account, "coins credited");
            Ok(Json(Balance { balance }))
        }
        Credited::Replayed(balance) => Ok(Json(Balance { balance })),
        Credited::UserNotFound => Err(ApiError::NotFound),
        Credited::KeyReused => Err(ApiError::IdempotencyKeyReused),
    }
}

#[utoipa::path(
    post, path = "/api/admin/refunds/sweep", tag = "admin",
    responses((status = 202, body = super::purchases::JobAccepted), SweepErrors)
)]
pub(super) async fn sweep(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
) -> ApiResult<AcceptedResponse> {
    let requested_by = admin.user_id;
    let job = enqueue::submit(
        &state,
        &state.queues.refund_sweep,
        requested_by,
        None,
        |job_id| RefundSweepJob {
            job_id,
            requested_by,
            enqueued_at_ms: jobs::clock::now_ms(),
        },
    )
    .await?;
    Ok(accepted(job))
}
