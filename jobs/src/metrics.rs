//! Metric names shared by code, dashboards and tests (the recorder is in `exporter`).

pub const HTTP_REQUESTS: &str = "novel_http_requests_total";
pub const HTTP_DURATION: &str = "novel_http_request_duration_seconds";
pub const JOBS_ENQUEUED: &str = "novel_jobs_enqueued_total";
pub const JOBS_COMPLETED: &str = "novel_jobs_completed_total";
pub const JOB_DURATION: &str = "novel_job_duration_seconds";
pub const JOB_WAIT: &str = "novel_job_wait_seconds";
pub const QUEUE_DEPTH: &str = "novel_queue_depth";
pub const COINS: &str = "novel_coins_total";
pub const SESSIONS_ACTIVE: &str = "novel_sessions_active";
pub const LOGINS: &str = "novel_logins_total";
/// Argon2 hashes running in the web process (at most `http.hash_concurrency`).
pub const HASHES_RUNNING: &str = "novel_password_hashes_running";
pub const DB_RETRIES: &str = "novel_db_retries_total";
pub const ID_LEASE_LOST: &str = "novel_id_lease_lost_total";
pub const CLOCK_BACKWARDS: &str = "novel_clock_backwards_total";
/// Purchase jobs per grouped transaction (workers only): how much a busy worker batches.
pub const PURCHASE_GROUP: &str = "novel_purchase_group_size";

/// Chapter reads counted as visits (the first of a book per reader per window; no crawlers).
pub const VISITS: &str = "novel_visits_total";
/// Visits that could not be counted (Redis failed; the read was served).
pub const VISIT_ERRORS: &str = "novel_visit_errors_total";
/// Reading progress not recorded, by `reason`: `full` (the web tier's queue was full) or
/// `error` (the batch write failed).
pub const PROGRESS_DROPPED: &str = "novel_progress_dropped_total";

/// Payment events by provider and what became of them ([`PAYMENT_OUTCOMES`]).
pub const PAYMENTS: &str = "novel_payments_total";
/// Coins credited by paid recharge orders.
pub const RECHARGE_COINS: &str = "novel_recharge_coins_total";

/// The `outcome` label values of `novel_payments_total`: what a job did with an event, a
/// delivery seen before, and the refusals (`bad_signature`; `invalid`: an event that cannot be
/// read, names no order of that provider, or is past the body limit).
pub const PAYMENT_OUTCOMES: [&str; 6] = [
    "paid",
    "failed",
    "flagged",
    "duplicate",
    "bad_signature",
    "invalid",
];

/// The `outcome` label values of `novel_logins_total`.
pub const LOGIN_OUTCOMES: [&str; 4] = ["success", "failure", "frozen", "rate_limited"];
