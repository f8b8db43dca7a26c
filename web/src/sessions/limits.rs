//! Attempt limits in fixed Redis windows: failed logins per account and per client IP,
//! registrations per client IP.

use std::net::IpAddr;
use std::sync::LazyLock;

use jobs::keys;
use jobs::redis_conn::RedisConn;
use redis::Script;

use super::store::Store;
use crate::state::AppState;

/// Reserves one attempt under `KEYS[1]` against the limit `ARGV[2]`, or (`ARGV[3]` = 0) only
/// looks: while the key has used up its limit, answers the milliseconds until its window ends and
/// counts nothing (a refused attempt never extends a lockout). A window starts at its first
/// attempt.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[1]) end
  return ttl
end
if ARGV[3] == '1' and redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0
",
    )
});

/// Gives a reserved attempt back (a key whose window ended meanwhile is left alone).
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1
",
    )
});

/// A fixed window of attempts: its key and how many it allows.
struct Window {
    key: String,
    limit: u64,
    secs: u64,
}

impl Window {
    /// Takes one attempt (`take`), or only looks; the milliseconds to wait when it is used up
    /// (nothing is taken then), else 0.
    async fn reserve(&self, redis: &mut RedisConn, take: bool) -> redis::RedisResult<u64> {
        RESERVE
            .key(&self.key)
            .arg(self.secs * 1000)
            .arg(self.limit)
            .arg(u8::from(take))
            .invoke_async(redis)
            .await
    }

    async fn release(&self, redis: &mut RedisConn) -> redis::RedisResult<()> {
        let _: i64 = RELEASE.key(&self.key).invoke_async(redis).await?;
        Ok(())
    }
}

/// Whole seconds to wait for `wait_ms`, if any.
fn seconds(wait_ms: u64) -> Option<u64> {
    (wait_ms > 0).then(|| wait_ms.div_ceil(1000).max(1))
}

/// Counts a registration from `ip` (each one costs an Argon2 hash); `Some(seconds to wait)` once
/// the hour's `limits.registrations_per_ip_per_hour` are used up.
pub async fn reserve_registration(state: &AppState, ip: IpAddr) -> redis::RedisResult<Option<u64>> {
    let window = Window {
        key: keys::registrations_of_ip(&state.settings.redis.prefix, ip),
        limit: state.settings.limits.registrations_per_ip_per_hour,
        secs: 3600,
    };
    Ok(seconds(
        window.reserve(&mut state.redis.clone(), true).await?,
    ))
}

impl Store<'_> {
    /// The account's and the IP's failed-login windows.
    fn login_windows(&self, username: &str, ip: IpAddr) -> [Window; 2] {
        let secs = self.settings.login_failure_window_secs;
        [
            Window {
                key: keys::login_failures_of_account(self.prefix, username),
                limit: self.settings.login_failures_per_account,
                secs,
            },
            Window {
                key: keys::login_failures_of_ip(self.prefix, ip),
                limit: self.settings.login_failures_per_ip,
                secs,
            },
        ]
    }

    /// Reserves a login attempt against the account's and the IP's failure limits before the
    /// password is checked, so parallel guesses cannot all pass a check made before any of them
    /// failed. `Some(seconds to wait)` when either is used up (the longer wait when both are;
    /// nothing is reserved then).
    ///
    /// The two keys are reserved one after the other (they may sit in different cluster slots):
    /// the account first, then the IP, and the account's attempt is given back if the IP refuses.
    /// Meanwhile a parallel attempt at the same account may see that attempt taken and be refused
    /// although the account's limit is, in the end, not reached.
    pub async fn reserve_login(
        &mut self,
        username: &str,
        ip: IpAddr,
    ) -> redis::RedisResult<Option<u64>> {
        let [account, address] = self.login_windows(username, ip);
        let account_wait = account.reserve(&mut self.redis, true).await?;
        if account_wait > 0 {
            let address_wait = address.reserve(&mut self.redis, false).await?;
            return Ok(seconds(account_wait.max(address_wait)));
        }
        let address_wait = address.reserve(&mut self.redis, true).await?;
        if address_wait > 0 {
            account.release(&mut self.redis).await?;
        }
        Ok(seconds(address_wait))
    }

    /// Gives a reserved attempt back: it was not a failure (right password, or not checked).
    pub async fn release_login(&mut self, username: &str, ip: IpAddr) -> redis::RedisResult<()> {
        for window in self.login_windows(username, ip) {
            window.release(&mut self.redis).await?;
        }
        Ok(())
    }
}
