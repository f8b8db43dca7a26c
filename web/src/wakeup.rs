//! Wakes long-polls when a worker publishes a job's terminal result (Redis pub/sub), so a poll
//! answers as soon as the result is there instead of on its next backoff tick. Only a hint:
//! polls still re-read Redis on their backoff, so a lost message or a dropped connection
//! costs latency, never an answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use jobs::config::RedisSettings;

/// Job id → its waiters' notifier and how many polls share it.
type Waiting = HashMap<String, (Arc<Notify>, usize)>;

#[derive(Clone, Default)]
pub struct Wakeups {
    waiting: Arc<Mutex<Waiting>>,
}

/// One poll's interest in a job; unregisters on drop.
pub struct Watch {
    wakeups: Wakeups,
    job_id: String,
    pub notify: Arc<Notify>,
}

impl Wakeups {
    /// Listens on the deployment's "job done" channel, reconnecting after errors.
    pub fn start(settings: &RedisSettings) -> Self {
        let wakeups = Self::default();
        let listener = wakeups.clone();
        let url = settings.url.expose_secret().to_owned();
        let channel = jobs::job::done_channel(&settings.prefix);
        tokio::spawn(async move {
            loop {
                if let Err(error) = listener.listen(&url, &channel).await {
                    tracing::warn!(%error, "job wake-up channel lost; polls fall back to backoff");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        wakeups
    }

    async fn listen(&self, url: &str, channel: &str) -> redis::RedisResult<()> {
        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(job_id) = message.get_payload::<String>() else {
                continue;
            };
            let notify = self
                .waiting
                .lock()
                .expect("poisoned")
                .get(&job_id)
                .map(|(notify, _)| notify.clone());
            if let Some(notify) = notify {
                notify.notify_waiters();
            }
        }
        Ok(())
    }

    pub fn watch(&self, job_id: &str) -> Watch {
        let mut waiting = self.waiting.lock().expect("poisoned");
        let entry = waiting
            .entry(job_id.to_owned())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        Watch {
            wakeups: self.clone(),
            job_id: job_id.to_owned(),
            notify: entry.0.clone(),
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
