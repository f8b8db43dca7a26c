//! Answers long-polls when a worker publishes a job's terminal view (Redis pub/sub), so a poll
//! answers as soon as the result is there, with the view from the message, instead of re-reading
//! Redis on its next backoff tick. Only a hint: polls still re-read Redis on their backoff, so a
//! lost message or a dropped connection costs latency, never an answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jobs::job::{JobId, JobView};
use tokio::sync::watch;

use jobs::config::RedisSettings;

/// Job id → its waiters' channel and how many polls share it.
type Waiting = HashMap<JobId, (watch::Sender<Option<JobView>>, usize)>;

#[derive(Clone, Default)]
pub struct Wakeups {
    waiting: Arc<Mutex<Waiting>>,
}

/// One poll's interest in a job; unregisters on drop. `done` changes when the job's terminal
/// view is published: to that view, or to `None` when the message did not carry one.
pub struct Watch {
    wakeups: Wakeups,
    job_id: JobId,
    pub done: watch::Receiver<Option<JobView>>,
}

impl Wakeups {
    /// Listens on the deployment's "job done" channels (one per job partition), reconnecting
    /// after errors (to the next seed node of a cluster: a message published on any node
    /// reaches every node).
    pub fn start(settings: &RedisSettings, partitions: u16) -> Self {
        let wakeups = Self::default();
        let listener = wakeups.clone();
        let urls = jobs::redis_conn::seed_urls(settings);
        let channels: Vec<String> = (0..partitions)
            .map(|partition| jobs::keys::jobs_done(&settings.prefix, partition))
            .collect();
        tokio::spawn(async move {
            for url in urls.iter().cycle() {
                if let Err(error) = listener.listen(url, &channels).await {
                    tracing::warn!(%error, "job wake-up channel lost; polls fall back to backoff");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        wakeups
    }

    async fn listen(&self, url: &str, channels: &[String]) -> redis::RedisResult<()> {
        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channels).await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            // A bare job id (an older worker's message) only wakes the polls, which re-read.
            let (job_id, view) = match serde_json::from_str::<JobView>(&payload) {
                Ok(view) => (view.job_id.clone(), Some(view)),
                Err(_) => (JobId::from(payload), None),
            };
            if let Some((done, _)) = self.waiting.lock().expect("poisoned").get(&job_id) {
                done.send_replace(view);
            }
        }
        Ok(())
    }

    pub fn watch(&self, job_id: &JobId) -> Watch {
        let mut waiting = self.waiting.lock().expect("poisoned");
        let entry = waiting
            .entry(job_id.clone())
            .or_insert_with(|| (watch::channel(None).0, 0));
        entry.1 += 1;
        Watch {
            wakeups: self.clone(),
            job_id: job_id.clone(),
            done: entry.0.subscribe(),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut waiting = self.wakeups.waiting.lock().expect("poisoned");
        if let Some(entry) = waiting.get_mut(&self.job_id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                waiting.remove(&self.job_id);
            }
        }
    }
}
