//! This worker's purchase jobs committed together: each handler hands its order over and waits
//! for its own outcome, and a committer takes every order waiting (up to `jobs.batch_size`) into
//! one transaction (`jobs::purchase::group`), publishing the group's `running` statuses while it
//! runs and its outcomes after, in one Redis round trip each. An order that finds a committer idle
//! runs at once, alone; under load the orders that queue up meanwhile share the next group.

use std::sync::Arc;

use jobs::coins::Coins;
use jobs::db::Db;
use jobs::ids::{ChapterId, IdGenerator, UserId};
use jobs::job::{Done, JobId, JobView, Kind, Status, StatusStore};
use jobs::purchase::Order;
use jobs::purchase::group::{self, Member};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Transactions in flight per worker: one runs while the next group gathers.
const COMMITTERS: usize = 2;

struct Waiting {
    job_id: JobId,
    user_id: UserId,
    kind: Kind,
    index_ids: Vec<ChapterId>,
    max_spent: Option<Coins>,
    attempt: i32,
    reply: oneshot::Sender<anyhow::Result<Done>>,
}

#[derive(Clone)]
pub struct Purchases {
    orders: mpsc::Sender<Waiting>,
}

impl Purchases {
    pub fn start(committer: Committer, group_size: usize) -> Self {
        let (orders, waiting) = mpsc::channel(group_size.max(1) * COMMITTERS * 4);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..COMMITTERS {
            tokio::spawn(commit(
                waiting.clone(),
                committer.clone(),
                group_size.max(1),
            ));
        }
        Self { orders }
    }

    /// Runs `order` in the next group transaction; its own outcome.
    pub async fn run(&self, order: Order<'_>, attempt: i32) -> anyhow::Result<Done> {
        let (reply, outcome) = oneshot::channel();
        let waiting = Waiting {
            job_id: order.job_id.clone(),
            user_id: order.user_id,
            kind: order.kind,
            index_ids: order.index_ids,
            max_spent: order.max_spent,
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

/// What a committer works with.
#[derive(Clone)]
pub struct Committer {
    pub db: Db,
    pub ids: IdGenerator,
    pub status: StatusStore,
    pub retries: u32,
}

async fn commit(waiting: Arc<Mutex<mpsc::Receiver<Waiting>>>, with: Committer, group_size: usize) {
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
        let index_ids: Vec<Vec<ChapterId>> = group
            .iter_mut()
            .map(|w| std::mem::take(&mut w.index_ids))
            .collect();
        let members: Vec<Member> = group
            .iter()
            .zip(index_ids)
            .map(|(w, index_ids)| Member {
                order: Order {
                    job_id: &w.job_id,
                    user_id: w.user_id,
                    kind: w.kind,
                    index_ids,
                    max_spent: w.max_spent,
                },
                attempt: w.attempt,
            })
            .collect();
        metrics::histogram!(jobs::metrics::PURCHASE_GROUP).record(group.len() as f64);
        let running: Vec<JobView> = group
            .iter()
            .map(|w| JobView::new(&w.job_id, w.kind, Status::Running))
            .collect();
        // `running` is written while the transaction runs, not a round trip before it: it only
        // replaces `queued`, so it can never overwrite the outcomes published after both.
        let publish_running = async {
            if let Err(error) = with.status.running(&running).await {
                tracing::warn!(%error, "could not publish running statuses");
            }
        };
        let ((), mut outcomes) = tokio::join!(
            publish_running,
            group::run(&with.db.main, &with.ids, &members, with.retries)
        );
        drop(members);
        let finished: Vec<(&JobView, UserId)> = group
            .iter()
            .zip(&outcomes)
            .filter_map(|(w, outcome)| Some((&outcome.as_ref().ok()?.view, w.user_id)))
            .collect();
        if let Err(error) = with.status.terminal(&finished).await {
            // Each job is retried; the retry finds its committed outcome and publishes it.
            let error = error.to_string();
            for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
                *outcome = Err(anyhow::anyhow!("publishing the outcome: {error}"));
            }
        }
        for (w, outcome) in group.into_iter().zip(outcomes) {
            let _ = w.reply.send(outcome);
        }
    }
}
