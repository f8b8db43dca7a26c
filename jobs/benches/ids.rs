//! Prints how many ids per second one generator mints (a figure, not a pass/fail test).

use std::time::{Duration, Instant};

use jobs::ids::{EntityId, FlowId};

#[tokio::main]
async fn main() {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .expect("redis at 127.0.0.1:6379");
    let redis = jobs::redis_conn::RedisConn::Single(redis);
    let prefix = format!("bench{}", ulid::Ulid::new());
    let ids = jobs::ids::IdGenerator::start(redis, &prefix, 0, Duration::from_millis(500))
        .await
        .expect("lease");
    ids.ready().await.expect("lease usable");
    let count = 2_000_000u64;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..count {
        last = ids.next::<FlowId>().expect("minting").raw();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "ids: {count} in {seconds:.3} s = {:.0} ids/s (last {last})",
        count as f64 / seconds
    );
    ids.shutdown().await;
}
