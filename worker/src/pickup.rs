//! How an idle consumer looks for new jobs: a tick every `jobs.poll_interval_ms`.
//!
//! apalis's own `IntervalStrategy` re-arms its timer after a tick without polling it, so no waker
//! is registered: when that tick finds the queue empty, nothing wakes the consumer again until
//! its next heartbeat (measured: pickups waiting up to a whole heartbeat). This strategy always
//! leaves a registered timer behind.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Sleep};

pub struct Ticks {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Ticks {
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            timer: Box::pin(tokio::time::sleep(interval)),
        }
    }
}

impl PollStrategy for Ticks {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.timer.as_mut().reset(Instant::now() + self.interval);
        // Polling the fresh timer registers this task's waker for the next tick.
        let _ = self.timer.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn after_every_tick_a_wake_up_for_the_next_one_is_armed() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ticks = Ticks::every(Duration::from_millis(5));
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
}
