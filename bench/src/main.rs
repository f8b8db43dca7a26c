//! `bench`: the purchase transaction straight against MySQL (the ceiling) next to the same
//! purchases end to end over HTTP, then recharges through the signed payment webhook, and a
//! chaos run; every mode ends with the invariant check. `bench reads` puts the reader's reads
//! (pages, a chapter, a search) over HTTP next to the same reads against MySQL.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
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
    /// crashes); then nothing may be lost.
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
    let mut settings = setup::settings()?;
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
            chaos_run(&fixture, &opts, redis.clone()).await?,
            Duration::from_secs(180),
        ),
        Mode::Reads => (reads_run(&fixture, &opts).await?, Duration::ZERO),
        _ => (
            measure(&fixture, &opts, mode).await?,
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

/// Each concurrency level in turn, direct then end to end (`--rounds` times); returns every
/// accepted job.
async fn measure(fixture: &Fixture, opts: &Opts, mode: Mode) -> anyhow::Result<Sample> {
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
            if mode != Mode::Direct {
                let (sample, recharges) = e2e_once(fixture, opts, concurrency, duration).await?;
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

/// One end-to-end measurement against a stack started for it: purchases, then recharges.
async fn e2e_once(
    fixture: &Fixture,
    opts: &Opts,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(Sample, Sample)> {
    let stack = Stack::start(&fixture.settings, opts.workers, &[])?;
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
    let label = format!("e2e K={} C={concurrency}", opts.workers);
    println!("{}", purchases.line(&label, &PURCHASES));
    let label = format!("recharge K={} C={concurrency}", opts.workers);
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
/// jobs were lost and whether every reader's session survived.
async fn chaos_run(
    fixture: &Fixture,
    opts: &Opts,
    redis: Option<Arc<Mutex<RedisServer>>>,
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
    let faults = chaos::Faults {
        kill_every: Duration::from_secs_f64(opts.kill_every),
        db_restart_at: (!opts.no_db_restart).then_some(duration / 3),
        redis_crash: redis.map(|server| (duration / 2, server)),
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
    let killed = injector.await??;
    println!(
        "{}",
        sample.line(&format!("chaos C={concurrency}"), &PURCHASES)
    );
    println!(
        "chaos: {killed} workers killed; {} request errors retried",
        sample.errors
    );
    // The stack keeps running while the check waits for retried jobs.
    let ids: Vec<JobId> = sample.jobs.iter().map(|(id, _)| id.clone()).collect();
    let lost = check::lost(&fixture.db.main, &ids, Duration::from_secs(180)).await;
    let alive = e2e::sessions_alive(&base, &tokens).await;
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.into_inner().expect("poisoned").stop();
    }
    println!(
        "chaos: {} jobs accepted, {} lost (accepted, never finished)",
        ids.len(),
        lost?.len()
    );
    let alive = alive?;
    println!("chaos: {alive} of {} sessions still valid", tokens.len());
    anyhow::ensure!(alive == tokens.len(), "sessions lost");
    Ok(sample)
}
