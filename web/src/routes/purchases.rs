//! Buying chapters: validate, enqueue, answer 202 with the job to poll.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use jobs::coins::Coins;
use jobs::ids::ChapterId;
use jobs::job::{JobId, Status};
use jobs::purchase::{BatchPurchaseJob, MAX_BATCH, PurchaseJob};
use serde::{Deserialize, Serialize};

use super::errors::EnqueueErrors;
use crate::enqueue::{self, Accepted};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::idempotency::Idempotency;
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/purchases", post(buy))
        .route("/api/purchases/batch", post(buy_batch))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BuyRequest {
    #[schema(schema_with = crate::extract::id_schema)]
    index_id: ChapterId,
    /// The price the buyer saw: a higher charge fails the job with `price_changed`.
    #[serde(
        default,
        deserialize_with = "jobs::json::opt_whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 1000000000000_i64, nullable = false)]
    max_price: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchRequest {
    #[schema(schema_with = batch_schema)]
    index_ids: Vec<ChapterId>,
    /// The total the buyer saw: a higher charge fails the job with `price_changed`.
    #[serde(
        default,
        deserialize_with = "jobs::json::opt_whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 1000000000000_i64, nullable = false)]
    max_total: Option<i64>,
}

/// The largest `max_price` / `max_total` (far above any real price).
const MAX_SEEN: i64 = 1_000_000_000_000;

/// An optional bound on what a purchase may spend: 0 to [`MAX_SEEN`] coins.
fn seen(field: &str, value: Option<i64>) -> ApiResult<Option<Coins>> {
    match value {
        Some(coins) if !(0..=MAX_SEEN).contains(&coins) => Err(ApiError::invalid(format!(
            "{field}: between 0 and {MAX_SEEN} coins"
        ))),
        other => Ok(other.map(Coins::new)),
    }
}

fn batch_schema() -> utoipa::openapi::schema::Array {
    crate::extract::id_list_schema(MAX_BATCH)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAccepted {
    job_id: JobId,
    status: Status,
    poll: String,
}

impl From<Accepted> for JobAccepted {
    fn from(accepted: Accepted) -> Self {
        let poll = format!("/api/jobs/{}", accepted.job_id);
        Self {
            job_id: accepted.job_id,
            status: accepted.status,
            poll,
        }
    }
}

pub type AcceptedResponse = (StatusCode, Json<JobAccepted>);

pub fn accepted(accepted: Accepted) -> AcceptedResponse {
    (StatusCode::ACCEPTED, Json(accepted.into()))
}

#[utoipa::path(
    post, path = "/api/purchases", tag = "purchases",
    params(Idempotency),
    request_body = BuyRequest,
    responses((status = 202, body = JobAccepted), EnqueueErrors)
)]
pub(super) async fn buy(
    State(state): State<AppState>,
    session: Session,
    idempotency: Idempotency,
    ApiJson(body): ApiJson<BuyRequest>,
) -> ApiResult<AcceptedResponse> {
    let key = idempotency.with_body(&body);
    let max_price = seen("max_price", body.max_price)?;
    let user_id = session.user_id;
    let job = enqueue::submit(&state, &state.queues.purchase, user_id, key, |job_id| {
        PurchaseJob {
            job_id,
            user_id,
            index_id: body.index_id,
            enqueued_at_ms: jobs::clock::now_ms(),
            max_price,
        }
    })
    .await?;
    Ok(accepted(job))
}

#[utoipa::path(
    post, path = "/api/purchases/batch", tag = "purchases",
    params(Idempotency),
    request_body = BatchRequest,
    responses((status = 202, body = JobAccepted), EnqueueErrors)
)]
pub(super) async fn buy_batch(
    State(state): State<AppState>,
    session: Session,
    idempotency: Idempotency,
    ApiJson(body): ApiJson<BatchRequest>,
) -> ApiResult<AcceptedResponse> {
    let key = idempotency.with_body(&body);
    let ids = body.index_ids;
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "index_ids: between 1 and 100 chapter ids",
        ));
    }
    if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
        return Err(ApiError::invalid(
            "index_ids: every chapter id at most once",
        ));
    }
    let max_total = seen("max_total", body.max_total)?;
    let user_id = session.user_id;
    let job = enqueue::submit(
        &state,
        &state.queues.batch_purchase,
        user_id,
        key,
        |job_id| BatchPurchaseJob {
            job_id,
            user_id,
            index_ids: ids.clone(),
            enqueued_at_ms: jobs::clock::now_ms(),
            max_total,
        },
    )
    .await?;
    Ok(accepted(job))
}
