//! The admin's view of live sessions: pages of the activity set, dropping stale entries lazily.

use std::sync::LazyLock;

use jobs::ids::{EntityId, UserId};
use redis::Script;

use super::store::Store;

/// One live session as the admin list shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub account: String,
    pub user_id: UserId,
    pub last_active_ms: i64,
    pub created_ms: i64,
    pub remember_me: bool,
    pub frozen: bool,
}

/// Removes an activity entry whose session is gone, unless a newer login took the account over.
static DROP_STALE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local current = redis.call('GET', KEYS[2])
if current and current ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
",
    )
});

/// Stale entries are removed and the page read again; a few rounds suffice in practice.
const MAX_ROUNDS: usize = 8;

type Entry = (String, f64);

impl Store<'_> {
    /// Sessions from rank `start` (newest activity first), at most `count`.
    pub async fn page(&mut self, start: u64, count: u64) -> redis::RedisResult<Vec<Listed>> {
        let mut round = 0;
        loop {
            let stop = (start + count).saturating_sub(1);
            let entries: Vec<Entry> = redis::cmd("ZREVRANGE")
                .arg(self.active_key())
                .arg(start)
                .arg(stop)
                .arg("WITHSCORES")
                .query_async(&mut self.redis)
                .await?;
            let (live, stale) = self.lookup(entries).await?;
            round += 1;
            if stale.is_empty() || round == MAX_ROUNDS {
                return Ok(live);
            }
            self.drop_stale(&stale).await?;
        }
    }

    /// The account's live session, looked up by exact name.
    pub async fn find(&mut self, account: &str) -> redis::RedisResult<Option<Listed>> {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.active_key())
            .arg(account)
            .query_async(&mut self.redis)
            .await?;
        let Some(score) = score else {
            return Ok(None);
        };
        let (mut live, stale) = self.lookup(vec![(account.to_owned(), score)]).await?;
        self.drop_stale(&stale).await?;
        Ok(live.pop())
    }

    /// Splits entries into live sessions and stale `(account, dead key)` pairs.
    async fn lookup(
        &mut self,
        entries: Vec<Entry>,
    ) -> redis::RedisResult<(Vec<Listed>, Vec<(String, String)>)> {
        if entries.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut pointers = redis::pipe();
        for (account, _) in &entries {
            pointers.get(self.account_key(account));
        }
        let keys: Vec<Option<String>> = pointers.query_async(&mut self.redis).await?;
        let mut sessions = redis::pipe();
        for key in &keys {
            let key = key.as_deref().unwrap_or("-");
            sessions
                .cmd("HMGET")
                .arg(self.session_key(key))
                .arg(&["user_id", "created", "remember", "frozen"]);
        }
        let fields: Vec<Vec<Option<String>>> = sessions.query_async(&mut self.redis).await?;
        let (mut live, mut stale) = (Vec::new(), Vec::new());
        for (((account, score), key), fields) in entries.into_iter().zip(keys).zip(fields) {
            let number = |i: usize| fields.get(i).cloned().flatten()?.parse::<i64>().ok();
            match (number(0), key) {
                (Some(user_id), Some(_)) => live.push(Listed {
                    account,
                    user_id: UserId::from_raw(user_id),
                    last_active_ms: score as i64,
                    created_ms: number(1).unwrap_or_default(),
                    remember_me: number(2) == Some(1),
                    frozen: number(3) == Some(1),
                }),
                (_, key) => stale.push((account, key.unwrap_or_default())),
            }
        }
        Ok((live, stale))
    }

    async fn drop_stale(&mut self, stale: &[(String, String)]) -> redis::RedisResult<()> {
        for (account, key) in stale {
            let _: i64 = DROP_STALE
                .key(self.active_key())
                .key(self.account_key(account))
                .key(self.session_key(if key.is_empty() { "-" } else { key }))
                .key(self.expiry_key())
                .arg(account)
                .arg(key)
                .invoke_async(&mut self.redis)
                .await?;
        }
        Ok(())
    }
}
