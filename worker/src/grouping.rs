//! This worker's purchase jobs committed together: each handler hands its order over and waits
//! for its own outcome, and a committer takes every order waiting (up to `jobs.batch_size`) into
//! one transaction (`jobs::purchase_group`). An order that finds a committer idle runs at once,
//! alone; under load the orders that queue up meanwhile share the next transaction.

use std::sync::Arc;

use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::Kind;
use jobs::purchase::{Done, Order};
use jobs::purchase_group::{self, Member};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Transactions in flight per worker: one runs while the next group gathers.
const COMMITTERS: usize = 2;

struct Waiting {
    job_id: String,
    user_id: i64,
    kind: Kind,
    index_ids: Vec<i64>,
    attempt: i32,
    reply: oneshot::Sender<anyhow::Result<Done>>,
}

#[derive(Clone)]
pub struct Purchases {
    orders: mpsc::Sender<Waiting>,
}

impl Purchases {
    pub fn start(db: Db, ids: IdGenerator, group_size: usize, retries: u32) -> Self {
        let (orders, waiting) = mpsc::channel(group_size.max(1) * COMMITTERS * 4);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..COMMITTERS {
            let (waiting, db, ids) = (waiting.clone(), db.clone(), ids.clone());
            tokio::spawn(commit(waiting, db, ids, group_size.max(1), retries));
        }
        Self { orders }
    }

    /// Runs `order` in the next group transaction; its own outcome.
    pub async fn run(&self, order: Order<'_>, attempt: i32) -> anyhow::Result<Done> {
        let (reply, outcome) = oneshot::channel();
        let waiting = Waiting {
            job_id: order.job_id.to_owned(),
            user_id: order.user_id,
            kind: order.kind,
            index_ids: order.index_ids,
            attempt,
            reply,
        };
        self.orders
            .send(waiting)
            .await
            .map_err(|_| anyhow::anyhow!("purchase committers stopped"))?;
        outcome
            .await
            .map_err(|_| anyhow::anyhow!("purchase committer gone"))?
    }
}

async fn commit(
    waiting: Arc<Mutex<mpsc::Receiver<Waiting>>>,
    db: Db,
    ids: IdGenerator,
    group_size: usize,
    retries: u32,
) {
    loop {
        let mut group = Vec::with_capacity(group_size);
        {
            let mut waiting = waiting.lock().await;
            match waiting.recv().await {
                Some(first) => group.push(first),
                None => return,
            }
            while group.len() < group_size {
                match waiting.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
        }
        let members: Vec<Member> = group
            .iter()
            .map(|w| Member {
                order: Order {
                    job_id: &w.job_id,
                    user_id: w.user_id,
                    kind: w.kind,
                    index_ids: w.index_ids.clone(),
                },
                attempt: w.attempt,
            })
            .collect();
        let outcomes = purchase_group::run(&db.main, &ids, &members, retries).await;
        drop(members);
        for (w, outcome) in group.into_iter().zip(outcomes) {
            let _ = w.reply.send(outcome);
        }
    }
}
