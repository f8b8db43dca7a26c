//! Typed, layered configuration: `config/default.toml`, the `NOVEL_ENV` overlay, then `NOVEL__*` env vars.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub sharding: ShardingSettings,
    pub redis: RedisSettings,
    pub ids: IdSettings,
    pub pricing: PricingSettings,
    pub worker: WorkerSettings,
    pub jobs: JobSettings,
    pub sessions: SessionSettings,
    pub limits: LimitSettings,
    pub payments: PaymentSettings,
    pub income: IncomeSettings,
    pub library: LibrarySettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Where `/metrics` of web and workers listens: private by default, whatever `host` is.
    pub metrics_host: String,
    pub metrics_port: u16,
    pub cookie_secure: bool,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    /// Runtime threads of the web process (`jobs::runtime::build`): 1, 0 for one per core, or n.
    pub threads: usize,
    /// Argon2 hashes (login, registration, password change) running at once; each takes 19 MiB.
    pub hash_concurrency: usize,
    /// How long a request waits for a hashing turn before it is shed with 503.
    pub hash_queue_timeout_ms: u64,
}

/// Connection URLs are secrets: `SecretString` prints `[REDACTED]` in `Debug`.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub shard_max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub lock_wait_timeout_secs: u32,
    pub deadlock_retries: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShardingSettings {
    pub database_enabled: bool,
    pub table_enabled: bool,
    /// One URL per data source `ds0..ds9`.
    pub data_sources: Vec<SecretString>,
}

/// One Redis server, or a Redis Cluster (every key a script touches shares a hash tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    Single,
    Cluster,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub mode: RedisMode,
    /// The server in `single` mode.
    pub url: SecretString,
    /// Seed nodes in `cluster` mode (any reachable one is enough; the rest are discovered).
    pub cluster_nodes: Vec<SecretString>,
    /// Every key this deployment writes starts with `{prefix}:`.
    pub prefix: String,
    /// Refuse to start on a Redis without AOF (queued jobs and sessions would not survive its
    /// restart); read from `INFO persistence` at start.
    pub require_aof: bool,
    /// Replicas that must hold a new job before it is accepted (`WAIT` after each submit; 0:
    /// no waiting). With 1, a failover to the replica keeps every accepted job.
    pub wait_replicas: u8,
    /// How long a submit waits for them; fewer acknowledgements → 503 `unavailable`.
    pub wait_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdSettings {
    pub datacenter_id: u8,
    pub lease_ttl_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PricingSettings {
    pub words_per_unit: i64,
    pub coins_per_unit: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub metrics_port: u16,
    /// Runtime threads of a worker process (`jobs::runtime::build`): 1, 0 for one per core, or n.
    pub threads: usize,
    pub concurrency: usize,
    /// When the refund sweep runs (cron with seconds, UTC).
    pub refund_sweep_cron: String,
}

/// The most jobs a worker fetches at once, and so purchase jobs one group transaction holds:
/// 65 batches of 100 chapters fill one MySQL statement (`purchase::group` checks the sum).
pub const MAX_BATCH_SIZE: usize = 65;

/// The most job partitions (`jobs.partitions`).
pub const MAX_PARTITIONS: u16 = 64;

#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    /// Seconds a terminal job status stays in Redis; afterwards polls are answered from MySQL.
    pub result_ttl_secs: u64,
    /// How often an idle worker looks for new jobs (the pickup latency).
    pub poll_interval_ms: u64,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    /// Jobs one worker fetches at a time (close to its concurrency), and so the most purchase
    /// jobs one group transaction holds (at most [`MAX_BATCH_SIZE`]).
    pub batch_size: usize,
    /// How often the reaper records dead-set jobs as failed.
    pub reaper_interval_ms: u64,
    /// Finished jobs are removed from the queues this long after they finished.
    pub finished_retention_secs: u64,
    /// How often a worker samples queue depth and removes a batch of old finished jobs.
    pub housekeeping_interval_ms: u64,
    /// Finished jobs looked at per queue per housekeeping round (keeps each command short).
    pub cleanup_batch: usize,
    /// Queues per partitioned kind (purchase, batch_purchase, refund; at most
    /// [`MAX_PARTITIONS`]): each user's jobs go to one, so a Redis Cluster spreads them over
    /// its primaries. Equal in every process of a deployment.
    pub partitions: u16,
}

/// Per-user limits of the API.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Purchase jobs a user may enqueue per second (token bucket refill rate).
    pub enqueue_per_second: u32,
    /// How many a user may enqueue at once (bucket size).
    pub enqueue_burst: u32,
    /// Registrations one client IP may make per hour (each costs an Argon2 hash).
    pub registrations_per_ip_per_hour: u64,
}

/// Token sessions: timeouts, CSRF grace, admin search and the failed-login limits.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub idle_timeout_secs: u64,
    pub absolute_timeout_secs: u64,
    pub remember_idle_timeout_secs: u64,
    pub remember_absolute_timeout_secs: u64,
    /// How long a replaced CSRF token stays valid (parallel requests share one token).
    pub csrf_grace_ms: u64,
    /// Fuzzy (substring) session search is honoured only up to this many sessions.
    pub fuzzy_search_limit: u64,
    pub login_failures_per_account: u64,
    pub login_failures_per_ip: u64,
    pub login_failure_window_secs: u64,
}

impl SessionSettings {
    /// `(idle, absolute)` timeouts in milliseconds for a normal or remember-me session.
    pub fn timeouts_ms(&self, remember_me: bool) -> (u64, u64) {
        let (idle, absolute) = if remember_me {
            (
                self.remember_idle_timeout_secs,
                self.remember_absolute_timeout_secs,
            )
        } else {
            (self.idle_timeout_secs, self.absolute_timeout_secs)
        };
        (idle * 1000, absolute * 1000)
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    /// The configured server's URL naming `database` instead (empty: none), e.g. for a test's
    /// database of its own.
    pub fn url_of(&self, database: &str) -> SecretString {
        let url = self.url.expose_secret();
        let (base, query) = url
            .split_once('?')
            .map_or((url, None), |(b, q)| (b, Some(q)));
        let start = base.find("://").map_or(0, |i| i + 3);
        let server = base[start..].find('/').map_or(base, |i| &base[..start + i]);
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        SecretString::from(format!("{server}/{database}{query}"))
    }
}

impl IdSettings {
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

/// The folder holding `default.toml`: `NOVEL_CONFIG_DIR`, else `./config`, else the workspace's.
pub fn config_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("NOVEL_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("config");
    if local.join("default.toml").exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// Loads and validates the settings; the error names the offending key.
pub fn load() -> Result<Settings, ConfigError> {
    load_with(&std::env::var("NOVEL_ENV").unwrap_or_else(|_| "local".into()))
}

/// Like `load`, with the overlay named explicitly (tests use `test`).
pub fn load_with(overlay: &str) -> Result<Settings, ConfigError> {
    let dir = config_dir();
    let settings: Settings = config::Config::builder()
        .add_source(config::File::from(dir.join("default.toml")))
        .add_source(config::File::from(dir.join(format!("{overlay}.toml"))).required(false))
        .add_source(
            config::Environment::with_prefix("NOVEL")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("sharding.data_sources")
                .with_list_parse_key("redis.cluster_nodes")
                .try_parsing(true),
        )
        .build()?
        .try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

impl Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.sharding.data_sources.len() != crate::shard::SHARDS as usize {
            return invalid(
                "sharding.data_sources",
                "must list exactly ten URLs (ds0..ds9)",
            );
        }
        if self.redis.mode == RedisMode::Cluster
            && self
                .redis
                .cluster_nodes
                .iter()
                .all(|n| n.expose_secret().is_empty())
        {
            return invalid(
                "redis.cluster_nodes",
                "cluster mode needs at least one seed node URL",
            );
        }
        if self.redis.wait_replicas > 0 && !(1..2000).contains(&self.redis.wait_timeout_ms) {
            return invalid(
                "redis.wait_timeout_ms",
                "must be 1..2000 when redis.wait_replicas is set (0 waits forever; a wait \
                 reaching the 2 s Redis response timeout would be retried)",
            );
        }
        if self.ids.datacenter_id > crate::ids::MAX_NODE {
            return invalid("ids.datacenter_id", "must be 0..=31");
        }
        if self.ids.lease_ttl_ms < 300 {
            return invalid("ids.lease_ttl_ms", "must be at least 300");
        }
        if self.database.max_connections == 0 || self.database.shard_max_connections == 0 {
            return invalid(
                "database.max_connections",
                "pools need at least one connection",
            );
        }
        if self.pricing.words_per_unit <= 0 || self.pricing.coins_per_unit < 0 {
            return invalid(
                "pricing.words_per_unit",
                "must be positive (coins_per_unit >= 0)",
            );
        }
        if self.jobs.poll_interval_ms == 0 || self.jobs.heartbeat_secs == 0 {
            return invalid(
                "jobs.poll_interval_ms",
                "poll and heartbeat intervals must be positive",
            );
        }
        if self.limits.enqueue_per_second == 0 || self.limits.enqueue_burst == 0 {
            return invalid(
                "limits.enqueue_per_second",
                "enqueue limits must be positive",
            );
        }
        if self.limits.registrations_per_ip_per_hour == 0 {
            return invalid("limits.registrations_per_ip_per_hour", "must be at least 1");
        }
        if self.http.hash_concurrency == 0 {
            return invalid("http.hash_concurrency", "must be at least 1");
        }
        if self.worker.concurrency == 0 {
            return invalid("worker.concurrency", "must be at least 1");
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.jobs.batch_size) {
            return invalid(
                "jobs.batch_size",
                "must be 1..=65: a group of that many 100-chapter batches fills one MySQL statement",
            );
        }
        if !(1..=MAX_PARTITIONS).contains(&self.jobs.partitions) {
            return invalid("jobs.partitions", "must be 1..=64");
        }
        if self.redis.prefix.is_empty() || self.redis.prefix.contains([' ', '*', '?']) {
            return invalid(
                "redis.prefix",
                "must be non-empty without spaces or glob characters",
            );
        }
        self.sessions.validate()?;
        self.payments.validate()?;
        self.income.validate()?;
        self.library.validate()
    }
}

impl SessionSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.idle_timeout_secs == 0 || self.idle_timeout_secs > self.absolute_timeout_secs {
            return invalid(
                "sessions.idle_timeout_secs",
                "must be positive and at most sessions.absolute_timeout_secs",
            );
        }
        if self.remember_idle_timeout_secs == 0
            || self.remember_idle_timeout_secs > self.remember_absolute_timeout_secs
        {
            return invalid(
                "sessions.remember_idle_timeout_secs",
                "must be positive and at most sessions.remember_absolute_timeout_secs",
            );
        }
        if self.login_failures_per_account == 0 || self.login_failures_per_ip == 0 {
            return invalid(
                "sessions.login_failures_per_account",
                "failure limits must be at least 1",
            );
        }
        if self.login_failure_window_secs == 0 {
            return invalid("sessions.login_failure_window_secs", "must be positive");
        }
        Ok(())
    }
}

/// Coins in: recharge packages, order lifetime, webhook limits and the payment providers.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentSettings {
    /// A pending order expires this long after it was created.
    pub order_ttl_secs: u64,
    /// A signed event whose timestamp is further than this from the server's clock is refused.
    pub signature_tolerance_secs: u64,
    /// The webhook route's own body limit (an event is a few KiB).
    pub webhook_body_limit_bytes: usize,
    /// When the `order_expiry` job runs (cron with seconds, UTC).
    pub order_expiry_cron: String,
    pub packages: Vec<PackageSettings>,
    pub sandbox: SandboxSettings,
    pub stripe: StripeSettings,
}

/// One recharge package: pay `amount` minor units of `currency`, get `coins + bonus_coins`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PackageSettings {
    pub id: String,
    pub amount: i64,
    /// ISO 4217, upper case (`CNY`).
    pub currency: String,
    pub coins: i64,
    pub bonus_coins: i64,
}

/// The built-in provider for local use and tests; production turns it off, since anyone who
/// knows its secret could hand out coins.
#[derive(Debug, Clone, Deserialize)]
pub struct SandboxSettings {
    pub enabled: bool,
    pub webhook_secret: SecretString,
    /// Where the checkout page's Pay and Cancel deliver their events; empty: this web tier's
    /// own webhook at the address it listens on.
    pub webhook_url: String,
}

/// Stripe Checkout: sessions created through its API, paid events through its signed webhooks.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeSettings {
    pub enabled: bool,
    /// `https://api.stripe.com`; tests point it at a local fake.
    pub api_base: String,
    /// `sk_...` or a restricted `rk_...` key.
    pub secret_key: SecretString,
    /// The endpoint's signing secret, `whsec_...`.
    pub webhook_secret: SecretString,
    /// Where Stripe sends the payer after paying or cancelling.
    pub success_url: String,
    pub cancel_url: String,
    /// Per request to Stripe's API (a timeout is a transient error).
    pub timeout_ms: u64,
}

/// Author income: how often the rollup folds today's buy records and refunds.
#[derive(Debug, Clone, Deserialize)]
pub struct IncomeSettings {
    /// Seconds between rollups, dividing an hour (so a cron schedule says it): today's
    /// figures lag by at most this.
    pub rollup_interval_secs: u64,
}

/// Library and discovery: shelves, covers, visits, rankings.
#[derive(Debug, Clone, Deserialize)]
pub struct LibrarySettings {
    /// Books one reader may keep on the shelf (409 `shelf_full` past it).
    pub shelf_limit: u32,
    /// Where uploaded covers are stored, by content hash (relative to the working directory).
    pub cover_dir: PathBuf,
    /// Largest cover upload (its route's own body limit; the app-wide limit is smaller).
    pub cover_max_bytes: usize,
    /// A chapter read counts toward a book's visits once per reader (or IP) per this window.
    pub visit_window_secs: u64,
    /// Seconds between `visit_flush` runs folding the counts gathered in Redis into MySQL.
    pub visit_flush_interval_secs: u64,
    /// Seconds a computed ranking is served before it is computed again.
    pub ranking_ttl_secs: u64,
    /// Cover uploads decoded and re-encoded at once per web process; more wait up to a second,
    /// then get 503.
    pub cover_concurrency: usize,
}

/// Stripe takes a Checkout Session expiry 30 minutes to 24 hours ahead, and the session lives as
/// long as its order.
pub const STRIPE_SESSION_TTL_SECS: std::ops::RangeInclusive<u64> = 1800..=86_400;

impl PaymentSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if !(60..=86_400).contains(&self.order_ttl_secs) {
            return invalid("payments.order_ttl_secs", "must be 60..=86400");
        }
        if self.stripe.enabled && !STRIPE_SESSION_TTL_SECS.contains(&self.order_ttl_secs) {
            return invalid(
                "payments.order_ttl_secs",
                "must be 1800..=86400 with Stripe on: its sessions expire 30 min to 24 h ahead",
            );
        }
        if !(1..=3600).contains(&self.signature_tolerance_secs) {
            return invalid("payments.signature_tolerance_secs", "must be 1..=3600");
        }
        if !(1024..=1_048_576).contains(&self.webhook_body_limit_bytes) {
            return invalid("payments.webhook_body_limit_bytes", "must be 1 KiB..=1 MiB");
        }
        self.validate_packages()?;
        if self.sandbox.enabled && self.sandbox.webhook_secret.expose_secret().len() < 8 {
            return invalid(
                "payments.sandbox.webhook_secret",
                "must be at least 8 characters while the sandbox is on",
            );
        }
        if self.stripe.enabled {
            self.stripe.validate()?;
        }
        Ok(())
    }

    fn validate_packages(&self) -> Result<(), ConfigError> {
        let invalid = |problem: String| {
            Err(ConfigError::Invalid {
                key: "payments.packages",
                problem,
            })
        };
        if self.packages.is_empty() || self.packages.len() > 20 {
            return invalid("must list 1..=20 packages".into());
        }
        for (i, p) in self.packages.iter().enumerate() {
            let id_ok = (1..=32).contains(&p.id.len())
                && p.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !id_ok {
                return invalid(format!("package {i}: id must be 1..=32 of [A-Za-z0-9_-]"));
            }
            if self.packages[..i].iter().any(|q| q.id == p.id) {
                return invalid(format!("package id `{}` is listed twice", p.id));
            }
            if p.currency.len() != 3 || !p.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return invalid(format!("package `{}`: currency must be like CNY", p.id));
            }
            let bounds = 1..=1_000_000_000;
            if !bounds.contains(&p.amount)
                || !bounds.contains(&p.coins)
                || !(0..=1_000_000_000).contains(&p.bonus_coins)
            {
                return invalid(format!(
                    "package `{}`: amount and coins must be 1..=10^9, bonus_coins 0..=10^9",
                    p.id
                ));
            }
        }
        Ok(())
    }
}

impl StripeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        let is_http = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        if !is_http(&self.api_base) || self.api_base.ends_with('/') {
            return invalid(
                "payments.stripe.api_base",
                "must be an http(s) URL without a trailing slash",
            );
        }
        let key = self.secret_key.expose_secret();
        if !(key.starts_with("sk_") || key.starts_with("rk_")) {
            return invalid(
                "payments.stripe.secret_key",
                "must be a secret key sk_... or rk_...",
            );
        }
        if !self.webhook_secret.expose_secret().starts_with("whsec_") {
            return invalid(
                "payments.stripe.webhook_secret",
                "must be a signing secret whsec_...",
            );
        }
        if !is_http(&self.success_url) {
            return invalid(
                "payments.stripe.success_url",
                "must be an absolute http(s) URL",
            );
        }
        if !is_http(&self.cancel_url) {
            return invalid(
                "payments.stripe.cancel_url",
                "must be an absolute http(s) URL",
            );
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return invalid("payments.stripe.timeout_ms", "must be 100..=60000");
        }
        Ok(())
    }
}

impl LibrarySettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if !(1..=100_000).contains(&self.shelf_limit) {
            return invalid("library.shelf_limit", "must be 1..=100000");
        }
        if !(1024..=64 << 20).contains(&self.cover_max_bytes) {
            return invalid("library.cover_max_bytes", "must be 1 KiB..=64 MiB");
        }
        if !(1..=86_400).contains(&self.visit_window_secs) {
            return invalid("library.visit_window_secs", "must be 1..=86400");
        }
        let flush = self.visit_flush_interval_secs;
        let divides = match flush {
            1..60 => 60u64.is_multiple_of(flush),
            60..=3600 => flush.is_multiple_of(60) && 3600u64.is_multiple_of(flush),
            _ => false,
        };
        if !divides {
            return invalid(
                "library.visit_flush_interval_secs",
                "must divide a minute (1, 2, ... 30) or be whole minutes dividing an hour",
            );
        }
        if !(1..=3600).contains(&self.ranking_ttl_secs) {
            return invalid("library.ranking_ttl_secs", "must be 1..=3600");
        }
        if !(1..=64).contains(&self.cover_concurrency) {
            return invalid("library.cover_concurrency", "must be 1..=64");
        }
        Ok(())
    }
}

impl LibrarySettings {
    /// The `visit_flush` schedule (cron with seconds, UTC): every `visit_flush_interval_secs`.
    pub fn visit_flush_cron(&self) -> String {
        match self.visit_flush_interval_secs {
            secs @ 1..60 => format!("*/{secs} * * * * *"),
            3600 => "0 0 * * * *".to_owned(),
            secs => format!("0 */{} * * * *", secs / 60),
        }
    }
}

impl IncomeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let secs = self.rollup_interval_secs;
        if !(60..=3600).contains(&secs) || !3600u64.is_multiple_of(secs) || !secs.is_multiple_of(60)
        {
            return Err(ConfigError::Invalid {
                key: "income.rollup_interval_secs",
                problem: "must be whole minutes dividing an hour (60, 120, 300, ... 3600)".into(),
            });
        }
        Ok(())
    }

    /// The rollup's schedule (cron with seconds, UTC): every `rollup_interval_secs`.
    pub fn rollup_cron(&self) -> String {
        match self.rollup_interval_secs / 60 {
            60 => "0 0 * * * *".to_owned(),
            minutes => format!("0 */{minutes} * * * *"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_load_and_secrets_stay_out_of_debug_output() {
        let mut settings = load_with("none").expect("default.toml loads");
        settings.database.url = SecretString::from("mysql://root:hunter2@db:3306/novel");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let mut settings = load_with("none").expect("default.toml loads");
        settings.ids.datacenter_id = 40;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("ids.datacenter_id"), "{error}");
    }

    #[test]
    fn cluster_mode_without_a_seed_node_is_refused() {
        let mut settings = load_with("none").expect("default.toml loads");
        settings.redis.mode = RedisMode::Cluster;
        settings.redis.cluster_nodes = vec![SecretString::from("")];
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("redis.cluster_nodes"), "{error}");
        settings.redis.cluster_nodes = vec![SecretString::from("redis://127.0.0.1:7000")];
        settings.validate().expect("one seed is enough");
    }

    #[test]
    fn job_partitions_are_one_to_sixty_four() {
        let mut settings = load_with("none").expect("default.toml loads");
        assert_eq!(settings.jobs.partitions, 1);
        for bad in [0, MAX_PARTITIONS + 1] {
            settings.jobs.partitions = bad;
            let error = settings.validate().unwrap_err().to_string();
            assert!(error.contains("jobs.partitions"), "{error}");
        }
        for good in [1, 3, MAX_PARTITIONS] {
            settings.jobs.partitions = good;
            settings.validate().expect("in range");
        }
    }
}

#[cfg(test)]
mod payment_tests {
    use super::*;

    fn defaults() -> Settings {
        load_with("none").expect("default.toml loads")
    }

    fn stripe_on(settings: &mut Settings) {
        let stripe = &mut settings.payments.stripe;
        stripe.enabled = true;
        stripe.secret_key = SecretString::from("sk_test_123");
        stripe.webhook_secret = SecretString::from("whsec_123");
    }

    fn error_of(settings: &Settings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn the_default_packages_and_payment_settings_are_the_contracts() {
        let settings = defaults();
        let payments = &settings.payments;
        let packages: Vec<_> = payments
            .packages
            .iter()
            .map(|p| {
                (
                    p.id.as_str(),
                    p.amount,
                    p.currency.as_str(),
                    p.coins,
                    p.bonus_coins,
                )
            })
            .collect();
        assert_eq!(
            packages,
            [
                ("p600", 600, "CNY", 600, 0),
                ("p3000", 3000, "CNY", 3000, 100),
                ("p9800", 9800, "CNY", 9800, 500),
                ("p19800", 19800, "CNY", 19800, 1200),
            ]
        );
        assert_eq!(payments.order_ttl_secs, 1800);
        assert_eq!(payments.signature_tolerance_secs, 300);
        assert_eq!(payments.webhook_body_limit_bytes, 65536);
        assert!(payments.sandbox.enabled);
        assert_eq!(
            payments.sandbox.webhook_secret.expose_secret(),
            "sandbox-dev-secret"
        );
        assert!(!payments.stripe.enabled);
        assert_eq!(payments.stripe.api_base, "https://api.stripe.com");
        assert_eq!(settings.income.rollup_interval_secs, 300);
        assert_eq!(settings.income.rollup_cron(), "0 */5 * * * *");
    }

    #[test]
    fn payment_secrets_stay_out_of_debug_output() {
        let mut settings = defaults();
        stripe_on(&mut settings);
        let printed = format!("{:?}", settings.payments);
        for secret in ["sk_test_123", "whsec_123", "sandbox-dev-secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn with_stripe_on_an_order_must_live_30_minutes_to_24_hours() {
        let mut settings = defaults();
        stripe_on(&mut settings);
        settings.validate().expect("the defaults suit Stripe");
        settings.payments.order_ttl_secs = 1799;
        assert!(error_of(&settings).contains("payments.order_ttl_secs"));
        settings.payments.order_ttl_secs = 86_401;
        assert!(error_of(&settings).contains("payments.order_ttl_secs"));
        settings.payments.stripe.enabled = false;
        settings.payments.order_ttl_secs = 600;
        settings
            .validate()
            .expect("the sandbox alone takes a shorter lifetime");
    }

    #[test]
    fn stripe_keys_of_the_wrong_kind_name_their_key() {
        let mut settings = defaults();
        stripe_on(&mut settings);
        settings.payments.stripe.secret_key = SecretString::from("pk_test_123");
        assert!(error_of(&settings).contains("payments.stripe.secret_key"));
        stripe_on(&mut settings);
        settings.payments.stripe.webhook_secret = SecretString::from("");
        assert!(error_of(&settings).contains("payments.stripe.webhook_secret"));
        stripe_on(&mut settings);
        settings.payments.stripe.api_base = "https://api.stripe.com/".into();
        assert!(error_of(&settings).contains("payments.stripe.api_base"));
    }

    #[test]
    fn bad_packages_name_the_key() {
        let mut settings = defaults();
        settings.payments.packages[1].id = "p600".into();
        assert!(error_of(&settings).contains("listed twice"));
        let mut settings = defaults();
        settings.payments.packages[0].currency = "cny".into();
        assert!(error_of(&settings).contains("payments.packages"));
        let mut settings = defaults();
        settings.payments.packages[0].amount = 0;
        assert!(error_of(&settings).contains("payments.packages"));
        let mut settings = defaults();
        settings.payments.packages.clear();
        assert!(error_of(&settings).contains("payments.packages"));
    }

    #[test]
    fn limits_and_intervals_are_bounded() {
        let mut settings = defaults();
        settings.payments.signature_tolerance_secs = 0;
        assert!(error_of(&settings).contains("payments.signature_tolerance_secs"));
        let mut settings = defaults();
        settings.payments.webhook_body_limit_bytes = 10;
        assert!(error_of(&settings).contains("payments.webhook_body_limit_bytes"));
        let mut settings = defaults();
        settings.payments.sandbox.webhook_secret = SecretString::from("short");
        assert!(error_of(&settings).contains("payments.sandbox.webhook_secret"));
        let mut settings = defaults();
        settings.income.rollup_interval_secs = 420;
        assert!(error_of(&settings).contains("income.rollup_interval_secs"));
        settings.income.rollup_interval_secs = 3600;
        assert_eq!(settings.income.rollup_cron(), "0 0 * * * *");
    }

    #[test]
    fn the_visit_flush_runs_on_intervals_a_cron_can_keep() {
        let mut settings = defaults();
        assert_eq!(settings.library.visit_flush_cron(), "*/30 * * * * *");
        settings.library.visit_flush_interval_secs = 7;
        assert!(error_of(&settings).contains("library.visit_flush_interval_secs"));
        settings.library.visit_flush_interval_secs = 90;
        assert!(error_of(&settings).contains("library.visit_flush_interval_secs"));
        settings.library.visit_flush_interval_secs = 300;
        assert_eq!(settings.library.visit_flush_cron(), "0 */5 * * * *");
        settings.library.visit_flush_interval_secs = 3600;
        assert_eq!(settings.library.visit_flush_cron(), "0 0 * * * *");
    }
}
