//! Attempt limits in fixed Redis windows: failed logins per account and per client IP,
//! registrations per client IP.

use std::net::IpAddr;
use std::sync::LazyLock;

use redis::Script;

use super::store::Store;
use crate::state::AppState;

/// Reserves one attempt under every key (`KEYS[i]` against the limit `ARGV[i + 1]`), or none:
/// while any key has used up its limit, answers the milliseconds until its window ends and counts
/// nothing (a refused attempt never extends a lockout). A window starts at its first attempt.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = window end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, window) end
end
return 0
",
    )
});

/// Gives reserved attempts back (a key whose window ended meanwhile is left alone).
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1
",
    )
});

/// Takes one attempt from each `(key, limit)` window at once; `Some(seconds to wait)` when one of
/// them is used up, and then nothing is taken.
async fn reserve(
    redis: &mut jobs::redis_conn::RedisConn,
    windows: &[(String, u64)],
    window_secs: u64,
) -> redis::RedisResult<Option<u64>> {
    let mut invocation = RESERVE.prepare_invoke();
    invocation.arg(window_secs * 1000);
    for (key, limit) in windows {
        invocation.key(key).arg(*limit);
    }
    let wait_ms: u64 = invocation.invoke_async(redis).await?;
    Ok((wait_ms > 0).then(|| wait_ms.div_ceil(1000).max(1)))
}

/// Counts a registration from `ip` (each one costs an Argon2 hash); `Some(seconds to wait)` once
/// the hour's `limits.registrations_per_ip_per_hour` are used up.
pub async fn reserve_registration(state: &AppState, ip: IpAddr) -> redis::RedisResult<Option<u64>> {
    let key = format!("{}:register:ip:{ip}", state.settings.redis.prefix);
    let limit = state.settings.limits.registrations_per_ip_per_hour;
    reserve(&mut state.redis.clone(), &[(key, limit)], 3600).await
}

impl Store<'_> {
    fn login_windows(&self, username: &str, ip: IpAddr) -> [(String, u64); 2] {
        [
            (
                format!("{}:login:fail:acct:{username}", self.prefix),
                self.settings.login_failures_per_account,
            ),
            (
                format!("{}:login:fail:ip:{ip}", self.prefix),
                self.settings.login_failures_per_ip,
            ),
        ]
    }

    /// Reserves a login attempt against the account's and the IP's failure limits before the
    /// password is checked, so parallel guesses cannot all pass a check made before any of them
    /// failed. `Some(seconds to wait)` when either is used up (nothing is reserved then).
    pub async fn reserve_login(
        &mut self,
        username: &str,
        ip: IpAddr,
    ) -> redis::RedisResult<Option<u64>> {
        let windows = self.login_windows(username, ip);
        let window_secs = self.settings.login_failure_window_secs;
        reserve(&mut self.redis, &windows, window_secs).await
    }

    /// Gives a reserved attempt back: it was not a failure (right password, or not checked).
    pub async fn release_login(&mut self, username: &str, ip: IpAddr) -> redis::RedisResult<()> {
        let mut invocation = RELEASE.prepare_invoke();
        for (key, _) in self.login_windows(username, ip) {
            invocation.key(key);
        }
        let _: i64 = invocation.invoke_async(&mut self.redis).await?;
        Ok(())
    }
}
