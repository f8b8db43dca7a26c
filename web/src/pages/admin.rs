//! The admin console: coins per day (a chart), sessions (freeze, unfreeze, kick) and users
//! (credit coins).

use axum::extract::State;
use axum::response::Response;
use jobs::income;
use minijinja::context;

use super::chart::{self, Series};
use super::{PageError, render, sign_in_first};
use crate::error::ApiError;
use crate::sessions::MaybeSession;
use crate::state::AppState;

/// Days the coins chart shows.
const CHART_DAYS: u64 = 30;

/// The lists are loaded by the page script through the admin API, which checks the role again.
pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/admin"));
    };
    if !session.has_role(jobs::accounts::Role::Admin) {
        return Err(ApiError::Forbidden.into());
    }
    let days = income::requested_range(None, None, CHART_DAYS).map_err(ApiError::invalid)?;
    let stats = income::daily_stats(&state.db.main, days).await?;
    let labels: Vec<String> = stats.iter().map(|d| d.date.clone()).collect();
    let series = |name, class, value: fn(&income::DayStats) -> i64| Series {
        name,
        class,
        values: stats.iter().map(value).collect(),
    };
    let chart = chart::bars(
        &labels,
        &[
            series("recharged", "recharged", |d| d.coins_credited.get()),
            series("spent", "spent", |d| d.coins_spent.get()),
            series("refunded", "refunded", |d| d.coins_refunded.get()),
        ],
    );
    let caption = "Coins recharged, spent and refunded per day, last 30 days (UTC)";
    render("admin.html", Some(&session), context! { chart, caption })
}
