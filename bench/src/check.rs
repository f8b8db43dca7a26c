//! The invariants every mode ends with: the books balance (a paid order's recharge included),
//! every accepted job reached exactly one terminal outcome (the one its client saw, if it saw
//! one), and every recharge order the run opened was paid.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jobs::job::JobId;
use sqlx::MySqlPool;

/// Every problem found, in words; waits up to `patience` for jobs still being retried.
pub async fn problems(
    pool: &MySqlPool,
    jobs: &[(JobId, Option<String>)],
    patience: Duration,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<JobId> = jobs.iter().map(|(id, _)| id.clone()).collect();
    let missing = lost(pool, &ids, patience).await?;
    let mut found = jobs::audit::violations(pool).await?;
    if !missing.is_empty() {
        found.push(format!(
            "{} accepted jobs without a terminal outcome, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        ));
    }
    let recorded = statuses(pool, &ids).await?;
    let differing: Vec<&JobId> = jobs
        .iter()
        .filter_map(|(id, seen)| {
            let seen = seen.as_ref()?;
            (recorded.get(id) != Some(seen)).then_some(id)
        })
        .collect();
    if !differing.is_empty() {
        found.push(format!(
            "{} jobs whose client saw another outcome than MySQL recorded, e.g. {:?}",
            differing.len(),
            &differing[..differing.len().min(5)]
        ));
    }
    let unpaid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_pay WHERE status <> 'paid'")
        .fetch_one(pool)
        .await?;
    if unpaid > 0 {
        found.push(format!("{unpaid} recharge orders opened and never paid"));
    }
    Ok(found)
}

/// The accepted jobs still without a terminal outcome after waiting up to `patience` for jobs
/// being retried: the ones lost.
pub async fn lost(
    pool: &MySqlPool,
    ids: &[JobId],
    patience: Duration,
) -> anyhow::Result<Vec<JobId>> {
    let started = Instant::now();
    let mut missing = jobs::audit::unfinished(pool, ids).await?;
    while !missing.is_empty() && started.elapsed() < patience {
        tokio::time::sleep(Duration::from_millis(500)).await;
        missing = jobs::audit::unfinished(pool, &missing).await?;
    }
    Ok(missing)
}

async fn statuses(pool: &MySqlPool, ids: &[JobId]) -> anyhow::Result<HashMap<JobId, String>> {
    let mut recorded = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut query = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "SELECT job_id, status FROM purchase_job WHERE job_id IN (",
        );
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id);
        }
        query.push(")");
        let rows: Vec<(JobId, String)> = query.build_query_as().fetch_all(pool).await?;
        recorded.extend(rows);
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobs::job::Kind;
    use jobs::purchase::Order;

    fn accepted(job_id: &JobId, seen: Option<&str>) -> (JobId, Option<String>) {
        (job_id.clone(), seen.map(str::to_owned))
    }

    #[tokio::test]
    async fn a_job_without_an_outcome_or_seen_with_another_one_is_reported() {
        let settings = testkit::settings();
        let (db, ids) = testkit::prepare(&settings).await;
        let reader = testkit::reader_with_coins(&db, &ids, "checked", 100).await;
        let (_, chapters) = testkit::book(&db, &ids, &settings, 1, 0, 1000).await;
        let job_id = JobId::from("01JCHECKEDPURCHASE0000000");
        let order = Order {
            job_id: &job_id,
            user_id: reader,
            kind: Kind::Purchase,
            index_ids: vec![chapters[0]],
            max_spent: None,
        };
        let done = jobs::purchase::run(&db.main, &ids, &order, 1, 0)
            .await
            .unwrap();
        assert!(done.view.error.is_none(), "{:?}", done.view);
        let ran = accepted(order.job_id, Some("succeeded"));
        let none: Vec<String> = Vec::new();
        assert_eq!(
            problems(&db.main, std::slice::from_ref(&ran), Duration::ZERO)
                .await
                .unwrap(),
            none
        );

        let lost = accepted(&JobId::from("01JNEVERRANATALL000000000"), None);
        let found = problems(&db.main, &[ran, lost], Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("1 accepted jobs without a terminal outcome"));

        let misreported = accepted(order.job_id, Some("failed"));
        let found = problems(&db.main, &[misreported], Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("client saw another outcome"));
    }
}
