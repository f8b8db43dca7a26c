//! Liveness and readiness of the web tier.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jobs::redis_conn::persistence;
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "alive", body = Object))
)]
pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// 200 when MySQL and Redis answer, with what Redis keeps across a restart
/// (`redis_persistence`: `aof`, `rdb` or `none`); otherwise 503 naming each dependency that is
/// down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses((status = 200, description = "MySQL and Redis reachable", body = Object), (status = 503, description = "a dependency is down", body = crate::error::ErrorBody))
)]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let mysql = tokio::time::timeout(PROBE_TIMEOUT, state.db.ping());
    // Read live: an operator may turn AOF on (or a restart off) while the process runs.
    let redis = tokio::time::timeout(PROBE_TIMEOUT, persistence(&state.redis));
    let (mysql, redis) = tokio::join!(mysql, redis);
    let mut down = Vec::new();
    if !matches!(mysql, Ok(Ok(()))) {
        down.push("mysql");
    }
    let persistence = redis.ok().and_then(Result::ok);
    if persistence.is_none() {
        down.push("redis");
    }
    if let (Some(persistence), true) = (persistence, down.is_empty()) {
        let body = json!({
            "status": "ready",
            "mysql": "up",
            "redis": "up",
            "redis_persistence": persistence,
        });
        return Json(body).into_response();
    }
    let body = json!({
        "error": "unavailable",
        "message": format!("{} unreachable", down.join(" and ")),
        "down": down,
    });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
