//! The admin's view of live sessions: pages of the activity sets (one per session partition,
//! merged newest first), dropping stale entries lazily. Commands about several accounts go one
//! per account, concurrently: the accounts' keys may sit in different cluster slots.

use std::cmp::Ordering;
use std::sync::LazyLock;

use futures::future::try_join_all;
use jobs::ids::{EntityId, UserId};
use jobs::keys::SESSION_PARTS;
use redis::{Cmd, FromRedisValue, Script};

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
            let entries = self.newest(start, count).await?;
            let (live, stale) = self.lookup(entries).await?;
            round += 1;
            if stale.is_empty() || round == MAX_ROUNDS {
                return Ok(live);
            }
            self.drop_stale(&stale).await?;
        }
    }

    /// The activity entries of ranks `start..start + count` over every partition, in the order
    /// one sorted set would give them (`ZREVRANGE`: score, then account, descending): each
    /// partition's first `start + count` entries, merged (deep pages read more: the admin list
    /// is paged by people).
    async fn newest(&self, start: u64, count: u64) -> redis::RedisResult<Vec<Entry>> {
        let stop = (start + count).saturating_sub(1);
        let ranges = (0..SESSION_PARTS).map(|part| {
            let mut range = redis::cmd("ZREVRANGE");
            range
                .arg(self.keys_in(part).active())
                .arg(0)
                .arg(stop)
                .arg("WITHSCORES");
            range
        });
        let mut entries: Vec<Entry> = self.each::<Vec<Entry>>(ranges).await?.concat();
        entries.sort_by(|(a, a_score), (b, b_score)| {
            b_score
                .partial_cmp(a_score)
                .unwrap_or(Ordering::Equal)
                .then_with(|| b.cmp(a))
        });
        Ok(entries
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from((stop + 1).saturating_sub(start)).unwrap_or(usize::MAX))
            .collect())
    }

    /// The account's live session, looked up by exact name.
    pub async fn find(&mut self, account: &str) -> redis::RedisResult<Option<Listed>> {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.keys(account).active())
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

    /// Runs each command on its own (they may address different slots), concurrently.
    async fn each<T: FromRedisValue>(
        &self,
        commands: impl IntoIterator<Item = Cmd>,
    ) -> redis::RedisResult<Vec<T>> {
        try_join_all(commands.into_iter().map(|command| {
            let mut redis = self.redis.clone();
            async move { command.query_async(&mut redis).await }
        }))
        .await
    }

    /// Splits entries into live sessions and stale `(account, dead key)` pairs.
    async fn lookup(
        &mut self,
        entries: Vec<Entry>,
    ) -> redis::RedisResult<(Vec<Listed>, Vec<(String, String)>)> {
        let pointers = entries.iter().map(|(account, _)| {
            let mut get = redis::cmd("GET");
            get.arg(self.keys(account).account(account));
            get
        });
        let keys: Vec<Option<String>> = self.each(pointers).await?;
        let sessions = entries.iter().zip(&keys).map(|((account, _), key)| {
            let mut hmget = redis::cmd("HMGET");
            hmget
                .arg(self.keys(account).token(key.as_deref().unwrap_or("-")))
                .arg(&["user_id", "created", "remember", "frozen"]);
            hmget
        });
        let fields: Vec<Vec<Option<String>>> = self.each(sessions).await?;
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
            let keys = self.keys(account);
            let _: i64 = DROP_STALE
                .key(keys.active())
                .key(keys.account(account))
                .key(keys.token(if key.is_empty() { "-" } else { key }))
                .key(keys.expiry())
                .arg(account)
                .arg(key)
                .invoke_async(&mut self.redis)
                .await?;
        }
        Ok(())
    }
}
