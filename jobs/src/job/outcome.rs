//! Durable job outcomes in `purchase_job` (the table keeps its name for outside tools): the
//! idempotency record every job kind checks first and writes last.

use sqlx::{MySql, MySqlPool, Transaction};

use super::StoredStatus;
use super::view::{FailureCode, JobView, Kind};
use super::{Done, JobId};
use crate::clock;
use crate::coins::Coins;
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::UserId;

/// One finished job as the store keeps it: its view (id, kind, result or error), the user who
/// may poll it, and the delivery attempt that finished it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub view: &'a JobView,
    pub owner: UserId,
    pub attempt: i32,
}

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    user_id: UserId,
    kind: String,
    status: String,
    result: Option<String>,
    error_code: Option<String>,
}

/// Inserts the durable outcome; false when a twin delivery already recorded one.
pub(crate) async fn insert_outcome<'e>(
    executor: impl sqlx::Executor<'e, Database = MySql>,
    record: Record<'_>,
) -> Result<bool, sqlx::Error> {
    match insert_outcomes(executor, &[record]).await {
        Ok(()) => Ok(true),
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The outcomes of several jobs in one statement (all or none: a taken job id fails it).
pub(crate) async fn insert_outcomes<'e>(
    executor: impl sqlx::Executor<'e, Database = MySql>,
    outcomes: &[Record<'_>],
) -> Result<(), sqlx::Error> {
    let now = clock::now();
    let mut insert = sqlx::QueryBuilder::<MySql>::new(
        r"INSERT INTO purchase_job (job_id, user_id, kind, status, result, error_code, attempts,
                                    create_time, finish_time) ",
    );
    insert.push_values(outcomes, |mut row, record| {
        let view = record.view;
        let status = if view.error.is_none() {
            "succeeded"
        } else {
            "failed"
        };
        row.push_bind(view.job_id.clone())
            .push_bind(record.owner)
            .push_bind(view.kind.as_str())
            .push_bind(status)
            .push_bind(view.result.as_ref().map(|r| r.to_string()))
            .push_bind(view.error.as_ref().map(|e| e.code.as_str()))
            .push_bind(record.attempt)
            .push_bind(now)
            .push_bind(now);
    });
    insert.build().execute(executor).await?;
    Ok(())
}

/// Records `view` as this job's outcome (it moved no coins), unless a twin delivery recorded
/// one first: then that one.
pub async fn record(
    pool: &MySqlPool,
    view: JobView,
    owner: UserId,
    attempt: i32,
) -> Result<Done, sqlx::Error> {
    let record = Record {
        view: &view,
        owner,
        attempt,
    };
    if insert_outcome(pool, record).await? {
        return Ok(Done {
            view,
            coins: Coins::ZERO,
            replayed: false,
        });
    }
    twin(pool, &view.job_id).await
}

/// Records `view` (of a job that moved `coins`) in the job's own transaction and commits it;
/// when a twin delivery recorded an outcome first, rolls back and answers that one.
pub(crate) async fn commit_with_outcome(
    pool: &MySqlPool,
    mut tx: Transaction<'_, MySql>,
    view: JobView,
    owner: UserId,
    coins: Coins,
) -> Result<Done, sqlx::Error> {
    let record = Record {
        view: &view,
        owner,
        attempt: 1,
    };
    if insert_outcome(&mut *tx, record).await? {
        tx.commit().await?;
        return Ok(Done {
            view,
            coins,
            replayed: false,
        });
    }
    tx.rollback().await?;
    twin(pool, &view.job_id).await
}

/// The earlier run's outcome, if this job already has one: it only needs publishing again.
pub async fn replay(pool: &MySqlPool, job_id: &JobId) -> Result<Option<Done>, sqlx::Error> {
    Ok(recorded(pool, job_id).await?.map(|view| Done {
        view,
        coins: Coins::ZERO,
        replayed: true,
    }))
}

/// The outcome a twin delivery of this job just recorded (our insert hit its key).
pub(crate) async fn twin(pool: &MySqlPool, job_id: &JobId) -> Result<Done, sqlx::Error> {
    replay(pool, job_id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// The outcome a job already has in MySQL, if any.
pub async fn recorded(pool: &MySqlPool, job_id: &JobId) -> Result<Option<JobView>, sqlx::Error> {
    Ok(recorded_with_owner(pool, job_id).await?.map(|s| s.view))
}

/// The recorded outcome with the job's owner (for authorising a poll).
pub async fn recorded_with_owner(
    pool: &MySqlPool,
    job_id: &JobId,
) -> Result<Option<StoredStatus>, sqlx::Error> {
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
    let corrupt =
        |what: String| sqlx::Error::Decode(format!("purchase_job {job_id}: {what}").into());
    let kind = Kind::parse(&kind).ok_or_else(|| corrupt(format!("unknown kind `{kind}`")))?;
    let view = if status == "succeeded" {
        let result = result.ok_or_else(|| corrupt("a success without a result".into()))?;
        let result = serde_json::from_str(&result).map_err(|e| corrupt(e.to_string()))?;
        JobView::succeeded(job_id, kind, result)
    } else {
        let code = error_code.unwrap_or_default();
        let code = FailureCode::ALL
            .into_iter()
            .find(|f| f.as_str() == code)
            .ok_or_else(|| corrupt(format!("unknown error code `{code}`")))?;
        JobView::failed(job_id, kind, code)
    };
    Ok(Some(StoredStatus { owner, view }))
}

/// Records a job that can never run (dead set, malformed payload) as `failed`/`internal`.
pub async fn record_internal_failure(
    pool: &MySqlPool,
    job_id: &JobId,
    user_id: UserId,
    kind: Kind,
) -> Result<JobView, sqlx::Error> {
    let view = JobView::failed(job_id, kind, FailureCode::Internal);
    Ok(record(pool, view, user_id, 0).await?.view)
}
