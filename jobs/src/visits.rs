//! Book visits: a chapter read counts once per book per reader (user, or IP when signed out) per
//! `library.visit_window_secs`, gathered in Redis hashes, one per shard of books (`book id % 16`,
//! so a shard's keys share a cluster slot); the `visit_flush` job folds them into
//! `book.visit_count` without losing or double-counting a batch when it dies halfway.
//!
//! The flush, shard by shard: one script renames the pending hash to the batch key and names the
//! batch (unless an unfinished batch is there: then that one is applied again); one MySQL
//! transaction adds the batch's counts and inserts its id into `visit_batch` (unique), so a batch
//! applied before a crash is seen as applied; the batch key is deleted only after the commit, and
//! only if it still holds that batch.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use crate::redis_conn::RedisConn;
use chrono::Days;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::clock;
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::{BookId, UserId};
use crate::job::outcome::{self, replay};
use crate::job::{Done, JobId, JobView, Kind, payload};
use crate::keys::{self, VISIT_SHARDS};

/// Books updated per statement inside the batch's transaction.
const CHUNK: usize = 500;
/// The hash field naming the batch a batch key holds (never a book id).
const BATCH_FIELD: &str = "_batch";
/// `visit_batch` rows are kept this long (a batch key is never left that long unfinished).
const KEEP_BATCHES_DAYS: u64 = 7;

/// Who read: the signed-in user, else the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    User(UserId),
    Ip(IpAddr),
}

/// KEYS: seen key, pending hash; ARGV: window in seconds, book id. 1 when counted.
static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
              redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
              return 1
          end
          return 0",
    )
});

/// KEYS: pending hash, batch key; ARGV: a fresh batch id. The unfinished batch's id, else the
/// fresh id once the pending hash became the batch, else nil (nothing to flush).
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local current = redis.call('HGET', KEYS[2], ARGV[2])
          if current then return current end
          if redis.call('EXISTS', KEYS[1]) == 0 then return false end
          redis.call('RENAME', KEYS[1], KEYS[2])
          redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
          return ARGV[1]",
    )
});

/// KEYS: batch key; ARGV: batch id, the batch field. Deletes the key only if it holds that batch.
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then
              return redis.call('DEL', KEYS[1])
          end
          return 0",
    )
});

/// Counts one read in one round trip; true when it counted (the first of its window).
pub async fn count(
    redis: &mut RedisConn,
    prefix: &str,
    window_secs: u64,
    book_id: BookId,
    reader: Reader,
) -> redis::RedisResult<bool> {
    COUNT
        .key(keys::visit_seen(prefix, book_id, reader))
        .key(keys::visits_pending(prefix, keys::visit_shard(book_id)))
        .arg(window_secs)
        .arg(book_id.to_string())
        .invoke_async(redis)
        .await
}

/// Lower-case fragments of the User-Agent of crawlers, scripts and headless browsers.
const CRAWLERS: [&str; 17] = [
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl",
    "wget",
    "python-",
    "httpclient",
    "go-http-client",
    "java/",
    "libwww",
    "okhttp",
    "scrapy",
    "headless",
    "phantomjs",
    "axios",
    "node-fetch",
];

/// The address an anonymous visit is counted for: IPv4 as it is, IPv6 by its /64 (one host
/// usually holds a whole /64, so counting single addresses would let it count as millions of
/// readers).
pub fn visitor_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(std::net::Ipv6Addr::from(network))
            }
        },
        v4 => v4,
    }
}

/// A request that does not count as a visit: no User-Agent, or an obvious crawler's.
pub fn is_crawler(user_agent: Option<&str>) -> bool {
    match user_agent.map(str::trim) {
        None | Some("") => true,
        Some(agent) => {
            let agent = agent.to_ascii_lowercase();
            CRAWLERS.iter().any(|fragment| agent.contains(fragment))
        }
    }
}

/// Folds the visits gathered in Redis into `book.visit_count` (cron, every
/// `library.visit_flush_interval_secs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitFlushJob {
    pub job_id: JobId,
    /// Nobody: the schedule.
    #[serde(with = "crate::ids::number")]
    pub requested_by: UserId,
    pub enqueued_at_ms: i64,
}

payload!(VisitFlushJob, Kind::VisitFlush, requested_by);

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flushed {
    /// The batches handled, one per shard that had visits, in shard order.
    pub batches: Vec<String>,
    pub books: u64,
    pub visits: u64,
    /// Those of them an earlier run had applied before dying ahead of deleting their key.
    pub already_applied: Vec<String>,
}

pub async fn run(
    pool: &MySqlPool,
    redis: &mut RedisConn,
    prefix: &str,
    job: &VisitFlushJob,
) -> anyhow::Result<Done> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok(done);
    }
    let flushed = flush(pool, redis, prefix).await?;
    let view = JobView::succeeded(&job.job_id, Kind::VisitFlush, json!(flushed));
    Ok(outcome::record(pool, view, job.requested_by, 1).await?)
}

/// One flush: every shard's unfinished batch, else its pending counts, into MySQL (see the
/// module).
pub async fn flush(
    pool: &MySqlPool,
    redis: &mut RedisConn,
    prefix: &str,
) -> anyhow::Result<Flushed> {
    let mut flushed = Flushed::default();
    for shard in 0..VISIT_SHARDS {
        let Some(batch) = flush_shard(pool, redis, prefix, shard).await? else {
            continue;
        };
        flushed.books += batch.counts.len() as u64;
        flushed.visits += batch.counts.iter().map(|(_, n)| *n as u64).sum::<u64>();
        if !batch.applied {
            flushed.already_applied.push(batch.id.clone());
        }
        flushed.batches.push(batch.id);
    }
    forget_old_batches(pool).await?;
    Ok(flushed)
}

/// One shard's flushed batch.
struct ShardBatch {
    id: String,
    counts: Vec<(BookId, i64)>,
    /// False when an earlier run had applied it.
    applied: bool,
}

/// Flushes one shard; `None` when it had nothing to flush.
async fn flush_shard(
    pool: &MySqlPool,
    redis: &mut RedisConn,
    prefix: &str,
    shard: u8,
) -> anyhow::Result<Option<ShardBatch>> {
    let key = keys::visits_batch(prefix, shard);
    let fresh = ulid::Ulid::new().to_string();
    let batch: Option<String> = CLAIM
        .key(keys::visits_pending(prefix, shard))
        .key(&key)
        .arg(&fresh)
        .arg(BATCH_FIELD)
        .invoke_async(redis)
        .await?;
    let Some(batch) = batch else {
        return Ok(None);
    };
    let fields: BTreeMap<String, i64> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async::<Vec<(String, String)>>(redis)
        .await?
        .into_iter()
        .filter(|(field, _)| field != BATCH_FIELD)
        .filter_map(|(field, count)| match count.parse() {
            Ok(count) => Some((field, count)),
            Err(_) => {
                tracing::error!(%field, %count, "a visit count that is not a number; dropped");
                None
            }
        })
        .collect();
    // Ascending ids: every writer of book rows locks them in the same order.
    let mut counts: Vec<(BookId, i64)> = fields
        .into_iter()
        .filter_map(|(field, count)| match field.parse::<BookId>() {
            Ok(book_id) if count > 0 => Some((book_id, count)),
            _ => None,
        })
        .collect();
    counts.sort_unstable();
    let applied = apply(pool, &batch, &counts).await?;
    let _: i64 = FINISH
        .key(&key)
        .arg(&batch)
        .arg(BATCH_FIELD)
        .invoke_async(redis)
        .await?;
    Ok(Some(ShardBatch {
        id: batch,
        counts,
        applied,
    }))
}

/// The batch's counts and its id in one transaction; false when the id was already there.
async fn apply(pool: &MySqlPool, batch: &str, counts: &[(BookId, i64)]) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO visit_batch (batch_id, books, visits, create_time) VALUES (?, ?, ?, ?)",
    )
    .bind(batch)
    .bind(counts.len() as i64)
    .bind(counts.iter().map(|(_, n)| n).sum::<i64>())
    .bind(clock::now())
    .execute(&mut *tx)
    .await;
    match recorded {
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => return Ok(false),
        other => other?,
    };
    for chunk in counts.chunks(CHUNK) {
        let mut update = QueryBuilder::<MySql>::new("UPDATE book b JOIN (");
        let mut rows = update.separated(" UNION ALL ");
        for (book_id, count) in chunk {
            rows.push("SELECT ")
                .push_bind_unseparated(*book_id)
                .push_unseparated(" AS id, ")
                .push_bind_unseparated(*count)
                .push_unseparated(" AS n");
        }
        update.push(") x ON b.id = x.id SET b.visit_count = b.visit_count + x.n");
        update.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn forget_old_batches(pool: &MySqlPool) -> sqlx::Result<()> {
    let before = clock::now() - Days::new(KEEP_BATCHES_DAYS);
    sqlx::query("DELETE FROM visit_batch WHERE create_time < ? LIMIT 1000")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_visitor_counts_by_its_64_and_an_ipv4_one_by_its_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(visitor_address(a), visitor_address(b));
        assert_ne!(visitor_address(a), visitor_address(other));
        assert_eq!(visitor_address(a).to_string(), "2001:db8:1:2::");
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(visitor_address(v4), v4);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(visitor_address(mapped), v4);
    }

    #[test]
    fn browsers_count_and_crawlers_scripts_and_blank_agents_do_not() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert!(!is_crawler(Some(firefox)));
        for agent in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Baiduspider",
            "curl/8.5.0",
            "python-requests/2.31",
            "Mozilla/5.0 HeadlessChrome/131.0",
            "  ",
        ] {
            assert!(is_crawler(Some(agent)), "{agent}");
        }
        assert!(is_crawler(None));
    }
}
