//! Redis storage of sessions: creation, the atomic resolve (CSRF check + rotation + touch), ending.
//!
//! Keys (all under `{<prefix>:s<K>}:sess:`, K the account's session partition, 0..16, see
//! [`jobs::keys::SessionKeys`]): `tok:{sha256(token)}` the session hash, `csrf:{sha}` the replaced
//! CSRF tokens still in their grace period (member → valid-until ms), `acct:{account}` the
//! account's one live session, `active` the partition's activity sorted set (account → last
//! activity ms) and `expiry` beside it (account → when the session expires unless used again),
//! which lets expired sessions leave `active` (`publish_count`). A token's SHA-256 starts with
//! the hex digit of its account's partition (`new_token_in`), so a request finds the partition
//! from its token alone, and every script touches one partition's keys (one cluster slot).

use std::sync::LazyLock;

use futures::future::try_join_all;
use jobs::accounts::Roles;
use jobs::config::SessionSettings;
use jobs::ids::{AuthorId, EntityId, UserId};
use jobs::keys::{SESSION_PARTS, SessionKeys, session_part};
use jobs::redis_conn::RedisConn;
use redis::Script;

use super::{Session, Via, new_token, new_token_in, token_key};
use crate::state::AppState;

/// Session storage for one request; cheap to build (the connection is a shared handle).
pub struct Store<'a> {
    pub(super) redis: RedisConn,
    pub(super) prefix: &'a str,
    pub(super) settings: &'a SessionSettings,
}

/// What a login or password change puts into a new session.
pub struct NewSession<'a> {
    pub user_id: UserId,
    pub account: &'a str,
    pub roles: &'a Roles,
    pub author_id: Option<AuthorId>,
    pub remember_me: bool,
}

/// A freshly created session: the token goes to the client once, never into Redis.
pub struct Created {
    pub token: String,
    pub csrf: String,
    pub key: String,
}

/// The middleware's verdict on a presented token.
pub enum Resolved {
    Unknown,
    Frozen,
    CsrfMismatch,
    Live(Session),
}

/// The clock as the session scripts' millisecond scores take it.
pub fn now_ms() -> u64 {
    u64::try_from(jobs::clock::now_ms()).unwrap_or(0)
}

/// Check order is the API's: unknown or expired, frozen, CSRF; then rotate and touch.
static RESOLVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local s = redis.call('HMGET', KEYS[1], 'user_id', 'account', 'roles', 'author_id',
  'remember', 'frozen', 'csrf', 'abs_exp', 'idle_ms')
if not s[1] then return {'unknown'} end
local now = tonumber(ARGV[1])
local abs = tonumber(s[8])
if now >= abs then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'unknown'}
end
if s[6] == '1' then return {'frozen'} end
local csrf = s[7]
if ARGV[2] == '1' then
  local grace = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if ARGV[3] ~= csrf and not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
    return {'csrf'}
  end
  if grace > 0 then
    redis.call('ZADD', KEYS[2], now + grace, csrf)
    redis.call('PEXPIRE', KEYS[2], grace)
  end
  csrf = ARGV[4]
  redis.call('HSET', KEYS[1], 'csrf', csrf)
end
local ttl = math.min(tonumber(s[9]), abs - now)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[3], now, s[2])
redis.call('ZADD', KEYS[4], now + ttl, s[2])
return {'live', s[1], s[2], s[3], s[4], s[5], csrf}
",
    )
});

/// Ends one session; the account pointer and activity entry go only if they are still its own.
static END: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('ZREM', KEYS[5], ARGV[2])
end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
",
    )
});

/// Removes up to `ARGV[2]` accounts whose session expired by `ARGV[1]` from both sorted sets;
/// answers how many accounts the activity set holds then.
static PRUNE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
return redis.call('ZCARD', KEYS[1])
",
    )
});

/// Expired entries removed per partition per `publish_count`: each call stays short however many
/// expired.
const PRUNE_BATCH: u64 = 1000;

/// Sets fields of a session only while it exists (never resurrects a bare hash).
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
",
    )
});

impl<'a> Store<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self {
            redis: state.redis.clone(),
            prefix: &state.settings.redis.prefix,
            settings: &state.settings.sessions,
        }
    }

    /// The keys of the account's session partition.
    pub(super) fn keys(&self, account: &str) -> SessionKeys {
        SessionKeys::of_account(self.prefix, account)
    }

    /// The keys of the partition a session's token key names.
    fn keys_of(&self, key: &str) -> SessionKeys {
        SessionKeys::of_key(self.prefix, key)
    }

    /// The keys of partition `part`.
    pub(super) fn keys_in(&self, part: u8) -> SessionKeys {
        SessionKeys::part(self.prefix, part)
    }

    /// Creates a session and makes it the account's only one: the previous token stops working.
    pub async fn create(&mut self, new: &NewSession<'_>) -> redis::RedisResult<Created> {
        let part = session_part(new.account);
        let (token, csrf) = (new_token_in(part), new_token());
        let key = token_key(&token);
        let keys = self.keys_in(part);
        let now = now_ms();
        let (idle, absolute) = self.settings.timeouts_ms(new.remember_me);
        let author_id = new.author_id.map(|a| a.to_string()).unwrap_or_default();
        let session = keys.token(&key);
        // The session exists before the pointer names it, and whoever moves the pointer deletes
        // what it pointed to: racing logins of one account leave exactly one session alive.
        let (previous,): (Option<String>,) = redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&session)
            .arg(&[
                ("user_id", new.user_id.to_string()),
                ("account", new.account.to_owned()),
                ("roles", new.roles.to_string()),
                ("author_id", author_id),
                ("created", now.to_string()),
                ("remember", u8::from(new.remember_me).to_string()),
                ("frozen", "0".to_owned()),
                ("csrf", csrf.clone()),
                ("abs_exp", (now + absolute).to_string()),
                ("idle_ms", idle.to_string()),
            ])
            .ignore()
            .pexpire(&session, idle as i64)
            .ignore()
            .cmd("SET")
            .arg(keys.account(new.account))
            .arg(&key)
            .arg("PX")
            .arg(absolute)
            .arg("GET")
            .zadd(keys.active(), new.account, now)
            .ignore()
            .zadd(keys.expiry(), new.account, now + idle)
            .ignore()
            .query_async(&mut self.redis)
            .await?;
        if let Some(old) = previous.filter(|old| *old != key) {
            let _: () = redis::pipe()
                .del(keys.token(&old))
                .del(keys.csrf(&old))
                .query_async(&mut self.redis)
                .await?;
        }
        Ok(Created { token, csrf, key })
    }

    /// Looks a token up; with `csrf` given (a cookie write) checks it and rotates the token.
    pub async fn resolve(
        &mut self,
        token: &str,
        via: Via,
        csrf: Option<&str>,
    ) -> redis::RedisResult<Resolved> {
        let key = token_key(token);
        let keys = self.keys_of(&key);
        let reply: Vec<String> = RESOLVE
            .key(keys.token(&key))
            .key(keys.csrf(&key))
            .key(keys.active())
            .key(keys.expiry())
            .arg(now_ms())
            .arg(u8::from(csrf.is_some()))
            .arg(csrf.unwrap_or_default())
            .arg(new_token())
            .arg(self.settings.csrf_grace_ms)
            .invoke_async(&mut self.redis)
            .await?;
        Ok(match reply.first().map(String::as_str) {
            Some("frozen") => Resolved::Frozen,
            Some("csrf") => Resolved::CsrfMismatch,
            Some("live") if reply.len() == 7 => match reply[1].parse().map(UserId::from_raw) {
                Ok(user_id) => Resolved::Live(Session {
                    key,
                    user_id,
                    account: reply[2].clone(),
                    roles: Roles::from(reply[3].clone()),
                    author_id: reply[4].parse().ok(),
                    remember_me: reply[5] == "1",
                    csrf: reply[6].clone(),
                    via,
                }),
                Err(_) => Resolved::Unknown,
            },
            _ => Resolved::Unknown,
        })
    }

    /// Ends the session stored under `key` (logout, or a kick).
    pub async fn end(&mut self, key: &str, account: &str) -> redis::RedisResult<()> {
        let keys = self.keys(account);
        END.key(keys.account(account))
            .key(keys.token(key))
            .key(keys.csrf(key))
            .key(keys.active())
            .key(keys.expiry())
            .arg(key)
            .arg(account)
            .invoke_async(&mut self.redis)
            .await
    }

    /// The key of the account's live session, if it has one.
    pub async fn current(&mut self, account: &str) -> redis::RedisResult<Option<String>> {
        redis::cmd("GET")
            .arg(self.keys(account).account(account))
            .query_async(&mut self.redis)
            .await
    }

    /// Kicks the account out: its token stops working at once.
    pub async fn kick(&mut self, account: &str) -> redis::RedisResult<()> {
        match self.current(account).await? {
            Some(key) => self.end(&key, account).await,
            None => {
                let keys = self.keys(account);
                redis::pipe()
                    .zrem(keys.active(), account)
                    .zrem(keys.expiry(), account)
                    .query_async(&mut self.redis)
                    .await
            }
        }
    }

    /// Sets fields (`frozen`, `roles`, `author_id`) of a live session; no-op if it is gone.
    pub async fn update(&mut self, key: &str, fields: &[(&str, String)]) -> redis::RedisResult<()> {
        let mut invocation = UPDATE.key(self.keys_of(key).token(key));
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let _: i64 = invocation.invoke_async(&mut self.redis).await?;
        Ok(())
    }

    /// Marks the account's live session (if any) frozen or not; MySQL holds the lasting flag.
    pub async fn set_frozen(&mut self, account: &str, frozen: bool) -> redis::RedisResult<()> {
        if let Some(key) = self.current(account).await? {
            self.update(&key, &[("frozen", u8::from(frozen).to_string())])
                .await?;
        }
        Ok(())
    }

    /// Number of live sessions, published as `novel_sessions_active`; first removes a batch of
    /// expired ones from each partition's activity set (Redis drops only their keys).
    pub async fn publish_count(&mut self) -> redis::RedisResult<u64> {
        let now = now_ms();
        let counts: Vec<u64> = try_join_all((0..SESSION_PARTS).map(|part| {
            let keys = self.keys_in(part);
            let mut redis = self.redis.clone();
            async move {
                PRUNE
                    .key(keys.active())
                    .key(keys.expiry())
                    .arg(now)
                    .arg(PRUNE_BATCH)
                    .invoke_async(&mut redis)
                    .await
            }
        }))
        .await?;
        let count = counts.iter().sum();
        metrics::gauge!(jobs::metrics::SESSIONS_ACTIVE).set(count as f64);
        Ok(count)
    }
}
