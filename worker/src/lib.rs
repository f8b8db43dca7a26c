//! The worker process: leases its id machine, runs jobs from Redis, serves `/metrics`.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BackendExt, Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt};
use apalis_cron::CronScheduler;
use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::StatusStore;
use jobs::job::{Job, queue};
use jobs::queues::Queues;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

mod grouping;
mod handlers;
mod housekeeping;
mod pickup;
mod reaper;
mod schedule;

use handlers::WorkerState;
use jobs::purchase::{BatchPurchaseJob, PurchaseJob};
use jobs::refund::{RefundJob, RefundSweepJob};
use schedule::CronState;

/// host-pid-random: a restarted process never collides with its predecessor's registration.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    let host = if host.is_empty() { "worker" } else { host };
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Runs until `shutdown` resolves, then finishes in-flight jobs and releases the id lease.
pub async fn run(
    settings: Settings,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = jobs::exporter::install();
    // Only workers group purchases: registered here, not with every process's metrics.
    let _ = metrics::histogram!(jobs::metrics::PURCHASE_GROUP);
    let db = Db::connect(&settings.database, &settings.sharding)?;
    let redis = jobs::redis_conn::connect(&settings.redis).await?;
    let prefix = settings.redis.prefix.clone();
    let ids = IdGenerator::start(
        redis.clone(),
        &prefix,
        settings.ids.datacenter_id,
        settings.ids.lease_ttl(),
    )
    .await?;
    // Until the id lease is usable (up to one lease TTL after an unclean handover) every job
    // would stall on its first id: take jobs only once minting works.
    ids.next_id().await?;
    let name: Arc<str> = worker_name().into();
    let status = StatusStore::new(redis.clone(), &prefix, settings.jobs.result_ttl_secs);
    let state = WorkerState {
        name: name.clone(),
        db: db.clone(),
        ids: ids.clone(),
        status: status.clone(),
        queues: Queues::new(&redis, &prefix, &settings.jobs, settings.jobs.batch_size),
        purchases: grouping::Purchases::start(
            grouping::Committer {
                db: db.clone(),
                ids: ids.clone(),
                status: status.clone(),
                retries: settings.database.deadlock_retries,
            },
            settings.jobs.batch_size,
        ),
        deadlock_retries: settings.database.deadlock_retries,
    };
    let metrics_server =
        tokio::spawn(
            async move { axum::serve(metrics_listener, jobs::exporter::router(handle)).await },
        );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reaper = tokio::spawn(reaper::run(
        state.clone(),
        redis.clone(),
        settings.clone(),
        stop_rx.clone(),
    ));
    let keeper = tokio::spawn(housekeeping::run(redis.clone(), settings.clone(), stop_rx));
    tracing::info!(worker = %name, "worker started");

    let poll = Duration::from_millis(settings.jobs.poll_interval_ms);
    let concurrency = settings.worker.concurrency;
    let schedule = ::cron::Schedule::from_str(&settings.worker.refund_sweep_cron)
        .map_err(|e| anyhow::anyhow!("configuration key `worker.refund_sweep_cron`: {e}"))?;
    let cron_state = CronState {
        worker: state.clone(),
        redis: redis.clone(),
        prefix: prefix.clone(),
    };
    let jobs = &settings.jobs;
    // apalis clones a handler's data for every job: one pointer rather than every pool, queue
    // configuration and connection.
    let shared = Arc::new(state.clone());
    let mut announcements = HashMap::new();
    // One apalis worker per queue; the name is unique per process and per restart. Consumers
    // read raw JSON (see `handlers::decode`).
    macro_rules! consumer {
        ($monitor:expr, $job:ty, $label:literal) => {{
            let config = queue::config(&prefix, <$job as Job>::KIND, jobs, jobs.batch_size);
            let announced = Arc::new(pickup::Announced::default());
            announcements.insert(queue::announce_channel(&config), announced.clone());
            let storage = queue::storage::<serde_json::Value>(&redis, config);
            let (shared, name) = (shared.clone(), name.clone());
            $monitor.register(move |restarts| {
                WorkerBuilder::new(format!("{name}-{}-{restarts}", $label))
                    .backend(
                        storage
                            .clone()
                            .poll_with_strategy(pickup::Ticks::every(poll, announced.clone())),
                    )
                    .data(shared.clone())
                    .concurrency(concurrency)
                    .parallelize(tokio::spawn)
                    .build(handlers::handle::<$job>)
            })
        }};
    }
    let monitor = Monitor::new();
    let monitor = consumer!(monitor, PurchaseJob, "purchase");
    let monitor = consumer!(monitor, BatchPurchaseJob, "batch");
    let monitor = consumer!(monitor, RefundJob, "refund");
    let monitor = consumer!(monitor, RefundSweepJob, "sweep");
    pickup::listen(settings.redis.url.expose_secret().to_owned(), announcements);
    let cron_name = name.clone();
    monitor
        .register(move |restarts| {
            WorkerBuilder::new(format!("{cron_name}-cron-{restarts}"))
                .backend(CronScheduler::new(schedule.clone()))
                .data(cron_state.clone())
                .build(schedule::on_tick)
        })
        .should_restart(|_, _| true)
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await?;
    let _ = stop_tx.send(true);
    let _ = tokio::join!(reaper, keeper);
    metrics_server.abort();
    ids.shutdown().await;
    db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
