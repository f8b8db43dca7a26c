//! Typed, layered configuration: `config/default.toml`, the `NOVEL_ENV` overlay, then `NOVEL__*` env vars.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Every key this deployment writes starts with `{prefix}:`.
    pub prefix: String,
    /// Refuse to start on a Redis without AOF (queued jobs and sessions would not survive its
    /// restart); read from `INFO persistence` at start.
    pub require_aof: bool,
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
        if self.redis.prefix.is_empty() || self.redis.prefix.contains([' ', '*', '?']) {
            return invalid(
                "redis.prefix",
                "must be non-empty without spaces or glob characters",
            );
        }
        self.sessions.validate()
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
}
