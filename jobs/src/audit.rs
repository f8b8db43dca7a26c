//! The money invariants every test and benchmark checks against the database.

use sqlx::MySqlPool;

/// Every violation found, in words; empty when the books balance.
#[tracing::instrument(skip_all)]
pub async fn violations(pool: &MySqlPool) -> Result<Vec<String>, sqlx::Error> {
    let mut found = Vec::new();
    let unbalanced: Vec<(i64, i64, i64)> = sqlx::query_as(
        r"SELECT u.id, u.account_balance, COALESCE(f.total, 0)
          FROM user u
          LEFT JOIN (SELECT user_id, CAST(SUM(delta) AS SIGNED) AS total
                     FROM account_flow GROUP BY user_id) f ON f.user_id = u.id
          WHERE u.account_balance <> COALESCE(f.total, 0) OR u.account_balance < 0",
    )
    .fetch_all(pool)
    .await?;
    for (user, balance, ledger) in unbalanced {
        found.push(format!(
            "user {user}: balance {balance}, ledger sum {ledger}"
        ));
    }
    let mismatched: Vec<(String, i64, i64)> = sqlx::query_as(
        r"SELECT f.ref_id, CAST(-f.delta AS SIGNED), CAST(COALESCE(SUM(r.buy_amount), 0) AS SIGNED)
          FROM account_flow f
          LEFT JOIN user_buy_record r ON r.job_id = f.ref_id AND r.user_id = f.user_id
          WHERE f.reason = 'purchase'
          GROUP BY f.id, f.ref_id, f.delta
          HAVING CAST(-f.delta AS SIGNED) <> CAST(COALESCE(SUM(r.buy_amount), 0) AS SIGNED)",
    )
    .fetch_all(pool)
    .await?;
    for (job, charged, bought) in mismatched {
        found.push(format!(
            "job {job}: charged {charged}, buy records worth {bought}"
        ));
    }
    let twice: Vec<(String, i64)> = sqlx::query_as(
        r"SELECT ref_id, COUNT(*) FROM account_flow WHERE reason = 'purchase'
          GROUP BY ref_id HAVING COUNT(*) > 1",
    )
    .fetch_all(pool)
    .await?;
    for (job, count) in twice {
        found.push(format!("job {job}: charged {count} times"));
    }
    let unpaid: Vec<(String,)> = sqlx::query_as(
        r"SELECT DISTINCT r.job_id FROM user_buy_record r
          LEFT JOIN account_flow f ON f.ref_id = r.job_id AND f.reason = 'purchase'
          WHERE f.id IS NULL AND r.buy_amount > 0",
    )
    .fetch_all(pool)
    .await?;
    for (job,) in unpaid {
        found.push(format!("job {job}: buy records without a charge"));
    }
    Ok(found)
}

/// Accepted jobs without a terminal outcome in MySQL.
pub async fn unfinished(pool: &MySqlPool, job_ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let mut missing = Vec::new();
    for chunk in job_ids.chunks(500) {
        let mut query = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "SELECT job_id FROM purchase_job WHERE status IN ('succeeded', 'failed') AND job_id IN (",
        );
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id);
        }
        query.push(")");
        let done: std::collections::HashSet<String> = query
            .build_query_scalar()
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
        missing.extend(chunk.iter().filter(|id| !done.contains(*id)).cloned());
    }
    Ok(missing)
}
