//! The ceiling: the worker's purchase transaction (`jobs::purchase::run`) straight against
//! MySQL from `concurrency` tasks, no HTTP and no queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobs::db::Db;
use jobs::job::Kind;
use jobs::purchase::Order;

use crate::setup::{Fixture, Pick, pick};
use crate::stats::Sample;
use jobs::job::JobId;

pub async fn run(
    fixture: &Fixture,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    // The pool is as large as the concurrency: nothing but MySQL limits the ceiling.
    let mut database = fixture.settings.database.clone();
    database.max_connections = concurrency as u32;
    let db = Db::connect(&database, &fixture.settings.sharding)?;
    let pool = db.main.clone();
    let chapters = Arc::new(fixture.chapters.clone());
    let retries = fixture.settings.database.deadlock_retries;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for n in 0..concurrency {
        let (pool, ids, chapters) = (pool.clone(), fixture.ids.clone(), chapters.clone());
        let user_id = fixture.readers[n % fixture.readers.len()].id;
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            while Instant::now() < deadline {
                let job_id = JobId::new();
                let (kind, index_ids) = match pick(&chapters) {
                    Pick::One(id) => (Kind::Purchase, vec![id]),
                    Pick::Many(mut ids) => {
                        ids.sort_unstable();
                        (Kind::BatchPurchase, ids)
                    }
                };
                let order = Order {
                    job_id: &job_id,
                    user_id,
                    kind,
                    index_ids,
                    max_spent: None,
                };
                let begun = Instant::now();
                match jobs::purchase::run(&pool, &ids, &order, 1, retries).await {
                    Ok(done) => {
                        sample.completion.push(begun.elapsed());
                        sample.completed += 1;
                        let status = format!("{:?}", done.view.status).to_lowercase();
                        sample.jobs.push((job_id, Some(status)));
                    }
                    Err(error) => {
                        eprintln!("direct purchase failed: {error:#}");
                        sample.failed();
                    }
                }
            }
            sample
        }));
    }
    let mut total = Sample::default();
    for task in tasks {
        total.merge(task.await?);
    }
    total.elapsed = started.elapsed();
    db.close().await;
    Ok(total)
}
