//! The Redis connection every process shares (auto-reconnecting, multiplexed; one server or a
//! Redis Cluster), and what that Redis keeps across a restart.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{RedisMode, RedisSettings};

/// A connection to one Redis server or to a Redis Cluster. Both are cheap to clone (handles on
/// one multiplexed connection) and reconnect by themselves; on a cluster every command goes to
/// the primary of its key's slot, and a pipeline or script must keep to one slot.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Connects with bounded timeouts, so an outage surfaces as an error instead of a hang. On a
/// cluster a request is retried (redirects, a failover's few seconds) within 5 s in all.
pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<RedisConn> {
    match settings.mode {
        RedisMode::Single => {
            let client = redis::Client::open(settings.url.expose_secret())?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_number_of_retries(2);
            let conn = ConnectionManager::new_with_config(client, config).await?;
            Ok(RedisConn::Single(conn))
        }
        RedisMode::Cluster => {
            let conn = ClusterClientBuilder::new(seed_urls(settings))
                .connection_timeout(Duration::from_secs(2))
                .response_timeout(Duration::from_secs(2))
                .overall_response_timeout(Some(Duration::from_secs(5)))
                .retries(8)
                .min_retry_wait(50)
                .max_retry_wait(1000)
                .build()?
                .get_async_connection()
                .await?;
            Ok(RedisConn::Cluster(conn))
        }
    }
}

/// The URLs a subscriber may connect to: the server, or every seed node of a cluster (a
/// message published on any cluster node reaches subscribers on all of them).
pub fn seed_urls(settings: &RedisSettings) -> Vec<String> {
    match settings.mode {
        RedisMode::Single => vec![settings.url.expose_secret().to_owned()],
        RedisMode::Cluster => settings
            .cluster_nodes
            .iter()
            .map(|url| url.expose_secret().to_owned())
            .filter(|url| !url.is_empty())
            .collect(),
    }
}

impl RedisConn {
    /// `INFO <section>` of the server, or of every primary of a cluster.
    pub async fn info_all(&self, section: &str) -> redis::RedisResult<Vec<String>> {
        let answer: Value = redis::cmd("INFO")
            .arg(section)
            .query_async(&mut self.clone())
            .await?;
        match answer {
            Value::Map(per_node) => per_node
                .into_iter()
                .map(|(_, text)| Ok(redis::from_redis_value(text)?))
                .collect(),
            text => Ok(vec![redis::from_redis_value(text)?]),
        }
    }

    /// Every key matching `pattern` (SCAN, never KEYS), over every primary of a cluster. For
    /// tests, the bench and operators' tools: it walks the whole keyspace.
    pub async fn scan_match(&self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        let mut keys = Vec::new();
        let nodes = match self {
            Self::Single(_) => vec![None],
            Self::Cluster(conn) => primaries(&mut conn.clone())
                .await?
                .into_iter()
                .map(Some)
                .collect(),
        };
        for node in nodes {
            self.clone().scan_node(node, pattern, &mut keys).await?;
        }
        Ok(keys)
    }

    /// Every key of the deployment with `prefix`, tagged or not (both of
    /// [`crate::keys::all_patterns`]), over every primary of a cluster. For tests and the bench.
    pub async fn keys_of(&self, prefix: &str) -> redis::RedisResult<Vec<String>> {
        let mut keys = Vec::new();
        for pattern in crate::keys::all_patterns(prefix) {
            keys.extend(self.scan_match(&pattern).await?);
        }
        Ok(keys)
    }

    /// SCANs one server: the connection's own, or (cluster) the node at `node`.
    async fn scan_node(
        mut self,
        node: Option<(String, u16)>,
        pattern: &str,
        keys: &mut Vec<String>,
    ) -> redis::RedisResult<()> {
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let answer = match (&mut self, &node) {
                (Self::Cluster(conn), Some((host, port))) => {
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                        host: host.clone(),
                        port: *port,
                    });
                    conn.route_command(scan, route).await?
                }
                (conn, _) => conn.req_packed_command(&scan).await?,
            };
            let (next, batch): (u64, Vec<String>) = redis::from_redis_value(answer)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// The primaries of a cluster, from `CLUSTER NODES`.
async fn primaries(conn: &mut ClusterConnection) -> redis::RedisResult<Vec<(String, u16)>> {
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(conn).await?;
    Ok(nodes
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            fields.len() > 2 && fields[2].contains("master") && !fields[2].contains("fail")
        })
        .filter_map(|line| {
            let address = line.split(' ').nth(1)?.split('@').next()?;
            let (host, port) = address.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect())
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

/// Reads the server's persistence (`INFO persistence`); on a cluster the weakest primary's.
pub async fn persistence(redis: &RedisConn) -> redis::RedisResult<Persistence> {
    let infos = redis.info_all("persistence").await?;
    Ok(infos
        .iter()
        .map(|info| Persistence::from_info(info))
        .max_by_key(|found| match found {
            Persistence::Aof => 0,
            Persistence::Rdb => 1,
            Persistence::None => 2,
        })
        .unwrap_or(Persistence::None))
}

/// At start: logs the server's persistence, and refuses a Redis without AOF when
/// `redis.require_aof` is set.
pub async fn check_persistence(
    redis: &RedisConn,
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
