//! Faults while the end-to-end load runs: workers killed with SIGKILL and replaced, MariaDB
//! restarted once, the bench's own Redis killed with SIGKILL and restarted from its AOF once, or
//! one primary of the bench's own Redis Cluster killed with SIGKILL (its replica takes over).
//! Afterwards nothing may be lost and nothing charged twice.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::redis_cluster::RedisCluster;
use testkit::redis_server::RedisServer;

use crate::stack::Stack;

/// How long the crashed Redis stays down before it restarts.
const REDIS_DOWN: Duration = Duration::from_secs(2);

/// How long a killed cluster primary stays down (its replica has taken over long before) before
/// it restarts and rejoins as a replica.
const PRIMARY_DOWN: Duration = Duration::from_secs(5);

/// A cluster primary to kill: the one holding `key`'s slot, `at` after the start of the load.
pub struct Failover {
    pub at: Duration,
    pub cluster: Arc<Mutex<RedisCluster>>,
    pub key: String,
}

/// What was done: workers killed, and when the cluster primary was killed.
pub struct Injected {
    pub workers_killed: usize,
    pub primary_killed_at: Option<Instant>,
}

pub struct Faults {
    pub kill_every: Duration,
    /// When to restart MariaDB (from the start of the load); `None`: never.
    pub db_restart_at: Option<Duration>,
    /// When to crash the Redis the stack uses (from the start of the load), and that Redis.
    pub redis_crash: Option<(Duration, Arc<Mutex<RedisServer>>)>,
    pub redis_failover: Option<Failover>,
    pub until: Instant,
}

/// Runs until `faults.until`.
pub async fn inject(stack: Arc<Mutex<Stack>>, faults: Faults) -> anyhow::Result<Injected> {
    let started = Instant::now();
    let mut killed = 0;
    let mut primary_killed_at = None;
    let mut failover = faults.redis_failover;
    let mut restart_at = faults.db_restart_at.map(|at| started + at);
    let mut redis_crash = faults.redis_crash;
    let mut next_kill = started + faults.kill_every;
    while Instant::now() < faults.until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if Instant::now() >= next_kill {
            next_kill += faults.kill_every;
            let stack = stack.clone();
            let pid = tokio::task::spawn_blocking(move || {
                let mut stack = stack.lock().expect("poisoned");
                let pid = stack.kill9_random_worker();
                stack.add_worker().map(|_| pid)
            })
            .await??;
            killed += 1;
            eprintln!("chaos: killed worker {pid:?} (kill -9), started a new one");
        }
        if restart_at.is_some_and(|at| Instant::now() >= at) {
            restart_at = None;
            restart_mariadb().await?;
        }
        let crash_due = redis_crash
            .as_ref()
            .is_some_and(|(at, _)| Instant::now() >= started + *at);
        if crash_due && let Some((_, redis)) = redis_crash.take() {
            crash_redis(redis).await?;
        }
        let failover_due = failover
            .as_ref()
            .is_some_and(|f| Instant::now() >= started + f.at);
        if failover_due && let Some(failover) = failover.take() {
            primary_killed_at = Some(kill_primary(failover).await?);
        }
    }
    Ok(Injected {
        workers_killed: killed,
        primary_killed_at,
    })
}

/// SIGKILL to the primary holding the failover's key; `PRIMARY_DOWN` later it restarts on its
/// own folder and rejoins as a replica. Returns when it was killed.
async fn kill_primary(failover: Failover) -> anyhow::Result<Instant> {
    let cluster = failover.cluster.clone();
    let (node, port, killed_at) = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster.lock().expect("poisoned");
        let node = cluster.primary_of(&failover.key)?;
        cluster.kill9(node);
        anyhow::Ok((node, cluster.port(node), Instant::now()))
    })
    .await??;
    eprintln!("chaos: killed the cluster primary on port {port} (kill -9)");
    tokio::time::sleep(PRIMARY_DOWN).await;
    let cluster = failover.cluster;
    tokio::task::spawn_blocking(move || cluster.lock().expect("poisoned").restart(node)).await??;
    eprintln!("chaos: the old primary on port {port} is back, as a replica");
    Ok(killed_at)
}

/// SIGKILL to Redis (no shutdown, nothing flushed by Redis itself), then, `REDIS_DOWN` later, a
/// restart on the same port that replays its AOF.
async fn crash_redis(redis: Arc<Mutex<RedisServer>>) -> anyhow::Result<()> {
    eprintln!("chaos: killing Redis (kill -9)");
    let down = Instant::now();
    let crashed = redis.clone();
    tokio::task::spawn_blocking(move || crashed.lock().expect("poisoned").crash()).await?;
    tokio::time::sleep(REDIS_DOWN).await;
    tokio::task::spawn_blocking(move || redis.lock().expect("poisoned").restart()).await??;
    eprintln!(
        "chaos: Redis back from its AOF after {:.1} s",
        down.elapsed().as_secs_f64()
    );
    Ok(())
}

fn mysqladmin(args: &[&str]) -> bool {
    Command::new("mysqladmin")
        .args(["--protocol=tcp", "-h127.0.0.1", "-uroot"])
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Stops MariaDB, waits a moment, starts it again and waits until it answers.
pub async fn restart_mariadb() -> anyhow::Result<()> {
    eprintln!("chaos: stopping MariaDB");
    anyhow::ensure!(mysqladmin(&["shutdown"]), "mysqladmin shutdown failed");
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Command::new("start-stop-daemon")
        .args([
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
        ])
        .args(["--", "--user=mysql"])
        .status()?;
    anyhow::ensure!(started.success(), "start-stop-daemon failed: {started}");
    let give_up = Instant::now() + Duration::from_secs(60);
    while !mysqladmin(&["ping"]) {
        anyhow::ensure!(Instant::now() < give_up, "MariaDB did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "chaos: MariaDB back after {:.1} s",
        down.elapsed().as_secs_f64()
    );
    Ok(())
}
