//! The Redis lease on a `(datacenter, machine)` pair: acquire, renew, release.

use std::time::Duration;

use rand::seq::SliceRandom;

use crate::redis_conn::RedisConn;

use super::snowflake::MAX_NODE;

/// Renew only while the key still holds our token; record the last minted millisecond.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3] .. ':0')
  return 1
end
return 0";

/// Release only our own lease, marking the handover clean so the next holder need not wait. The
/// mark names the Redis server (its run id): a restart may bring back a clean mark from before
/// a later holder's writes were lost, and a new server's run id tells the next holder so.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2] .. ':1:' .. ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0";

/// The `INFO server` of the node that holds KEYS[1] (on a cluster, a plain INFO would go to
/// every primary).
const SERVER_INFO: &str = r"
return redis.call('INFO', 'server')";

#[derive(Clone)]
pub(super) struct Lease {
    redis: RedisConn,
    prefix: String,
    datacenter: u8,
    token: String,
    ttl: Duration,
}

/// A machine id just taken, and what the new holder must respect.
pub(super) struct Acquired {
    pub machine: u8,
    /// The predecessor's last recorded millisecond.
    pub floor_ms: u64,
    /// Whether the predecessor provably released it (cleanly, on this very Redis server run);
    /// if not, wait one TTL before minting.
    pub clean: bool,
}

impl Lease {
    pub fn new(redis: RedisConn, prefix: &str, datacenter: u8, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            datacenter,
            token: ulid::Ulid::new().to_string(),
            ttl,
        }
    }

    pub fn datacenter(&self) -> u8 {
        self.datacenter
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The lease and its last-minted mark share a hash tag (one slot on a cluster).
    fn lease_key(&self, machine: u8) -> String {
        crate::keys::id_lease(&self.prefix, self.datacenter, machine)
    }

    fn last_key(&self, machine: u8) -> String {
        crate::keys::id_last(&self.prefix, self.datacenter, machine)
    }

    /// Takes a free machine id (tried in random order so starting processes rarely collide).
    pub async fn acquire(&mut self) -> redis::RedisResult<Option<Acquired>> {
        let mut machines: Vec<u8> = (0..=MAX_NODE).collect();
        machines.shuffle(&mut rand::rng());
        for machine in machines {
            let taken: Option<String> = redis::cmd("SET")
                .arg(self.lease_key(machine))
                .arg(&self.token)
                .arg("NX")
                .arg("PX")
                .arg(self.ttl.as_millis() as u64)
                .query_async(&mut self.redis)
                .await?;
            if taken.is_none() {
                continue;
            }
            let last: Option<String> = redis::cmd("GET")
                .arg(self.last_key(machine))
                .query_async(&mut self.redis)
                .await?;
            let (floor_ms, released_on) = parse_last(last.as_deref());
            // Read after the mark: a restart in between shows as another run id.
            let server = self.run_id(machine).await?;
            let clean = released_on.is_some_and(|run| !run.is_empty() && run == server);
            // Until we renew, a crash of ours must make the next holder wait.
            redis::cmd("SET")
                .arg(self.last_key(machine))
                .arg(format!("{floor_ms}:0"))
                .query_async::<()>(&mut self.redis)
                .await?;
            return Ok(Some(Acquired {
                machine,
                floor_ms,
                clean,
            }));
        }
        Ok(None)
    }

    /// True while the lease is still ours (and now extended by one TTL).
    pub async fn renew(&mut self, machine: u8, last_ms: u64) -> redis::RedisResult<bool> {
        let renewed: i64 = redis::Script::new(RENEW)
            .key(self.lease_key(machine))
            .key(self.last_key(machine))
            .arg(&self.token)
            .arg(self.ttl.as_millis() as u64)
            .arg(last_ms)
            .invoke_async(&mut self.redis)
            .await?;
        Ok(renewed == 1)
    }

    pub async fn release(&mut self, machine: u8, last_ms: u64) -> redis::RedisResult<()> {
        let server = self.run_id(machine).await?;
        redis::Script::new(RELEASE)
            .key(self.lease_key(machine))
            .key(self.last_key(machine))
            .arg(&self.token)
            .arg(last_ms)
            .arg(server)
            .invoke_async::<i64>(&mut self.redis)
            .await?;
        Ok(())
    }

    /// The run id of the Redis server holding the lease: new at every start of the server (and,
    /// on a cluster, another one after a failover).
    async fn run_id(&mut self, machine: u8) -> redis::RedisResult<String> {
        let info: String = redis::Script::new(SERVER_INFO)
            .key(self.lease_key(machine))
            .invoke_async(&mut self.redis)
            .await?;
        Ok(info
            .lines()
            .find_map(|line| line.strip_prefix("run_id:"))
            .unwrap_or_default()
            .trim()
            .to_owned())
    }
}

/// `last ms:0` while held, `last ms:1:run id` once released: the floor and, after a release,
/// the Redis run it happened on.
fn parse_last(value: Option<&str>) -> (u64, Option<&str>) {
    let mut parts = value.unwrap_or_default().splitn(3, ':');
    let ms = parts.next().and_then(|ms| ms.parse().ok()).unwrap_or(0);
    let released_on = match (parts.next(), parts.next()) {
        (Some("1"), Some(run)) => Some(run),
        _ => None,
    };
    (ms, released_on)
}
