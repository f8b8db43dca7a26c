//! The worker process: leases its id machine, runs jobs from Redis, serves `/metrics`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BackendExt, Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt};
use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::{Kind, StatusStore};
use jobs::queue;
use tokio::net::TcpListener;

mod handlers;
mod reaper;

use handlers::WorkerState;

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
    let handle = jobs::metrics::install();
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
    let name: Arc<str> = worker_name().into();
    let state = WorkerState {
        name: name.clone(),
        db: db.clone(),
        ids: ids.clone(),
        status: StatusStore::new(redis.clone(), &prefix, settings.jobs.result_ttl_secs),
        deadlock_retries: settings.database.deadlock_retries,
    };
    let metrics_server =
        tokio::spawn(
            async move { axum::serve(metrics_listener, jobs::metrics::router(handle)).await },
        );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reaper = tokio::spawn(reaper::run(
        state.clone(),
        redis.clone(),
        settings.clone(),
        stop_rx,
    ));
    tracing::info!(worker = %name, "worker started");

    let jobs_settings = settings.jobs.clone();
    let poll = Duration::from_millis(jobs_settings.poll_interval_ms);
    let concurrency = settings.worker.concurrency;
    let config = |kind| queue::config(&prefix, kind, &jobs_settings, jobs_settings.batch_size);
    let purchases = queue::storage::<jobs::purchase::PurchaseJob>(&redis, config(Kind::Purchase));
    let batches =
        queue::storage::<jobs::purchase::BatchPurchaseJob>(&redis, config(Kind::BatchPurchase));
    let (s1, s2, n1, n2) = (state.clone(), state.clone(), name.clone(), name.clone());
    Monitor::new()
        .register(move |restarts| {
            WorkerBuilder::new(format!("{n1}-purchase-{restarts}"))
                .backend(purchases.clone().poll_with_interval(poll))
                .data(s1.clone())
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(handlers::purchase)
        })
        .register(move |restarts| {
            WorkerBuilder::new(format!("{n2}-batch-{restarts}"))
                .backend(batches.clone().poll_with_interval(poll))
                .data(s2.clone())
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(handlers::batch_purchase)
        })
        .should_restart(|_, _| true)
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await?;
    let _ = stop_tx.send(true);
    let _ = reaper.await;
    metrics_server.abort();
    ids.shutdown().await;
    db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
