//! Snowflake ids against a real Redis: uniqueness across leases, fencing, spread over shards.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use jobs::ids::{EntityId, FlowId, IdError, IdGenerator};
use jobs::redis_conn::RedisConn;

const TTL: Duration = Duration::from_millis(500);

async fn redis() -> RedisConn {
    let settings = jobs::config::load_with("test").unwrap();
    jobs::redis_conn::connect(&settings.redis).await.unwrap()
}

fn prefix() -> String {
    format!("tids{}", ulid::Ulid::new())
}

async fn first_id(ids: &IdGenerator) -> i64 {
    let id: FlowId = ids.mint().await.expect("a lease becomes usable");
    id.raw()
}

/// One id as its snowflake bits (the generator mints every entity's ids alike).
fn next(ids: &IdGenerator) -> Result<i64, IdError> {
    ids.next::<FlowId>().map(FlowId::raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_generators_minting_200k_ids_each_never_collide() {
    let (redis, prefix) = (redis().await, prefix());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let ids = IdGenerator::start(redis.clone(), &prefix, 3, TTL)
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            first_id(&ids).await;
            let mut minted = Vec::with_capacity(200_000);
            while minted.len() < 200_000 {
                minted.push(next(&ids).unwrap());
                if minted.len() % 4096 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            let machine = ids.machine_id().unwrap();
            ids.shutdown().await;
            (machine, minted)
        }));
    }
    let mut all = HashSet::with_capacity(1_600_000);
    let mut machines = HashSet::new();
    for task in tasks {
        let (machine, minted) = task.await.unwrap();
        assert!(
            machines.insert(machine),
            "each generator holds its own machine id"
        );
        assert!(
            minted.windows(2).all(|w| w[0] < w[1]),
            "ids grow within one generator"
        );
        for id in minted {
            assert!(all.insert(id), "duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 1_600_000);
}

#[tokio::test]
async fn a_generator_whose_lease_is_stolen_stops_minting_and_releases_later() {
    let (mut redis, prefix) = (redis().await, prefix());
    let ids = IdGenerator::start(redis.clone(), &prefix, 1, TTL)
        .await
        .unwrap();
    first_id(&ids).await;
    let machine = ids.machine_id().unwrap();
    let key = jobs::keys::id_lease(&prefix, 1, machine);
    redis::cmd("SET")
        .arg(&key)
        .arg("thief")
        .exec_async(&mut redis)
        .await
        .unwrap();
    let stolen_at = Instant::now();
    while next(&ids).is_ok() {
        assert!(
            stolen_at.elapsed() < TTL * 2,
            "still minting long after the lease was stolen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(next(&ids), Err(IdError::NotLeased)));
    // It leases another machine id and, after waiting one TTL, mints again.
    let id = first_id(&ids).await;
    let new_machine = ids.machine_id().unwrap();
    assert_ne!(new_machine, machine, "the thief still holds the old one");
    assert_eq!(((id >> 12) & 31) as u8, new_machine);
    ids.shutdown().await;
}

#[tokio::test]
async fn a_generator_whose_lease_vanished_stops_minting() {
    let (mut redis, prefix) = (redis().await, prefix());
    let ids = IdGenerator::start(redis.clone(), &prefix, 2, TTL)
        .await
        .unwrap();
    first_id(&ids).await;
    let machine = ids.machine_id().unwrap();
    // As after a Redis restart without persistence, or an expiry.
    redis::cmd("DEL")
        .arg(jobs::keys::id_lease(&prefix, 2, machine))
        .exec_async(&mut redis)
        .await
        .unwrap();
    let gone_at = Instant::now();
    while next(&ids).is_ok() {
        assert!(gone_at.elapsed() < TTL * 2, "still minting without a lease");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ids.shutdown().await;
}

#[tokio::test]
async fn a_new_holder_waits_one_ttl_unless_the_last_holder_released_cleanly() {
    let (redis, prefix) = (redis().await, prefix());
    let started = Instant::now();
    let first = IdGenerator::start(redis.clone(), &prefix, 4, TTL)
        .await
        .unwrap();
    let last = first_id(&first).await;
    assert!(
        started.elapsed() >= TTL,
        "a fresh lease waits out a possible old holder"
    );
    let machine = first.machine_id().unwrap();
    first.shutdown().await;
    // Every machine id but the released one is taken, so the successor gets that one.
    take_all_but(&redis, &prefix, 4, machine).await;
    let started = Instant::now();
    let second = IdGenerator::start(redis.clone(), &prefix, 4, TTL)
        .await
        .unwrap();
    let next = first_id(&second).await;
    assert!(started.elapsed() < TTL, "a clean handover needs no wait");
    assert_eq!(second.machine_id(), Some(machine));
    assert!(
        next > last,
        "never at or before the predecessor's last millisecond"
    );
    second.shutdown().await;
}

/// Leases every machine id of `dc` except `free` to someone else.
async fn take_all_but(redis: &RedisConn, prefix: &str, dc: u8, free: u8) {
    let mut redis = redis.clone();
    for machine in (0..32).filter(|m| *m != free) {
        let key = jobs::keys::id_lease(prefix, dc, machine);
        redis::cmd("SET")
            .arg(&key)
            .arg("other")
            .arg("PX")
            .arg(60_000)
            .exec_async(&mut redis)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn ids_minted_slowly_spread_over_all_ten_shards() {
    let (redis, prefix) = (redis().await, prefix());
    let ids = IdGenerator::start(redis, &prefix, 0, TTL).await.unwrap();
    first_id(&ids).await;
    let mut shards = HashSet::new();
    for _ in 0..200 {
        shards.insert(next(&ids).unwrap() % 10);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(shards.len(), 10, "shards reached: {shards:?}");
    ids.shutdown().await;
}

/// A connection to `server` (a Redis of the test's own).
async fn connect(server: &testkit::redis_server::RedisServer) -> RedisConn {
    let client = redis::Client::open(server.url()).unwrap();
    RedisConn::Single(redis::aio::ConnectionManager::new(client).await.unwrap())
}

#[tokio::test]
async fn a_clean_release_that_a_redis_restart_brought_back_is_not_trusted() {
    let mut server = testkit::redis_server::RedisServer::start(false).unwrap();
    let redis = connect(&server).await;
    let prefix = prefix();
    let marker = jobs::keys::id_last(&prefix, 5, 9);
    take_all_but(&redis, &prefix, 5, 9).await;
    let first = IdGenerator::start(redis.clone(), &prefix, 5, TTL)
        .await
        .unwrap();
    first_id(&first).await;
    first.shutdown().await;
    let released: String = redis::AsyncCommands::get(&mut redis.clone(), &marker)
        .await
        .unwrap();
    let second = IdGenerator::start(redis.clone(), &prefix, 5, TTL)
        .await
        .unwrap();
    first_id(&second).await;
    // The server restarts having lost the second holder's writes (as an AOF missing its last
    // second would): the first holder's clean release is what it knows.
    server.crash();
    server.restart().unwrap();
    let redis = connect(&server).await;
    take_all_but(&redis, &prefix, 5, 9).await;
    let _: () = redis::AsyncCommands::set(&mut redis.clone(), &marker, &released)
        .await
        .unwrap();
    let started = Instant::now();
    let third = IdGenerator::start(redis.clone(), &prefix, 5, TTL)
        .await
        .unwrap();
    first_id(&third).await;
    assert!(
        started.elapsed() >= TTL,
        "the second holder may still be minting: wait out its lease"
    );
    assert_eq!(third.machine_id(), Some(9));
    second.shutdown().await;
    third.shutdown().await;
}
