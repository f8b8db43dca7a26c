//! When an idle consumer looks for new jobs: at once when a push is announced on the queue's
//! pub/sub channel, and otherwise on a tick every `jobs.poll_interval_ms` (the fallback for a
//! lost message, a dropped subscription and retries coming due).
//!
//! apalis's own `IntervalStrategy` re-arms its timer after a tick without polling it, so no waker
//! is registered: when that tick finds the queue empty, nothing wakes the consumer again until
//! its next heartbeat (measured: pickups waiting up to a whole heartbeat). This strategy always
//! leaves a registered timer behind.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use futures::StreamExt;
use futures::task::AtomicWaker;
use tokio::time::{Instant, Sleep};

/// After an announced push, one more look this soon: a push announced while a fetch was already
/// in flight may have missed that fetch.
const RECHECK: Duration = Duration::from_millis(5);

/// Set by the subscription when a push is announced; wakes the consumer that waits on it.
#[derive(Default)]
pub struct Announced {
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl Announced {
    pub fn signal(&self) {
        self.pending.store(true, Ordering::Release);
        self.waker.wake();
    }
}

pub struct Ticks {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
    announced: Arc<Announced>,
}

impl Ticks {
    pub fn every(interval: Duration, announced: Arc<Announced>) -> Self {
        Self {
            interval,
            timer: Box::pin(tokio::time::sleep(interval)),
            announced,
        }
    }

    fn arm(&mut self, cx: &mut Context<'_>, after: Duration) {
        self.timer.as_mut().reset(Instant::now() + after);
        // Polling the fresh timer registers this task's waker for it.
        let _ = self.timer.as_mut().poll(cx);
    }
}

impl PollStrategy for Ticks {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        self.announced.waker.register(cx.waker());
        if self.announced.pending.swap(false, Ordering::AcqRel) {
            self.arm(cx, RECHECK.min(self.interval));
            return Poll::Ready(Some(()));
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.arm(cx, self.interval);
        Poll::Ready(Some(()))
    }
}

/// Subscribes to each queue's announcement channel (`jobs::job::queue::announce_channel`) and signals
/// that queue's consumer; reconnects after errors, to the next of `urls` (a cluster's seed
/// nodes: a message published on any node reaches subscribers on every node).
pub fn listen(urls: Vec<String>, channels: HashMap<String, Arc<Announced>>) {
    tokio::spawn(async move {
        for url in urls.iter().cycle() {
            if let Err(error) = subscribe(url, &channels).await {
                tracing::warn!(%error, "push announcements lost; pickups fall back to ticks");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn subscribe(
    url: &str,
    channels: &HashMap<String, Arc<Announced>>,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    for channel in channels.keys() {
        pubsub.subscribe(channel).await?;
    }
    // Pushes made while unsubscribed were not announced.
    channels.values().for_each(|a| a.signal());
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        if let Some(announced) = channels.get(message.get_channel_name()) {
            announced.signal();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn context() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        (count, waker)
    }

    #[tokio::test]
    async fn after_every_tick_a_wake_up_for_the_next_one_is_armed() {
        let (count, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let mut ticks = Ticks::every(Duration::from_millis(5), Arc::default());
        let snapshot = PollSnapshot::default();
        assert!(ticks.poll_drive(&mut cx, &snapshot).is_pending());
        for expected in 1..=3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(
                count.0.load(Ordering::SeqCst),
                expected,
                "woken for tick {expected}"
            );
            assert!(ticks.poll_drive(&mut cx, &snapshot).is_ready());
        }
    }

    #[tokio::test]
    async fn an_announced_push_wakes_at_once_and_looks_again_soon_after() {
        let (count, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let announced = Arc::new(Announced::default());
        let mut ticks = Ticks::every(Duration::from_secs(3600), announced.clone());
        let snapshot = PollSnapshot::default();
        assert!(ticks.poll_drive(&mut cx, &snapshot).is_pending());
        announced.signal();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken by the signal");
        assert!(ticks.poll_drive(&mut cx, &snapshot).is_ready());
        assert!(ticks.poll_drive(&mut cx, &snapshot).is_pending());
        tokio::time::sleep(RECHECK * 4).await;
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "woken for the re-check");
        assert!(ticks.poll_drive(&mut cx, &snapshot).is_ready());
        assert!(
            ticks.poll_drive(&mut cx, &snapshot).is_pending(),
            "then the long tick"
        );
    }
}
