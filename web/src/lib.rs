//! The web tier: axum router, sessions, catalog, purchase enqueue, pages.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::StatusStore;
use jobs::payments::provider::Providers;
use jobs::queues::Queues;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

mod body_limit;
mod enqueue;
pub mod error;
pub mod extract;
pub mod hashing;
mod idempotency;
pub mod library;
mod observe;
pub mod pages;
pub mod rankings;
pub mod reading;
mod routes;
pub mod sessions;
pub mod state;
pub mod turns;
mod wakeup;

/// How long a cover upload waits for a turn before it is shed with 503.
const COVER_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

use state::AppState;

/// Connects to MySQL and Redis (refusing a Redis without AOF when `redis.require_aof` is set)
/// and leases an id machine; the pieces every handler needs.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::connect(&settings.database, &settings.sharding)?;
    let redis = jobs::redis_conn::connect(&settings.redis).await?;
    jobs::redis_conn::check_persistence(&redis, &settings.redis).await?;
    jobs::queues::check_partitions(&redis, &settings.redis.prefix, settings.jobs.partitions)
        .await?;
    let ids = IdGenerator::start(
        redis.clone(),
        &settings.redis.prefix,
        settings.ids.datacenter_id,
        settings.ids.lease_ttl(),
    )
    .await?;
    let prefix = &settings.redis.prefix;
    Ok(AppState::new(state::Shared {
        queues: Queues::new(&redis, prefix, &settings.jobs, 1),
        status: StatusStore::new(redis.clone(), prefix, settings.jobs.result_ttl_secs)
            .replicated(&settings.redis)
            .await?,
        wakeups: wakeup::Wakeups::start(&settings.redis, settings.jobs.partitions),
        hasher: hashing::Hasher::new(&settings.http),
        cover_turns: turns::Turns::new(settings.library.cover_concurrency, COVER_TURN_WAIT),
        rankings: rankings::Rankings::new(Duration::from_secs(settings.library.ranking_ttl_secs)),
        library: library::Library::start(&db, redis.clone(), prefix, &settings.library),
        providers: Providers::from_settings(&settings.payments)?,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        own_url: OnceLock::new(),
        settings,
        db,
        redis,
        ids,
    }))
}

pub fn app(state: AppState) -> Router {
    let settings = &state.settings.http;
    routes::router(&state.settings)
        .merge(pages::router())
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            sessions::resolve,
        ))
        .layer(axum::middleware::from_fn(observe::track))
        .layer(axum::middleware::from_fn_with_state(
            body_limit::BodyLimits {
                app: settings.body_limit_bytes,
                cover: state.settings.library.cover_max_bytes,
            },
            body_limit::limit,
        ))
        .layer(axum::middleware::from_fn(error::too_large_in_shape))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(settings.request_timeout_ms),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the API on `listener` and metrics on `metrics_listener` until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = build_state(settings).await?;
    serve(state, listener, metrics_listener, shutdown).await
}

/// The address to reach a listener on from this machine: the loopback for a wildcard bind.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// Like `run`, with the state already built (tests keep a clone to set up data).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = jobs::exporter::install();
    sessions::register_metrics();
    hashing::register_metrics();
    library::register_metrics();
    let closing = state.clone();
    let metrics =
        tokio::spawn(
            async move { axum::serve(metrics_listener, jobs::exporter::router(handle)).await },
        );
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "web tier listening");
    let _ = state.own_url.set(format!("http://{}", reachable(addr)));
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    metrics.abort();
    closing.library.close().await;
    closing.ids.shutdown().await;
    closing.db.close().await;
    Ok(())
}
