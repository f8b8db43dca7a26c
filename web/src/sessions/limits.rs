//! Failed-login limits per account and per client IP (fixed windows in Redis).

use std::net::IpAddr;
use std::sync::LazyLock;

use redis::Script;

use super::store::Store;

/// Counts one failure; the window starts at the first failure and is not extended by later ones.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 1
",
    )
});

impl Store<'_> {
    fn failure_keys(&self, username: &str, ip: IpAddr) -> (String, String) {
        (
            format!("{}:login:fail:acct:{username}", self.prefix),
            format!("{}:login:fail:ip:{ip}", self.prefix),
        )
    }

    /// `Some(seconds to wait)` while the account or the IP has used up its failures.
    pub async fn login_blocked(
        &mut self,
        username: &str,
        ip: IpAddr,
    ) -> redis::RedisResult<Option<u64>> {
        let (account, ip) = self.failure_keys(username, ip);
        let (failures, account_ttl, ip_ttl): ((Option<u64>, Option<u64>), i64, i64) = redis::pipe()
            .mget(&[&account, &ip])
            .cmd("PTTL")
            .arg(&account)
            .cmd("PTTL")
            .arg(&ip)
            .query_async(&mut self.redis)
            .await?;
        let limits = [
            (
                failures.0,
                account_ttl,
                self.settings.login_failures_per_account,
            ),
            (failures.1, ip_ttl, self.settings.login_failures_per_ip),
        ];
        let wait = limits
            .iter()
            .filter(|(count, _, limit)| count.unwrap_or(0) >= *limit)
            .map(|(_, ttl, _)| u64::try_from(*ttl).unwrap_or(1000).div_ceil(1000).max(1))
            .max();
        Ok(wait)
    }

    pub async fn count_login_failure(
        &mut self,
        username: &str,
        ip: IpAddr,
    ) -> redis::RedisResult<()> {
        let (account, ip) = self.failure_keys(username, ip);
        let window_ms = self.settings.login_failure_window_secs * 1000;
        let _: i64 = COUNT
            .key(account)
            .key(ip)
            .arg(window_ms)
            .invoke_async(&mut self.redis)
            .await?;
        Ok(())
    }
}
