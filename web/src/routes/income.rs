//! Author income and the admin's business figures, read from the rollup; the rollup on demand.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::ids::BookId;
use jobs::income::{self, DayRange, DayStats, Income, IncomeRollupJob, Period};
use serde::{Deserialize, Serialize};

use super::errors::{ListErrors, LookupErrors, RollupErrors};
use super::purchases::{AcceptedResponse, accepted};
use crate::enqueue;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::sessions::{AdminSession, AuthorSession};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/author/income", get(author_income))
        .route("/api/admin/stats", get(stats))
        .route("/api/admin/income/rollup", post(rollup))
}

/// Days a request without `from` covers.
const DEFAULT_DAYS: u64 = 30;

/// `?from=&to=` (UTC days, at most 366; default the 30 days up to today).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Range {
    /// first day, YYYY-MM-DD (default: 29 days before `to`); not after `to`, at most 366 days
    #[param(format = Date)]
    from: Option<String>,
    /// last day, YYYY-MM-DD (default: today, UTC)
    #[param(format = Date)]
    to: Option<String>,
}

impl Range {
    fn checked(&self) -> ApiResult<DayRange> {
        income::requested_range(self.from.as_deref(), self.to.as_deref(), DEFAULT_DAYS)
            .map_err(ApiError::invalid)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct IncomeQuery {
    #[serde(flatten)]
    range: Range,
    #[serde(flatten)]
    filter: IncomeFilter,
}

/// `?by=&book_id=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct IncomeFilter {
    /// sum per day (default) or per month
    #[param(inline)]
    by: Option<Period>,
    /// one of my books only
    #[param(value_type = Option<BookId>)]
    book_id: Option<String>,
}

#[utoipa::path(
    get, path = "/api/author/income", tag = "authors",
    params(Range, IncomeFilter),
    responses((status = 200, body = Income), LookupErrors)
)]
pub(super) async fn author_income(
    State(state): State<AppState>,
    author: AuthorSession,
    ApiQuery(query): ApiQuery<IncomeQuery>,
) -> ApiResult<Json<Income>> {
    let days = query.range.checked()?;
    let book_id = query
        .filter
        .book_id
        .as_deref()
        .map(|text| {
            text.parse::<BookId>()
                .map_err(|e| ApiError::invalid(format!("book_id: {e}")))
        })
        .transpose()?;
    if let Some(book_id) = book_id {
        let owner = jobs::authoring::book_author(&state.db.main, book_id).await?;
        if owner != Some(author.author_id) {
            return Err(ApiError::NotFound);
        }
    }
    let by = query.filter.by.unwrap_or_default();
    let income = income::author_income(&state.db.main, author.author_id, days, by, book_id).await?;
    Ok(Json(income))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct StatsList {
    items: Vec<DayStats>,
}

#[utoipa::path(
    get, path = "/api/admin/stats", tag = "admin",
    params(Range),
    responses((status = 200, body = StatsList), ListErrors)
)]
pub(super) async fn stats(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiQuery(range): ApiQuery<Range>,
) -> ApiResult<Json<StatsList>> {
    let items = income::daily_stats(&state.db.main, range.checked()?).await?;
    Ok(Json(StatsList { items }))
}

/// The days to fold again; both default to today (UTC). An empty body is `{}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RollupRequest {
    /// first day, YYYY-MM-DD
    #[schema(format = Date)]
    from: Option<String>,
    /// last day, YYYY-MM-DD
    #[schema(format = Date)]
    to: Option<String>,
}

#[utoipa::path(
    post, path = "/api/admin/income/rollup", tag = "admin",
    request_body(content = Option<RollupRequest>, content_type = "application/json"),
    responses((status = 202, body = super::purchases::JobAccepted), RollupErrors)
)]
pub(super) async fn rollup(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    body: Bytes,
) -> ApiResult<AcceptedResponse> {
    let request: RollupRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RollupRequest::default()
    } else {
        // Read as an object first: serde would take a struct from an array (`[null, null]`).
        let invalid = |e: serde_json::Error| ApiError::invalid(format!("body: {e}"));
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).map_err(invalid)?;
        serde_json::from_value(object.into()).map_err(invalid)?
    };
    let to = request.to.as_deref();
    let days = income::requested_range(request.from.as_deref().or(to), to, 1)
        .map_err(ApiError::invalid)?;
    let requested_by = admin.user_id;
    let job = enqueue::submit(
        &state,
        &state.queues.income_rollup,
        requested_by,
        None,
        |job_id| IncomeRollupJob {
            job_id,
            requested_by,
            from: days.from(),
            to: days.to(),
            enqueued_at_ms: jobs::clock::now_ms(),
        },
    )
    .await?;
    Ok(accepted(job))
}
