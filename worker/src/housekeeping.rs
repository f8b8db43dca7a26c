//! Queue depth sampling and incremental removal of finished jobs (apalis-redis keeps them
//! forever, and its own vacuum blocks Redis with one large Lua call).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis_redis::Config;
use jobs::config::Settings;
use jobs::job::Kind;
use jobs::job::queue;
use jobs::metrics as m;
use jobs::redis_conn::RedisConn;
use tokio::sync::watch;

pub async fn run(mut redis: RedisConn, settings: Settings, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(settings.jobs.housekeeping_interval_ms);
    let configs: Vec<(Kind, Config)> = Kind::ALL
        .into_iter()
        .map(|kind| {
            (
                kind,
                queue::config(&settings.redis.prefix, kind, &settings.jobs, 1),
            )
        })
        .collect();
    let mut cursors = vec![0u64; configs.len()];
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        for ((kind, config), cursor) in configs.iter().zip(cursors.iter_mut()) {
            if let Err(error) = sample_depth(&mut redis, config, *kind).await {
                tracing::warn!(%error, "queue depth sampling failed");
            }
            match clean(&mut redis, config, *cursor, &settings).await {
                Ok(next) => *cursor = next,
                Err(error) => tracing::warn!(%error, "finished job cleanup failed"),
            }
        }
    }
}

async fn sample_depth(
    redis: &mut RedisConn,
    config: &Config,
    kind: Kind,
) -> redis::RedisResult<()> {
    let (scheduled, active, done, dead, workers): (u64, u64, u64, u64, Vec<String>) = redis::pipe()
        .zcard(config.scheduled_jobs_set())
        .llen(config.active_jobs_list())
        .scard(config.done_jobs_set())
        .scard(config.dead_jobs_set())
        .zrange(config.workers_set(), 0, -1)
        .query_async(redis)
        .await?;
    let mut running = 0u64;
    if !workers.is_empty() {
        let mut pipe = redis::pipe();
        for worker in &workers {
            pipe.scard(format!("{}:{worker}", config.inflight_jobs_set()));
        }
        let counts: Vec<u64> = pipe.query_async(redis).await?;
        running = counts.iter().sum();
    }
    let queue = kind.as_str();
    for (state, value) in [
        ("pending", scheduled + active),
        ("running", running),
        ("done", done),
        ("dead", dead),
    ] {
        metrics::gauge!(m::QUEUE_DEPTH, "queue" => queue, "state" => state).set(value as f64);
    }
    Ok(())
}

/// One SSCAN step over the done set: jobs finished before the retention are removed.
async fn clean(
    redis: &mut RedisConn,
    config: &Config,
    cursor: u64,
    settings: &Settings,
) -> redis::RedisResult<u64> {
    let (next, ids): (u64, Vec<String>) = redis::cmd("SSCAN")
        .arg(config.done_jobs_set())
        .arg(cursor)
        .arg("COUNT")
        .arg(settings.jobs.cleanup_batch)
        .query_async(redis)
        .await?;
    if ids.is_empty() {
        return Ok(next);
    }
    let meta = |id: &str| format!("{}:{id}", config.job_meta_hash());
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hget(meta(id), "done_at");
    }
    let finished: Vec<Option<u64>> = pipe.query_async(redis).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cutoff = now.saturating_sub(settings.jobs.finished_retention_secs);
    let old: Vec<&String> = ids
        .iter()
        .zip(finished)
        .filter(|(_, at)| at.is_none_or(|at| at <= cutoff))
        .map(|(id, _)| id)
        .collect();
    if old.is_empty() {
        return Ok(next);
    }
    let mut pipe = redis::pipe();
    pipe.srem(config.done_jobs_set(), &old)
        .hdel(config.job_data_hash(), &old);
    for id in &old {
        pipe.del(meta(id));
    }
    pipe.exec_async(redis).await?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_round_removes_one_bounded_batch_of_old_finished_jobs_and_keeps_new_ones() {
        let mut settings = jobs::config::load_with("test").unwrap();
        settings.redis.prefix = format!("thk{}", ulid::Ulid::new());
        settings.jobs.cleanup_batch = 50;
        settings.jobs.finished_retention_secs = 60;
        let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
        let config = queue::config(&settings.redis.prefix, Kind::Purchase, &settings.jobs, 1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut pipe = redis::pipe();
        for n in 0..400 {
            let id = format!("job{n:04}");
            let finished = if n < 300 { now - 3600 } else { now };
            pipe.sadd(config.done_jobs_set(), &id)
                .hset(config.job_data_hash(), &id, "{}")
                .hset(
                    format!("{}:{id}", config.job_meta_hash()),
                    "done_at",
                    finished,
                );
        }
        pipe.exec_async(&mut redis).await.unwrap();
        let mut cursor = 0;
        let mut left: u64 = 400;
        loop {
            cursor = clean(&mut redis, &config, cursor, &settings).await.unwrap();
            let now_left: u64 = redis::cmd("SCARD")
                .arg(config.done_jobs_set())
                .query_async(&mut redis)
                .await
                .unwrap();
            assert!(
                left - now_left <= 100,
                "one round removed {} jobs",
                left - now_left
            );
            left = now_left;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(
            left, 100,
            "the 100 recent jobs stay until their retention passes"
        );
        let data: u64 = redis::cmd("HLEN")
            .arg(config.job_data_hash())
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(data, 100);
        let mut pipe = redis::pipe();
        pipe.del(config.done_jobs_set()).del(config.job_data_hash());
        for n in 300..400 {
            pipe.del(format!("{}:job{n:04}", config.job_meta_hash()));
        }
        pipe.exec_async(&mut redis).await.unwrap();
    }
}
