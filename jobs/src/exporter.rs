//! The Prometheus recorder every process installs: explicit buckets, every series the
//! dashboards query registered at zero, and the private `/metrics` router.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::job::{FailureCode, Kind};
use crate::metrics::{
    CLOCK_BACKWARDS, COINS, DB_RETRIES, ID_LEASE_LOST, JOB_DURATION, JOB_WAIT, JOBS_COMPLETED,
    JOBS_ENQUEUED, LOGIN_OUTCOMES, LOGINS, PAYMENT_OUTCOMES, PAYMENTS, PURCHASE_GROUP,
    RECHARGE_COINS, SESSIONS_ACTIVE,
};
use crate::payments::ProviderKind;

const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (tests start many apps in one process) and
/// registers the metrics every process exports, so dashboards never show "no data".
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .expect("buckets are non-empty")
                .set_buckets_for_metric(Matcher::Full(PURCHASE_GROUP.into()), GROUP_BUCKETS)
                .expect("buckets are non-empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            let upkeep = handle.clone();
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
            register_all();
            handle
        })
        .clone()
}

/// Every series the dashboards query, at zero, so no panel starts as "no data".
fn register_all() {
    for kind in Kind::ALL {
        let kind = kind.as_str();
        metrics::counter!(JOBS_ENQUEUED, "kind" => kind).absolute(0);
        metrics::counter!(JOBS_COMPLETED, "kind" => kind, "outcome" => "succeeded").absolute(0);
        for code in FailureCode::ALL {
            metrics::counter!(JOBS_COMPLETED, "kind" => kind, "outcome" => code.as_str())
                .absolute(0);
        }
        let _ = metrics::histogram!(JOB_DURATION, "kind" => kind);
        let _ = metrics::histogram!(JOB_WAIT, "kind" => kind);
    }
    for direction in ["spent", "refunded", "credited", "recharged"] {
        metrics::counter!(COINS, "direction" => direction).absolute(0);
    }
    for provider in ProviderKind::ALL {
        for outcome in PAYMENT_OUTCOMES {
            metrics::counter!(PAYMENTS, "provider" => provider.as_str(), "outcome" => outcome)
                .absolute(0);
        }
    }
    metrics::counter!(RECHARGE_COINS).absolute(0);
    for outcome in LOGIN_OUTCOMES {
        metrics::counter!(LOGINS, "outcome" => outcome).absolute(0);
    }
    for reason in ["deadlock", "lock_wait", "snapshot_conflict"] {
        metrics::counter!(DB_RETRIES, "reason" => reason).absolute(0);
    }
    metrics::counter!(ID_LEASE_LOST).absolute(0);
    metrics::counter!(CLOCK_BACKWARDS).absolute(0);
    metrics::gauge!(SESSIONS_ACTIVE).set(0.0);
}

/// `/metrics` and `/healthz` for the operators' private port of every process.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| std::future::ready("ok")))
}
