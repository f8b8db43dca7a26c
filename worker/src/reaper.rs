//! The reaper: jobs apalis gave up on (dead set) are recorded as `failed`/`internal`, so every
//! client poll ends; their queue entries are then removed.

use std::time::Duration;

use jobs::config::Settings;
use jobs::ids::UserId;
use jobs::job::{JobId, Kind};
use jobs::job::{outcome, queue};
use jobs::metrics as m;
use jobs::redis_conn::RedisConn;
use tokio::sync::watch;

use crate::handlers::WorkerState;

/// Dead jobs handled per queue (kind and partition) per round; the rest wait for the next round.
const ROUND: usize = 100;

pub async fn run(
    state: WorkerState,
    mut redis: RedisConn,
    settings: Settings,
    mut stop: watch::Receiver<bool>,
) {
    let interval = Duration::from_millis(settings.jobs.reaper_interval_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        for kind in Kind::ALL {
            for partition in 0..kind.partitions(settings.jobs.partitions) {
                let prefix = &settings.redis.prefix;
                let config = queue::config(prefix, kind, partition, &settings.jobs, 1);
                if let Err(error) = reap(&state, &mut redis, &config, kind).await {
                    tracing::warn!(error = ?error, kind = kind.as_str(), "reaper round failed");
                }
            }
        }
    }
}

async fn reap(
    state: &WorkerState,
    redis: &mut RedisConn,
    config: &apalis_redis::Config,
    kind: Kind,
) -> anyhow::Result<()> {
    let dead: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg(config.dead_jobs_set())
        .arg(ROUND)
        .query_async(redis)
        .await?;
    for job_id in dead.into_iter().map(JobId::from) {
        let owner = state
            .status
            .get(&job_id)
            .await?
            .map_or(UserId::NOBODY, |s| s.owner);
        let view = outcome::record_internal_failure(&state.db.main, &job_id, owner, kind).await?;
        state.status.terminal(&[(&view, owner)]).await?;
        tracing::error!(
            %job_id,
            kind = kind.as_str(),
            "job gave up after its retries; recorded"
        );
        metrics::counter!(m::JOBS_COMPLETED, "kind" => kind.as_str(), "outcome" => "internal")
            .increment(1);
        redis::pipe()
            .srem(config.dead_jobs_set(), job_id.as_str())
            .hdel(config.job_data_hash(), job_id.as_str())
            .del(format!("{}:{job_id}", config.job_meta_hash()))
            .exec_async(redis)
            .await?;
    }
    Ok(())
}
