//! What a run measured: completed purchases (or recharges), latencies, errors, and the jobs to
//! audit.

use std::time::{Duration, Instant};

use jobs::job::JobId;

#[derive(Debug, Default)]
pub struct Sample {
    pub completed: usize,
    pub elapsed: Duration,
    /// POST → 202 (end to end only); for a recharge, the webhook's delivery → its 200.
    pub enqueue: Vec<Duration>,
    /// Start of the purchase (of the webhook's delivery) → its job's terminal result.
    pub completion: Vec<Duration>,
    /// Requests that failed (retried ones included, during chaos).
    pub errors: usize,
    /// When each of them failed (the failover bench measures unavailability from them).
    pub failed_at: Vec<Instant>,
    /// Every accepted job with the terminal status the client saw (`None`: never saw one).
    pub jobs: Vec<(JobId, Option<String>)>,
}

impl Sample {
    pub fn merge(&mut self, other: Sample) {
        self.completed += other.completed;
        self.enqueue.extend(other.enqueue);
        self.completion.extend(other.completion);
        self.errors += other.errors;
        self.failed_at.extend(other.failed_at);
        self.jobs.extend(other.jobs);
    }

    /// Counts a failed request, and when it failed.
    pub fn failed(&mut self) {
        self.errors += 1;
        self.failed_at.push(Instant::now());
    }

    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn line(&self, label: &str, words: &Words) -> String {
        let mut line = format!(
            "{label:<22} {:>9.1} {}  ({} in {:.1} s)",
            self.throughput(),
            words.rate,
            self.completed,
            self.elapsed.as_secs_f64()
        );
        if !self.enqueue.is_empty() {
            line += &format!(
                "  {} p50 {} p99 {}",
                words.accepted,
                ms(percentile(&self.enqueue, 50.0)),
                ms(percentile(&self.enqueue, 99.0))
            );
        }
        line += &format!(
            "  {} p50 {} p99 {}",
            words.done,
            ms(percentile(&self.completion, 50.0)),
            ms(percentile(&self.completion, 99.0))
        );
        if self.errors > 0 {
            line += &format!("  errors {}", self.errors);
        }
        line
    }
}

/// How a line names what it measured.
pub struct Words {
    rate: &'static str,
    /// `enqueue`.
    accepted: &'static str,
    /// `completion`.
    done: &'static str,
}

pub const PURCHASES: Words = Words {
    rate: "purchases/s",
    accepted: "enqueue",
    done: "completion",
};

/// The webhook's answer, and its delivery until the order is seen paid.
pub const RECHARGES: Words = Words {
    rate: "recharges/s",
    accepted: "webhook",
    done: "paid",
};

/// A read (page or API GET): its round trip.
pub const READS: Words = Words {
    rate: "requests/s",
    accepted: "enqueue",
    done: "latency",
};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentile; zero for no data.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The middle value (the mean of the two middle ones for an even count); zero for none.
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median([0.9, 0.4, 0.5].into_iter()), 0.5);
        assert_eq!(median([0.6, 0.4, 0.5, 0.3].into_iter()), 0.45);
        assert_eq!(median(std::iter::empty()), 0.0);
    }
}
