//! The Redis lease on a `(datacenter, machine)` pair: acquire, renew, release.

use std::time::Duration;

use rand::seq::SliceRandom;
use redis::aio::ConnectionManager;

use super::snowflake::MAX_NODE;

/// Renew only while the key still holds our token; record the last minted millisecond.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3] .. ':0')
  return 1
end
return 0";

/// Release only our own lease, marking the handover clean so the next holder need not wait.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2] .. ':1')
  redis.call('DEL', KEYS[1])
  return 1
end
return 0";

#[derive(Clone)]
pub(super) struct Lease {
    redis: ConnectionManager,
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
    /// Whether the predecessor released cleanly; if not, wait one TTL before minting.
    pub clean: bool,
}

impl Lease {
    pub fn new(redis: ConnectionManager, prefix: &str, datacenter: u8, ttl: Duration) -> Self {
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

    fn lease_key(&self, machine: u8) -> String {
        format!("{}:ids:lease:{}:{machine}", self.prefix, self.datacenter)
    }

    fn last_key(&self, machine: u8) -> String {
        format!("{}:ids:last:{}:{machine}", self.prefix, self.datacenter)
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
            let (floor_ms, clean) = parse_last(last.as_deref());
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
        redis::Script::new(RELEASE)
            .key(self.lease_key(machine))
            .key(self.last_key(machine))
            .arg(&self.token)
            .arg(last_ms)
            .invoke_async::<i64>(&mut self.redis)
            .await?;
        Ok(())
    }
}

fn parse_last(value: Option<&str>) -> (u64, bool) {
    let Some((ms, clean)) = value.and_then(|v| v.split_once(':')) else {
        return (0, false);
    };
    (ms.parse().unwrap_or(0), clean == "1")
}
