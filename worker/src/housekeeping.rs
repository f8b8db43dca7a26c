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
    // Every kind's queues, one per partition.
    let kinds: Vec<(Kind, Vec<Config>)> = Kind::ALL
        .into_iter()
        .map(|kind| {
            let configs = (0..kind.partitions(settings.jobs.partitions))
                .map(|partition| {
                    queue::config(&settings.redis.prefix, kind, partition, &settings.jobs, 1)
                })
                .collect();
            (kind, configs)
        })
        .collect();
    let mut cursors: Vec<Vec<u64>> = kinds.iter().map(|(_, c)| vec![0; c.len()]).collect();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        for ((kind, configs), cursors) in kinds.iter().zip(cursors.iter_mut()) {
            let mut depth = Depth::default();
            let mut sampled = true;
            for (config, cursor) in configs.iter().zip(cursors.iter_mut()) {
                match sample_depth(&mut redis, config).await {
                    Ok(one) => depth.add(one),
                    Err(error) => {
                        sampled = false;
                        tracing::warn!(%error, "queue depth sampling failed");
                    }
                }
                match clean(&mut redis, config, *cursor, &settings).await {
                    Ok(next) => *cursor = next,
                    Err(error) => tracing::warn!(%error, "finished job cleanup failed"),
                }
            }
            if sampled {
                depth.record(*kind);
            }
        }
    }
}

/// Jobs of a kind by state, over its partitions' queues.
#[derive(Default)]
struct Depth {
    pending: u64,
    running: u64,
    done: u64,
    dead: u64,
}

impl Depth {
    fn add(&mut self, other: Depth) {
        self.pending += other.pending;
        self.running += other.running;
        self.done += other.done;
        self.dead += other.dead;
    }

    /// Sets the kind's queue depth gauges.
    fn record(&self, kind: Kind) {
        let queue = kind.as_str();
        for (state, value) in [
            ("pending", self.pending),
            ("running", self.running),
            ("done", self.done),
            ("dead", self.dead),
        ] {
            metrics::gauge!(m::QUEUE_DEPTH, "queue" => queue, "state" => state).set(value as f64);
        }
    }
}

/// One queue's depth.
async fn sample_depth(redis: &mut RedisConn, config: &Config) -> redis::RedisResult<Depth> {
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
    Ok(Depth {
        pending: scheduled + active,
        running,
        done,
        dead,
    })
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
        let config = queue::config(&settings.redis.prefix, Kind::Purchase, 0, &settings.jobs, 1);
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
