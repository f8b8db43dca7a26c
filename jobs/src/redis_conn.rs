//! The Redis connection every process shares (auto-reconnecting, multiplexed), and what that
//! Redis keeps across a restart.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::RedisSettings;

/// Connects with bounded timeouts, so an outage surfaces as an error instead of a hang.
pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(settings.url.expose_secret())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client, config).await
}

/// What survives a restart of the Redis queued jobs, sessions and id leases live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Persistence {
    /// Append-only file: everything written, up to its last fsync.
    Aof,
    /// Only snapshots: everything since the last one is lost.
    Rdb,
    /// Nothing: a restart loses every queued job and session.
    None,
}

impl Persistence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aof => "aof",
            Self::Rdb => "rdb",
            Self::None => "none",
        }
    }

    /// From the text of `INFO persistence` (managed services refuse `CONFIG GET`). INFO does
    /// not show the snapshot schedule, so RDB counts only once the server has saved or loaded
    /// a snapshot; until then a Redis without AOF reads as `None`.
    pub fn from_info(info: &str) -> Self {
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|value| value.trim().parse::<i64>().ok())
        };
        if field("aof_enabled") == Some(1) {
            Self::Aof
        } else if field("rdb_saves") > Some(0)
            || field("rdb_last_bgsave_time_sec") >= Some(0)
            || field("rdb_last_load_keys_loaded") > Some(0)
        {
            Self::Rdb
        } else {
            Self::None
        }
    }
}

/// Reads the server's persistence (`INFO persistence`).
pub async fn persistence(redis: &ConnectionManager) -> redis::RedisResult<Persistence> {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut redis.clone())
        .await?;
    Ok(Persistence::from_info(&info))
}

/// At start: logs the server's persistence, and refuses a Redis without AOF when
/// `redis.require_aof` is set.
pub async fn check_persistence(
    redis: &ConnectionManager,
    settings: &RedisSettings,
) -> anyhow::Result<Persistence> {
    let found = persistence(redis).await?;
    match found {
        Persistence::Aof => tracing::info!(persistence = "aof", "Redis persists with AOF"),
        Persistence::Rdb => tracing::warn!(
            persistence = "rdb",
            "Redis has no AOF, only RDB snapshots: a restart loses every job and session \
             written since the last snapshot"
        ),
        Persistence::None => tracing::warn!(
            persistence = "none",
            "Redis shows no persistence (no AOF, no RDB snapshot saved or loaded): a restart \
             loses every queued job and session"
        ),
    }
    anyhow::ensure!(
        found == Persistence::Aof || !settings.require_aof,
        "configuration key `redis.require_aof` is true, but the Redis at the configured URL \
         has no AOF (persistence: {}): turn it on (`appendonly yes`, `appendfsync everysec`) \
         or set redis.require_aof = false",
        found.as_str()
    );
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_PERSISTENCE: &str = "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:12\r\n\
        rdb_last_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_load_keys_loaded:0\r\n\
        aof_enabled:0\r\n";

    #[test]
    fn info_persistence_reads_as_aof_rdb_or_none() {
        assert_eq!(Persistence::from_info(NO_PERSISTENCE), Persistence::None);
        let aof = NO_PERSISTENCE.replace("aof_enabled:0", "aof_enabled:1");
        assert_eq!(Persistence::from_info(&aof), Persistence::Aof);
        let saved = NO_PERSISTENCE.replace("rdb_saves:0", "rdb_saves:3");
        assert_eq!(Persistence::from_info(&saved), Persistence::Rdb);
        let loaded = NO_PERSISTENCE.replace("keys_loaded:0", "keys_loaded:40");
        assert_eq!(Persistence::from_info(&loaded), Persistence::Rdb);
    }
}
