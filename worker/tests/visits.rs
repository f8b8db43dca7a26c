//! `visit_flush`: the visit counts gathered in Redis folded into `book.visit_count`, neither lost
//! nor counted twice when a worker dies halfway.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::BookId;
use jobs::keys;
use jobs::redis_conn::RedisConn;
use jobs::visits::{self, Flushed};
use testkit::{WorkerProcess, book, prepare, settings};

/// The pending hash and the batch key of the book's shard.
struct Keys {
    pending: String,
    batch: String,
}

fn keys(settings: &Settings, book_id: BookId) -> Keys {
    let (prefix, shard) = (&settings.redis.prefix, keys::visit_shard(book_id));
    Keys {
        pending: keys::visits_pending(prefix, shard),
        batch: keys::visits_batch(prefix, shard),
    }
}

async fn add_visits(redis: &mut RedisConn, key: &str, book_id: BookId, n: i64) {
    let _: i64 = redis::cmd("HINCRBY")
        .arg(key)
        .arg(book_id.to_string())
        .arg(n)
        .query_async(redis)
        .await
        .unwrap();
}

async fn exists(redis: &mut RedisConn, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

async fn visit_count(db: &Db, book_id: BookId) -> i64 {
    sqlx::query_scalar("SELECT visit_count FROM book WHERE id = ?")
        .bind(book_id)
        .fetch_one(&db.main)
        .await
        .unwrap()
}

async fn batches(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM visit_batch")
        .fetch_one(&db.main)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flush_adds_the_counts_to_their_books_and_leaves_no_redis_key() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let prefix = settings.redis.prefix.as_str();
    let (first, _) = book(&db, &ids, &settings, 1, 1, 10).await;
    let (second, _) = book(&db, &ids, &settings, 1, 1, 10).await;
    // A book deleted since its visits were counted is skipped.
    let deleted: BookId = "999".parse().unwrap();
    let counted = [(first, 3), (second, 2), (deleted, 4)];
    for (book_id, n) in counted {
        add_visits(&mut redis, &keys(&settings, book_id).pending, book_id, n).await;
    }
    let shards: BTreeSet<u8> = counted.iter().map(|(b, _)| keys::visit_shard(*b)).collect();
    let flushed = visits::flush(&db.main, &mut redis, prefix).await.unwrap();
    assert_eq!((flushed.books, flushed.visits), (3, 9), "{flushed:?}");
    assert_eq!(flushed.batches.len(), shards.len(), "one batch per shard");
    assert!(flushed.already_applied.is_empty());
    assert_eq!(
        (
            visit_count(&db, first).await,
            visit_count(&db, second).await
        ),
        (3, 2)
    );
    for (book_id, _) in counted {
        let keys = keys(&settings, book_id);
        assert!(!exists(&mut redis, &keys.pending).await);
        assert!(!exists(&mut redis, &keys.batch).await);
    }
    assert_eq!(batches(&db).await, shards.len() as i64);
    let idle = visits::flush(&db.main, &mut redis, prefix).await.unwrap();
    assert_eq!(idle, Flushed::default(), "nothing pending, nothing done");
    add_visits(&mut redis, &keys(&settings, first).pending, first, 1).await;
    visits::flush(&db.main, &mut redis, prefix).await.unwrap();
    assert_eq!(visit_count(&db, first).await, 4);
    assert_eq!(batches(&db).await, shards.len() as i64 + 1);
}

#[tokio::test]
async fn a_batch_committed_before_a_crash_is_deleted_not_counted_again() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let prefix = settings.redis.prefix.as_str();
    let (book_id, _) = book(&db, &ids, &settings, 1, 1, 10).await;
    let keys = keys(&settings, book_id);
    // What a worker killed between its commit and its DEL leaves: the batch key of a batch
    // recorded as applied (its counts are in visit_count already).
    let batch = "01JEXAMPLEBATCH00000000000";
    let _: () = redis::cmd("HSET")
        .arg(&keys.batch)
        .arg("_batch")
        .arg(batch)
        .arg(book_id.to_string())
        .arg(5)
        .query_async(&mut redis)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO visit_batch (batch_id, books, visits, create_time) VALUES (?, 1, 5, NOW(3))",
    )
    .bind(batch)
    .execute(&db.main)
    .await
    .unwrap();
    sqlx::query("UPDATE book SET visit_count = 5 WHERE id = ?")
        .bind(book_id)
        .execute(&db.main)
        .await
        .unwrap();
    add_visits(&mut redis, &keys.pending, book_id, 2).await;
    let flushed = visits::flush(&db.main, &mut redis, prefix).await.unwrap();
    assert_eq!(flushed.batches, [batch], "the unfinished batch first");
    assert_eq!(flushed.already_applied, [batch]);
    assert_eq!(visit_count(&db, book_id).await, 5);
    assert!(!exists(&mut redis, &keys.batch).await);
    assert!(
        exists(&mut redis, &keys.pending).await,
        "the next batch waits"
    );
    visits::flush(&db.main, &mut redis, prefix).await.unwrap();
    assert_eq!(visit_count(&db, book_id).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_flush_leaves_its_batch_to_the_next_which_counts_it_once() {
    let settings = settings();
    let (db, ids) = prepare(&settings).await;
    let mut redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let (book_id, _) = book(&db, &ids, &settings, 1, 1, 10).await;
    let keys = keys(&settings, book_id);
    let every_second = [("NOVEL__LIBRARY__VISIT_FLUSH_INTERVAL_SECS", "1")];
    add_visits(&mut redis, &keys.pending, book_id, 5).await;
    // Another connection holds the book row, so the flush waits on it inside its transaction,
    // after the pending counts became its batch.
    let mut blocker = db.main.begin().await.unwrap();
    sqlx::query("SELECT id FROM book WHERE id = ? FOR UPDATE")
        .bind(book_id)
        .execute(&mut *blocker)
        .await
        .unwrap();
    let mut first = WorkerProcess::spawn_with(&settings, &every_second);
    let started = Instant::now();
    while !exists(&mut redis, &keys.batch).await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the flush never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill9();
    blocker.rollback().await.unwrap();
    assert_eq!(visit_count(&db, book_id).await, 0);
    assert_eq!(batches(&db).await, 0);
    // Readers go on meanwhile.
    add_visits(&mut redis, &keys.pending, book_id, 2).await;

    let _second = WorkerProcess::spawn_with(&settings, &every_second);
    let started = Instant::now();
    while visit_count(&db, book_id).await < 7
        || exists(&mut redis, &keys.batch).await
        || exists(&mut redis, &keys.pending).await
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not flushed: {} visits",
            visit_count(&db, book_id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more runs (the killed worker's job among them, once the reaper re-queues it)
    // change nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(visit_count(&db, book_id).await, 7);
    assert_eq!(batches(&db).await, 2);
}
