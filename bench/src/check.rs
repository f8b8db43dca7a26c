//! The invariants every mode ends with: the books balance, and every accepted job reached
//! exactly one terminal outcome (the one its client saw, if it saw one).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::MySqlPool;

/// Every problem found, in words; waits up to `patience` for jobs still being retried.
pub async fn problems(
    pool: &MySqlPool,
    jobs: &[(String, Option<String>)],
    patience: Duration,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
    let started = Instant::now();
    let mut missing = jobs::audit::unfinished(pool, &ids).await?;
    while !missing.is_empty() && started.elapsed() < patience {
        tokio::time::sleep(Duration::from_millis(500)).await;
        missing = jobs::audit::unfinished(pool, &missing).await?;
    }
    let mut found = jobs::audit::violations(pool).await?;
    if !missing.is_empty() {
        found.push(format!(
            "{} accepted jobs without a terminal outcome, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        ));
    }
    let recorded = statuses(pool, &ids).await?;
    let differing: Vec<&String> = jobs
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
    Ok(found)
}

async fn statuses(pool: &MySqlPool, ids: &[String]) -> anyhow::Result<HashMap<String, String>> {
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
        let rows: Vec<(String, String)> = query.build_query_as().fetch_all(pool).await?;
        recorded.extend(rows);
    }
    Ok(recorded)
}
