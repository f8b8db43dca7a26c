//! `bench`: the purchase transaction straight against MySQL (the ceiling) next to the same
//! purchases end to end over HTTP, then recharges through the signed payment webhook, and a
//! chaos run; every mode ends with the invariant check. `bench reads` puts the reader's reads
//! (pages, a chapter, a search) over HTTP next to the same reads against MySQL.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jobs::config::Settings;
use testkit::redis_cluster::RedisCluster;
use testkit::redis_server::RedisServer;

mod chaos;
mod check;
mod direct;
mod e2e;
mod reads;
mod setup;
mod stack;
mod stats;

use e2e::{Load, Work};
use jobs::job::JobId;
use setup::Fixture;
use stack::Stack;
use stats::{PURCHASES, RECHARGES, Sample, median};

/// Job partitions of the failover run (the killed primary holds partition 0's queues).
const FAILOVER_PARTITIONS: u16 = 3;

#[derive(Parser)]
#[command(about = "novel benchmarks and fault tests")]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    opts: Opts,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Direct and end to end at each concurrency, with the ratio (the default).
    All,
    /// The purchase transaction straight against MySQL.
    Direct,
    /// Virtual readers over HTTP against web + workers started here: purchases, then as long
    /// again recharges through the sandbox's signed webhook.
    E2e,
    /// End to end while workers are killed and MariaDB restarts (and with `--redis-crash` Redis
    /// crashes, with `--redis-failover` a cluster primary dies); then nothing may be lost.
    Chaos,
    /// Reads over HTTP next to the same reads straight against MySQL, on the demo catalog:
    /// the home page, a book page, a chapter, a filtered search. Failed requests are reported.
    Reads,
}

#[derive(Args, Clone)]
struct Opts {
    /// Concurrency levels (virtual readers, or transactions in flight for direct).
    #[arg(long, global = true, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Seconds per measurement.
    #[arg(long, global = true, default_value_t = 10.0)]
    duration: f64,
    /// Worker processes for end to end.
    #[arg(long, global = true, default_value_t = 2)]
    workers: usize,
    /// Purchases per second offered in total (open loop) instead of closed-loop readers.
    #[arg(long, global = true)]
    rate: Option<f64>,
    /// VIP chapters in the book the readers buy from.
    #[arg(long, global = true, default_value_t = 20_000)]
    chapters: usize,
    /// Chaos: seconds between two worker kills.
    #[arg(long, global = true, default_value_t = 3.0)]
    kill_every: f64,
    /// Chaos: do not restart MariaDB.
    #[arg(long, global = true)]
    no_db_restart: bool,
    /// Chaos: run against a Redis of the bench's own (AOF everysec, a free port, a folder of its
    /// own), killed with SIGKILL halfway through the load and restarted from its AOF.
    #[arg(long, global = true)]
    redis_crash: bool,
    /// Chaos: run against a Redis Cluster of its own (3 primaries + 3 replicas, AOF everysec,
    /// node timeout 1 s, 3 job partitions); the primary holding partition 0 is killed with
    /// SIGKILL halfway through the load and restarted 5 s later. Prints the seconds of
    /// unavailability and the accepted jobs lost.
    #[arg(long, global = true)]
    redis_failover: bool,
    /// With `--redis-failover`: `redis.wait_replicas = 1` (a job is accepted once a replica has
    /// it); then no accepted job may be lost.
    #[arg(long, global = true)]
    durable: bool,
    /// E2e: each measurement three times in one run, on one Redis node, on a Redis Cluster of
    /// its own (3 primaries + 3 replicas) with one job partition, and on it with six.
    #[arg(long, global = true)]
    redis_cluster: bool,
    /// Direct and end to end alternate this many times at each concurrency; the summary gives
    /// the median ratio and its range (a noisy machine drifts between two measurements).
    #[arg(long, global = true, default_value_t = 1)]
    rounds: usize,
    /// Keep the benchmark's database and Redis keys afterwards.
    #[arg(long, global = true)]
    keep: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let mode = cli.mode.unwrap_or(Mode::All);
    let opts = cli.opts;
    anyhow::ensure!(
        !opts.concurrency.is_empty() && !opts.concurrency.contains(&0),
        "--concurrency: positive numbers"
    );
    anyhow::ensure!(opts.rounds > 0, "--rounds: a positive number");
    anyhow::ensure!(
        !opts.redis_crash || mode == Mode::Chaos,
        "--redis-crash: chaos only"
    );
    anyhow::ensure!(
        !opts.redis_failover || (mode == Mode::Chaos && !opts.redis_crash),
        "--redis-failover: chaos only, without --redis-crash"
    );
    anyhow::ensure!(
        !opts.durable || opts.redis_failover,
        "--durable: with --redis-failover"
    );
    anyhow::ensure!(
        !opts.redis_cluster || mode == Mode::E2e,
        "--redis-cluster: e2e only"
    );
    let mut settings = setup::settings()?;
    let cluster = match opts.redis_failover || opts.redis_cluster {
        true => {
            // A failover should take about a second and a half past the node timeout.
            let node_timeout_ms = if opts.redis_failover { 1000 } else { 5000 };
            let cluster = RedisCluster::start(node_timeout_ms)?;
            eprintln!(
                "bench: Redis Cluster of its own: {}",
                cluster.seeds().join(",")
            );
            Some(Arc::new(Mutex::new(cluster)))
        }
        false => None,
    };
    if opts.redis_failover
        && let Some(cluster) = &cluster
    {
        cluster_mode(
            &mut settings,
            &cluster.lock().expect("poisoned"),
            FAILOVER_PARTITIONS,
        );
        settings.redis.wait_replicas = u8::from(opts.durable);
    }
    // Started before the fixture (whose id lease lives in it) and kept to the end: the teardown
    // removes the benchmark's keys from it.
    let redis = match opts.redis_crash {
        true => {
            let server = RedisServer::start(true)?;
            testkit::single_redis(&mut settings.redis, server.url());
            eprintln!(
                "bench: Redis of its own on port {} (AOF everysec)",
                server.port
            );
            Some(Arc::new(Mutex::new(server)))
        }
        false => None,
    };
    let readers = opts.concurrency.iter().copied().max().unwrap_or(1);
    eprintln!(
        "bench: database {}, {readers} readers, {} chapters",
        setup::db_name(&settings),
        opts.chapters
    );
    let fixture = setup::prepare(settings, readers, opts.chapters).await?;
    let (jobs, patience) = match mode {
        Mode::Chaos => (
            chaos_run(&fixture, &opts, redis.clone(), cluster.clone()).await?,
            Duration::from_secs(180),
        ),
        Mode::Reads => (reads_run(&fixture, &opts).await?, Duration::ZERO),
        _ => (
            measure(&fixture, &opts, mode, cluster.clone()).await?,
            Duration::from_secs(30),
        ),
    };
    let problems = check::problems(&fixture.db.main, &jobs.jobs, patience).await?;
    // Chaos retries failed requests; reads report theirs (a route may not be there yet).
    let errors = match mode {
        Mode::Chaos | Mode::Reads => 0,
        _ => jobs.errors,
    };
    if problems.is_empty() && errors == 0 {
        println!("invariants: ok ({} accepted jobs checked)", jobs.jobs.len());
        if !opts.keep {
            setup::teardown(&fixture).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        println!("INVARIANT VIOLATED: {problem}");
    }
    if errors > 0 {
        println!("FAILED: {errors} requests failed");
    }
    println!("database {} kept for inspection", fixture.db_name);
    Ok(ExitCode::FAILURE)
}

/// Points `settings` at the bench's Redis Cluster, with `partitions` job partitions.
fn cluster_mode(settings: &mut Settings, cluster: &RedisCluster, partitions: u16) {
    cluster.configure(&mut settings.redis);
    settings.jobs.partitions = partitions;
}

/// The Redis setups one end-to-end measurement runs on: the fixture's, or with
/// `--redis-cluster` that one node and the cluster with one and with six partitions. The
/// cluster's stacks lease their snowflake machine ids in another datacenter than the fixture's
/// (whose lease is in the one node).
fn setups(
    fixture: &Fixture,
    cluster: Option<&Arc<Mutex<RedisCluster>>>,
) -> Vec<(String, Settings)> {
    let one = fixture.settings.clone();
    let Some(cluster) = cluster else {
        return vec![("e2e".to_owned(), one)];
    };
    let cluster = cluster.lock().expect("poisoned");
    let mut setups = vec![("e2e 1 node P=1".to_owned(), one.clone())];
    for partitions in [1, 6] {
        let mut settings = one.clone();
        cluster_mode(&mut settings, &cluster, partitions);
        // Each its own deployment: processes refuse a partition count other than the one
        // recorded under their prefix.
        settings.redis.prefix = format!("{}p{partitions}", one.redis.prefix);
        settings.ids.datacenter_id = (one.ids.datacenter_id + 1) % (jobs::ids::MAX_NODE + 1);
        setups.push((format!("e2e cluster P={partitions}"), settings));
    }
    setups
}

/// Each concurrency level in turn, direct then end to end (`--rounds` times); returns every
/// accepted job.
async fn measure(
    fixture: &Fixture,
    opts: &Opts,
    mode: Mode,
    cluster: Option<Arc<Mutex<RedisCluster>>>,
) -> anyhow::Result<Sample> {
    let setups = setups(fixture, cluster.as_ref());
    let duration = Duration::from_secs_f64(opts.duration);
    let mut all = Sample::default();
    let mut summary = Vec::new();
    for &concurrency in &opts.concurrency {
        let mut rounds = Vec::new();
        for _ in 0..opts.rounds {
            let mut direct_rate = None;
            if mode != Mode::E2e {
                let sample = direct::run(fixture, concurrency, duration).await?;
                let label = format!("direct   C={concurrency}");
                println!("{}", sample.line(&label, &PURCHASES));
                direct_rate = Some(sample.throughput());
                all.merge(sample);
            }
            for (name, settings) in setups.iter().filter(|_| mode != Mode::Direct) {
                let (sample, recharges) =
                    e2e_once(fixture, (name, settings), opts, concurrency, duration).await?;
                if let Some(direct) = direct_rate {
                    let ratio = sample.throughput() / direct.max(1e-9);
                    println!("ratio e2e/direct C={concurrency}: {ratio:.2}");
                    rounds.push(Round {
                        direct,
                        e2e: sample.throughput(),
                        ratio,
                        recharges: recharges.throughput(),
                    });
                }
                all.merge(sample);
                all.merge(recharges);
            }
        }
        if !rounds.is_empty() {
            summary.push((concurrency, rounds));
        }
    }
    if summary.len() > 1 || opts.rounds > 1 {
        println!(
            "\n   C  direct/s     e2e/s  e2e/direct  recharges/s  (medians over {} rounds; ratio range)",
            opts.rounds
        );
        for (c, rounds) in summary {
            let direct = median(rounds.iter().map(|r| r.direct));
            let e2e = median(rounds.iter().map(|r| r.e2e));
            let ratios: Vec<f64> = rounds.iter().map(|r| r.ratio).collect();
            let (low, high) = ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
            let ratio = median(ratios.iter().copied());
            let recharges = median(rounds.iter().map(|r| r.recharges));
            println!(
                "{c:>4} {direct:>9.1} {e2e:>9.1} {ratio:>11.2} {recharges:>12.1}  ({low:.2}–{high:.2})"
            );
        }
    }
    Ok(all)
}

/// One end-to-end measurement against a stack started for it on `settings`' Redis: purchases,
/// then recharges.
async fn e2e_once(
    fixture: &Fixture,
    (name, settings): (&str, &Settings),
    opts: &Opts,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(Sample, Sample)> {
    let stack = Stack::start(settings, opts.workers, &[])?;
    ready(&stack.base_url).await?;
    let load = Load {
        concurrency,
        duration,
        rate: opts.rate,
        tolerant: false,
    };
    let sample = e2e::run(fixture, &stack.base_url, load).await;
    stack.stop();
    let (purchases, recharges) = sample?;
    let label = format!("{name} K={} C={concurrency}", opts.workers);
    println!("{}", purchases.line(&label, &PURCHASES));
    let label = format!(
        "{} K={} C={concurrency}",
        name.replacen("e2e", "recharge", 1),
        opts.workers
    );
    println!("{}", recharges.line(&label, &RECHARGES));
    Ok((purchases, recharges))
}

/// One round at one concurrency: both purchase throughputs and their ratio, and the recharges.
struct Round {
    direct: f64,
    e2e: f64,
    ratio: f64,
    recharges: f64,
}

async fn ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let up = client.get(format!("{base}/readyz")).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the web tier at {base} never became ready")
}

/// `bench reads` against a web tier of its own (no worker: reads need none).
async fn reads_run(fixture: &Fixture, opts: &Opts) -> anyhow::Result<Sample> {
    let stack = Stack::start(&fixture.settings, 0, &[])?;
    ready(&stack.base_url).await?;
    let duration = Duration::from_secs_f64(opts.duration);
    let errors = reads::run(fixture, &stack.base_url, &opts.concurrency, duration).await;
    stack.stop();
    let errors = errors?;
    if errors > 0 {
        println!("reads: {errors} requests failed (reported above, not fatal)");
    }
    Ok(Sample::default())
}

/// End to end at the first concurrency level while faults are injected; then how many accepted
/// jobs were lost and whether every reader's session survived. After a cluster failover without
/// `--durable` lost jobs are reported, not fatal (they are left out of the invariant check).
async fn chaos_run(
    fixture: &Fixture,
    opts: &Opts,
    redis: Option<Arc<Mutex<RedisServer>>>,
    cluster: Option<Arc<Mutex<RedisCluster>>>,
) -> anyhow::Result<Sample> {
    let duration = Duration::from_secs_f64(opts.duration);
    let concurrency = opts.concurrency[0];
    // Dead workers' jobs come back after about 8 s instead of 25 s.
    let fast = [
        ("NOVEL__JOBS__HEARTBEAT_SECS", "2"),
        ("NOVEL__JOBS__MISSED_HEARTBEATS", "3"),
    ];
    let stack = Stack::start(&fixture.settings, opts.workers, &fast)?;
    ready(&stack.base_url).await?;
    let base = stack.base_url.clone();
    let stack = Arc::new(Mutex::new(stack));
    let tokens = e2e::sign_in(fixture, &base, concurrency).await?;
    // Faults start with the load proper, not while the first purchase waits for a lease.
    let warmup = e2e::warm_up(fixture, &base, &tokens[0]).await;
    let prefix = &fixture.settings.redis.prefix;
    let faults = chaos::Faults {
        kill_every: Duration::from_secs_f64(opts.kill_every),
        db_restart_at: (!opts.no_db_restart).then_some(duration / 3),
        redis_crash: redis.map(|server| (duration / 2, server)),
        redis_failover: cluster.map(|cluster| chaos::Failover {
            at: duration / 2,
            cluster,
            key: jobs::keys::job_queue(prefix, 0, jobs::job::Kind::Purchase),
        }),
        until: std::time::Instant::now() + duration,
    };
    let injector = tokio::spawn(chaos::inject(stack.clone(), faults));
    let load = Load {
        concurrency,
        duration,
        rate: opts.rate,
        tolerant: true,
    };
    let work = Work::purchases(fixture);
    let mut sample = e2e::run_as(&base, tokens.clone(), load, work).await?;
    sample.jobs.extend(warmup.jobs);
    let injected = injector.await??;
    println!(
        "{}",
        sample.line(&format!("chaos C={concurrency}"), &PURCHASES)
    );
    println!(
        "chaos: {} workers killed; {} request errors retried",
        injected.workers_killed, sample.errors
    );
    if let Some(killed_at) = injected.primary_killed_at {
        let failed: Vec<_> = sample
            .failed_at
            .iter()
            .filter(|t| **t >= killed_at)
            .collect();
        let unavailable = failed
            .iter()
            .max()
            .map_or(0.0, |last| last.duration_since(killed_at).as_secs_f64());
        println!(
            "failover: {unavailable:.1} s unavailable (primary killed → last failed request), \
             {} requests failed after the kill",
            failed.len()
        );
    }
    // The stack keeps running while the check waits for retried jobs.
    let ids: Vec<JobId> = sample.jobs.iter().map(|(id, _)| id.clone()).collect();
    let lost = check::lost(&fixture.db.main, &ids, Duration::from_secs(180)).await;
    let alive = e2e::sessions_alive(&base, &tokens).await;
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.into_inner().expect("poisoned").stop();
    }
    let lost = lost?;
    println!(
        "chaos: {} jobs accepted, {} lost (accepted, never finished)",
        ids.len(),
        lost.len()
    );
    let alive = alive?;
    println!("chaos: {alive} of {} sessions still valid", tokens.len());
    anyhow::ensure!(alive == tokens.len(), "sessions lost");
    if injected.primary_killed_at.is_some() && !opts.durable {
        sample.jobs.retain(|(id, _)| !lost.contains(id));
    }
    Ok(sample)
}
