//! The worker process: leases its id machine, runs jobs from Redis, serves `/metrics`.

use std::future::Future;

use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use tokio::net::TcpListener;

/// Runs until `shutdown` resolves, then finishes in-flight work and releases the id lease.
pub async fn run(
    settings: Settings,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = jobs::metrics::install();
    let db = Db::connect(&settings.database, &settings.sharding)?;
    let redis = jobs::redis_conn::connect(&settings.redis).await?;
    let ids = IdGenerator::start(
        redis.clone(),
        &settings.redis.prefix,
        settings.ids.datacenter_id,
        settings.ids.lease_ttl(),
    )
    .await?;
    tracing::info!(metrics = %metrics_listener.local_addr()?, "worker started");
    axum::serve(metrics_listener, jobs::metrics::router(handle))
        .with_graceful_shutdown(shutdown)
        .await?;
    ids.shutdown().await;
    db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
