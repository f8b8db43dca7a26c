//! The worker process: leases its id machine, runs jobs from Redis, serves `/metrics`.
//! [`Worker::build`] connects and leases; [`Worker::run_until`] consumes every queue and the
//! cron schedule until shutdown, then finishes in-flight jobs and releases the id lease.

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
use jobs::income::IncomeRollupJob;
use jobs::job::{StatusStore, queue};
use jobs::payments::expiry::OrderExpiryJob;
use jobs::payments::provider::Providers;
use jobs::payments::recharge::RechargeJob;
use jobs::purchase::{BatchPurchaseJob, PurchaseJob};
use jobs::queues::Queues;
use jobs::redis_conn::RedisConn;
use jobs::refund::{RefundJob, RefundSweepJob};
use jobs::visits::VisitFlushJob;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod grouping;
mod handlers;
mod housekeeping;
mod pickup;
mod reaper;
mod schedule;

use handlers::{Handler, WorkerState};
use schedule::{CronState, Scheduled};

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

/// Builds the worker and runs it until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Worker::build(settings, metrics_listener)
        .await?
        .run_until(shutdown)
        .await
}

/// A worker connected, with its id lease usable and `/metrics` served, not yet consuming.
pub struct Worker {
    settings: Settings,
    redis: RedisConn,
    state: WorkerState,
    metrics_server: JoinHandle<std::io::Result<()>>,
}

impl Worker {
    pub async fn build(settings: Settings, metrics_listener: TcpListener) -> anyhow::Result<Self> {
        let handle = jobs::exporter::install();
        // Only workers group purchases: registered here, not with every process's metrics.
        let _ = metrics::histogram!(jobs::metrics::PURCHASE_GROUP);
        let db = Db::connect(&settings.database, &settings.sharding)?;
        let redis = jobs::redis_conn::connect(&settings.redis).await?;
        jobs::redis_conn::check_persistence(&redis, &settings.redis).await?;
        jobs::queues::check_partitions(&redis, &settings.redis.prefix, settings.jobs.partitions)
            .await?;
        let prefix = &settings.redis.prefix;
        let ids = IdGenerator::start(
            redis.clone(),
            prefix,
            settings.ids.datacenter_id,
            settings.ids.lease_ttl(),
        )
        .await?;
        // Until the id lease is usable (up to one lease TTL after an unclean handover) every job
        // would stall on its first id: take jobs only once minting works.
        ids.ready().await?;
        let status = StatusStore::new(redis.clone(), prefix, settings.jobs.result_ttl_secs)
            .replicated(&settings.redis)
            .await?;
        let retries = settings.database.deadlock_retries;
        let batch_size = settings.jobs.batch_size;
        let committer = grouping::Committer {
            db: db.clone(),
            ids: ids.clone(),
            status: status.clone(),
            retries,
        };
        let state = WorkerState {
            name: worker_name().into(),
            db,
            ids,
            status,
            queues: Queues::new(&redis, prefix, &settings.jobs, batch_size),
            purchases: grouping::Purchases::start(committer, batch_size),
            providers: Arc::new(Providers::from_settings(&settings.payments)?),
            deadlock_retries: retries,
            redis: redis.clone(),
            prefix: prefix.as_str().into(),
        };
        let router = jobs::exporter::router(handle);
        let metrics_server =
            tokio::spawn(async move { axum::serve(metrics_listener, router).await });
        Ok(Self {
            settings,
            redis,
            state,
            metrics_server,
        })
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            settings,
            redis,
            state,
            metrics_server,
        } = self;
        let sweep = cron_schedule(
            &settings.worker.refund_sweep_cron,
            "worker.refund_sweep_cron",
        )?;
        let rollup = cron_schedule(
            &settings.income.rollup_cron(),
            "income.rollup_interval_secs",
        )?;
        let expiry = cron_schedule(
            &settings.payments.order_expiry_cron,
            "payments.order_expiry_cron",
        )?;
        let flush = cron_schedule(
            &settings.library.visit_flush_cron(),
            "library.visit_flush_interval_secs",
        )?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let reaper = tokio::spawn(reaper::run(
            state.clone(),
            redis.clone(),
            settings.clone(),
            stop_rx.clone(),
        ));
        let keeper = tokio::spawn(housekeeping::run(redis.clone(), settings.clone(), stop_rx));
        tracing::info!(worker = %state.name, "worker started");
        let mut consumers = Consumers {
            settings: &settings,
            redis: &redis,
            // apalis clones a handler's data for every job: one pointer rather than every pool,
            // queue configuration and connection.
            shared: Arc::new(state.clone()),
            announcements: HashMap::new(),
        };
        let monitor = Monitor::new();
        let monitor = consumers.add::<PurchaseJob>(monitor, "purchase");
        let monitor = consumers.add::<BatchPurchaseJob>(monitor, "batch");
        let monitor = consumers.add::<RefundJob>(monitor, "refund");
        let monitor = consumers.add::<RefundSweepJob>(monitor, "sweep");
        let monitor = consumers.add::<IncomeRollupJob>(monitor, "rollup");
        let monitor = consumers.add::<RechargeJob>(monitor, "recharge");
        let monitor = consumers.add::<OrderExpiryJob>(monitor, "expiry");
        let monitor = consumers.add::<VisitFlushJob>(monitor, "visits");
        let urls = jobs::redis_conn::seed_urls(&settings.redis);
        pickup::listen(urls, consumers.announcements);
        let cron = |scheduled, schedule: ::cron::Schedule| {
            let name = format!("{}-cron-{scheduled:?}", state.name);
            let cron_state = CronState {
                worker: state.clone(),
                redis: redis.clone(),
                prefix: settings.redis.prefix.clone(),
                scheduled,
            };
            move |restarts| {
                WorkerBuilder::new(format!("{name}-{restarts}"))
                    .backend(CronScheduler::new(schedule.clone()))
                    .data(cron_state.clone())
                    .build(schedule::on_tick)
            }
        };
        monitor
            .register(cron(Scheduled::RefundSweep, sweep))
            .register(cron(Scheduled::IncomeRollup, rollup))
            .register(cron(Scheduled::OrderExpiry, expiry))
            .register(cron(Scheduled::VisitFlush, flush))
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
        state.ids.shutdown().await;
        state.db.close().await;
        tracing::info!("worker stopped");
        Ok(())
    }
}

/// What each queue's consumer is built from, and the announcement channels it listens on.
struct Consumers<'a> {
    settings: &'a Settings,
    redis: &'a RedisConn,
    shared: Arc<WorkerState>,
    announcements: HashMap<String, Arc<pickup::Announced>>,
}

impl Consumers<'_> {
    /// One apalis worker for each of `J`'s queues (one per partition, all taken fairly); its
    /// name is unique per process and per restart. A partitioned kind's concurrency and batch
    /// size are shared out over its partitions, so the worker's totals stay as configured.
    /// Consumers read raw JSON (see `handlers::decode`).
    fn add<J: Handler>(&mut self, mut monitor: Monitor, label: &'static str) -> Monitor {
        let jobs = &self.settings.jobs;
        let partitions = J::KIND.partitions(jobs.partitions);
        let batch_size = jobs.batch_size.div_ceil(usize::from(partitions));
        let concurrency = self
            .settings
            .worker
            .concurrency
            .div_ceil(usize::from(partitions));
        let prefix = &self.settings.redis.prefix;
        let queues = queue::Partitioned::<serde_json::Value>::new(
            self.redis,
            prefix,
            J::KIND,
            jobs,
            batch_size,
        );
        let poll = Duration::from_millis(jobs.poll_interval_ms);
        for (partition, storage) in queues.all().iter().enumerate() {
            let announced = Arc::new(pickup::Announced::default());
            self.announcements.insert(
                queue::announce_channel(storage.get_config()),
                announced.clone(),
            );
            let storage = storage.clone();
            let shared = self.shared.clone();
            monitor = monitor.register(move |restarts| {
                WorkerBuilder::new(format!("{}-{label}{partition}-{restarts}", shared.name))
                    .backend(
                        storage
                            .clone()
                            .poll_with_strategy(pickup::Ticks::every(poll, announced.clone())),
                    )
                    .data(shared.clone())
                    .concurrency(concurrency)
                    .parallelize(tokio::spawn)
                    .build(handlers::handle::<J>)
            });
        }
        monitor
    }
}

/// A cron expression from configuration, an error naming its key.
fn cron_schedule(expression: &str, key: &str) -> anyhow::Result<::cron::Schedule> {
    ::cron::Schedule::from_str(expression)
        .map_err(|e| anyhow::anyhow!("configuration key `{key}`: {e}"))
}
