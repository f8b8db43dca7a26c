//! Durable job outcomes in `purchase_job`: the idempotency record every job checks first.

use sqlx::{MySql, MySqlPool};

use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::job::{FailureCode, JobView, Kind};
use crate::json::now_millis;
use crate::purchase::{Done, Order};

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    user_id: i64,
    kind: String,
    status: String,
    result: Option<String>,
    error_code: Option<String>,
}

/// Inserts the durable outcome; false when a twin delivery already recorded one.
pub(crate) async fn insert_outcome<'e>(
    executor: impl sqlx::Executor<'e, Database = MySql>,
    order: &Order<'_>,
    view: &JobView,
    attempt: i32,
) -> Result<bool, sqlx::Error> {
    match insert_outcomes(executor, &[(order, view, attempt)]).await {
        Ok(()) => Ok(true),
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The outcomes of several jobs in one statement (all or none: a taken job id fails it).
pub(crate) async fn insert_outcomes<'e>(
    executor: impl sqlx::Executor<'e, Database = MySql>,
    outcomes: &[(&Order<'_>, &JobView, i32)],
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    let mut insert = sqlx::QueryBuilder::<MySql>::new(
        r"INSERT INTO purchase_job (job_id, user_id, kind, status, result, error_code, attempts,
                                    create_time, finish_time) ",
    );
    insert.push_values(outcomes, |mut row, &(order, view, attempt)| {
        let status = if view.error.is_none() {
            "succeeded"
        } else {
            "failed"
        };
        row.push_bind(order.job_id.to_owned())
            .push_bind(order.user_id)
            .push_bind(order.kind.as_str())
            .push_bind(status)
            .push_bind(view.result.as_ref().map(|r| r.to_string()))
            .push_bind(view.error.as_ref().map(|e| e.code.as_str()))
            .push_bind(attempt)
            .push_bind(now)
            .push_bind(now);
    });
    insert.build().execute(executor).await?;
    Ok(())
}

pub(crate) async fn record_failure(
    pool: &MySqlPool,
    order: &Order<'_>,
    code: FailureCode,
    attempt: i32,
) -> Result<Done, sqlx::Error> {
    let view = JobView::failed(order.job_id, order.kind, code);
    if insert_outcome(pool, order, &view, attempt).await? {
        return Ok(Done {
            view,
            spent: 0,
            replayed: false,
        });
    }
    twin(pool, order.job_id).await
}

/// The earlier run's outcome, if this job already has one: it only needs publishing again.
pub async fn replay(pool: &MySqlPool, job_id: &str) -> Result<Option<Done>, sqlx::Error> {
    Ok(recorded(pool, job_id).await?.map(|view| Done {
        view,
        spent: 0,
        replayed: true,
    }))
}

/// The outcome a twin delivery of this job just recorded (our insert hit its key).
pub(crate) async fn twin(pool: &MySqlPool, job_id: &str) -> Result<Done, sqlx::Error> {
    replay(pool, job_id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// The outcome a job already has in MySQL, if any.
pub async fn recorded(pool: &MySqlPool, job_id: &str) -> Result<Option<JobView>, sqlx::Error> {
    Ok(recorded_with_owner(pool, job_id)
        .await?
        .map(|(_, view)| view))
}

/// The recorded outcome with the job's owner (for authorising a poll).
pub async fn recorded_with_owner(
    pool: &MySqlPool,
    job_id: &str,
) -> Result<Option<(i64, JobView)>, sqlx::Error> {
    let row: Option<OutcomeRow> = sqlx::query_as(
        "SELECT user_id, kind, status, result, error_code FROM purchase_job WHERE job_id = ?",
    )
    .bind(job_id)
    .fetch_optional(pool)
    .await?;
    let Some(OutcomeRow {
        user_id: owner,
        kind,
        status,
        result,
        error_code,
    }) = row
    else {
        return Ok(None);
    };
    let kind = Kind::parse(&kind).unwrap_or(Kind::Purchase);
    let view = if status == "succeeded" {
        let result = result
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default();
        JobView::succeeded(job_id, kind, result)
    } else {
        let code = error_code
            .and_then(|c| FailureCode::ALL.into_iter().find(|f| f.as_str() == c))
            .unwrap_or(FailureCode::Internal);
        JobView::failed(job_id, kind, code)
    };
    Ok(Some((owner, view)))
}

/// Records a job that can never run (dead set, malformed payload) as `failed`/`internal`.
pub async fn record_internal_failure(
    pool: &MySqlPool,
    job_id: &str,
    user_id: i64,
    kind: Kind,
) -> Result<JobView, sqlx::Error> {
    let order = Order {
        job_id,
        user_id,
        kind,
        index_ids: Vec::new(),
    };
    Ok(record_failure(pool, &order, FailureCode::Internal, 0)
        .await?
        .view)
}
