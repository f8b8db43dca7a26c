//! Where things live in Redis: the keys that one script, transaction or pipeline touches
//! together share a hash tag (`{…}`), so on a Redis Cluster they sit in one slot. On one server
//! the tags are just part of the name. Every deployment's keys start with its prefix, tagged
//! (`{<prefix>:…}…`) or not (`<prefix>:…`, keys always used alone).

use crate::ids::{EntityId, UserId};
use crate::job::{JobId, Kind};

/// The id lease of `(datacenter, machine)`: held by one process at a time.
pub fn id_lease(prefix: &str, datacenter: u8, machine: u8) -> String {
    format!("{}:lease", id_tag(prefix, datacenter, machine))
}

/// The last millisecond minted under that lease, and whether it was released cleanly.
pub fn id_last(prefix: &str, datacenter: u8, machine: u8) -> String {
    format!("{}:last", id_tag(prefix, datacenter, machine))
}

fn id_tag(prefix: &str, datacenter: u8, machine: u8) -> String {
    format!("{{{prefix}:ids:{datacenter}:{machine}}}")
}

// Job partitions: a job's queue, status and announcements, and its owner's admission (rate
// bucket, `Idempotency-Key` claim) carry the tag of the job's partition, `{<prefix>:p<N>}`,
// so the submit script, the terminal transaction and apalis's own scripts each touch one slot.

/// The partition of `user`'s jobs among `partitions`: a well-mixed hash of the id (ids are
/// time-ordered, so their low bits are not), modulo the count.
pub fn partition_of_user(user: UserId, partitions: u16) -> u16 {
    // splitmix64's finaliser.
    let mut z = user.raw() as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % u64::from(partitions.max(1))) as u16
}

/// The apalis queue of `kind` in `partition`: apalis derives every key of a queue from its name
/// (`<name>:active`, `<name>:meta:<id>`, …), so they all carry the partition's tag.
pub fn job_queue(prefix: &str, partition: u16, kind: Kind) -> String {
    format!("{}:q:{}", job_tag(prefix, partition), kind.as_str())
}

/// A job's status hash, in the partition its id names.
pub fn job_status(prefix: &str, job_id: &JobId) -> String {
    format!("{}:job:{job_id}", job_tag(prefix, job_id.partition()))
}

/// The channel the terminal views of `partition`'s jobs are published on: in their statuses'
/// slot, since a transaction publishes them with the statuses it writes.
pub fn jobs_done(prefix: &str, partition: u16) -> String {
    format!("{}:jobs:done", job_tag(prefix, partition))
}

/// `user`'s enqueue token bucket, next to the jobs it admits in `partition`.
pub fn enqueue_bucket(prefix: &str, partition: u16, user: UserId) -> String {
    format!("{}:rl:enqueue:{user}", job_tag(prefix, partition))
}

/// `user`'s claim of an `Idempotency-Key`, next to the jobs it admits in `partition`.
pub fn idempotency_claim(prefix: &str, partition: u16, user: UserId, key: &str) -> String {
    format!("{}:idem:{user}:{key}", job_tag(prefix, partition))
}

fn job_tag(prefix: &str, partition: u16) -> String {
    format!("{{{prefix}:p{partition}}}")
}

/// The patterns that match every key of a deployment (for SCAN: tests, the bench, tools).
pub fn all_patterns(prefix: &str) -> [String; 2] {
    [format!("{prefix}:*"), format!("{{{prefix}:*")]
}

/// The cluster slot of `key` (CRC16 of its hash tag, or of the whole key without one), as the
/// server computes it.
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match key.find('{') {
        Some(open) => match key[open + 1..].find('}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) % 16384
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys one script touches together hash to one slot (the cluster refuses it otherwise).
    #[track_caller]
    fn one_slot(keys: &[String]) {
        let slots: Vec<u16> = keys.iter().map(|k| slot(k)).collect();
        assert!(
            slots.windows(2).all(|w| w[0] == w[1]),
            "{keys:?} → {slots:?}"
        );
    }

    #[test]
    fn slots_are_the_servers() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.0.
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("{}x"), slot("{}x"));
        assert_eq!(
            slot("a{}b"),
            crc16::State::<crc16::XMODEM>::calculate(b"a{}b") % 16384
        );
    }

    #[test]
    fn a_lease_and_its_mark_share_a_slot() {
        for dc in [0, 7, 31] {
            for machine in [0, 13, 31] {
                one_slot(&[
                    id_lease("novel", dc, machine),
                    id_last("novel", dc, machine),
                ]);
            }
        }
    }
    /// What the submit script touches (`jobs::job::submit`), and what apalis's scripts touch of
    /// a queue, declared or built from a declared key (`meta:<id>`, `inflight:<worker>`,
    /// `idempotency:<key>`, `workers:metadata:<worker>`), share the job partition's slot.
    #[test]
    fn a_partitions_submit_and_queue_keys_share_a_slot() {
        for partitions in [1, 3, 7, 64] {
            for raw in [1_i64, 7, 42, 1 << 40, 7_300_000_000_000_000_000] {
                let user = UserId::from_raw(raw);
                let partition = partition_of_user(user, partitions);
                assert!(partition < partitions);
                let prefix = format!("t{}", ulid::Ulid::new());
                let id = JobId::for_partition(partition);
                assert_eq!(id.partition(), partition);
                for kind in Kind::ALL {
                    let queue = job_queue(&prefix, partition, kind);
                    let config = apalis_redis::Config::default().queue(queue.clone());
                    one_slot(&[
                        job_status(&prefix, &id),
                        config.job_data_hash(),
                        format!("{}:{id}", config.job_meta_hash()),
                        config.active_jobs_list(),
                        config.signal_list(),
                        enqueue_bucket(&prefix, partition, user),
                        idempotency_claim(&prefix, partition, user, "buy-1"),
                        jobs_done(&prefix, partition),
                        config.workers_set(),
                        format!("{}:metadata:w-1", config.workers_set()),
                        config.inflight_jobs_set(),
                        format!("{}:w-1", config.inflight_jobs_set()),
                        config.scheduled_jobs_set(),
                        config.done_jobs_set(),
                        config.failed_jobs_set(),
                        config.dead_jobs_set(),
                        format!("{}:buy-1", config.idempotency_key_set()),
                        queue,
                    ]);
                }
            }
        }
    }

    #[test]
    fn users_spread_over_every_partition() {
        let mut counts = [0u32; 6];
        for raw in 0..6000_i64 {
            // Ids as the generator mints them: time in the high bits, a sequence in the low.
            let user = UserId::from_raw((1_700_000_000_000 + raw) << 22 | (raw & 7));
            counts[usize::from(partition_of_user(user, 6))] += 1;
        }
        assert!(
            counts.iter().all(|&n| (800..1200).contains(&n)),
            "{counts:?}"
        );
        assert_eq!(partition_of_user(UserId::from_raw(12345), 1), 0);
    }
}
