use apalis_core::worker::context::WorkerContext;
use redis::aio::ConnectionLike;

use crate::{Config, error::Error, queries::current_timestamp};

pub(crate) async fn register_worker<Conn>(
    conn: &mut Conn,
    worker: &WorkerContext,
    config: &Config,
) -> Result<(), Error>
where
    Conn: ConnectionLike,
{
    let register_worker = redis::Script::new(include_str!("../../lua/register_worker.lua"));
    let workers_set = config.workers_set();

    let metadata_key = config.worker_metadata_key(worker);

    let now = current_timestamp();

    register_worker
        .key(workers_set)
        .key(metadata_key)
        .arg(now)
        .arg(worker.name())
        .arg(config.orphaned_duration().as_secs())
        .arg("RedisStorage")
        .arg(worker.get_service())
        .invoke_async::<()>(conn)
        .await?;
    // Register as a queue if missing. Its own command, not part of the script: the list is a
    // global key, in another slot than the queue's on a Redis Cluster. Only apalis-board reads
    // it, so a failure (its node failing over) must not keep the worker from registering.
    let listed = redis::cmd("ZADD")
        .arg("core:apalis:queues:list")
        .arg("GT")
        .arg(now)
        .arg(config.workers_set())
        .query_async::<()>(conn)
        .await;
    if let Err(error) = listed {
        tracing::warn!(%error, "could not list the queue in core:apalis:queues:list");
    }
    Ok(())
}
