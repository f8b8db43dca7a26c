//! Where things live in Redis: the keys that one script, transaction or pipeline touches
//! together share a hash tag (`{…}`), so on a Redis Cluster they sit in one slot. On one server
//! the tags are just part of the name. Every deployment's keys start with its prefix, tagged
//! (`{<prefix>:…}…`) or not (`<prefix>:…`, keys always used alone).

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::ids::{BookId, EntityId, UserId};
use crate::job::{JobId, Kind};
use crate::visits::Reader;

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

// --- Sessions, login limits, visits ---

/// Session partitions: an account's session keys live under one of 16 hash tags.
pub const SESSION_PARTS: u8 = 16;

/// The session partition of an account: the first hex digit of its SHA-256.
pub fn session_part(account: &str) -> u8 {
    Sha256::digest(account.as_bytes())[0] >> 4
}

/// The session partition a token key (hex SHA-256 of the token) names: its first hex digit.
/// Tokens are drawn so that it equals the partition of their account; a key that is not hex
/// (none is) falls in partition 0.
pub fn session_part_of_key(key: &str) -> u8 {
    key.chars()
        .next()
        .and_then(|digit| digit.to_digit(16))
        .map_or(0, |digit| digit as u8)
}

/// The keys of one session partition (`{<prefix>:s<K>}…`): everything the session scripts and
/// transactions of its accounts touch together.
pub struct SessionKeys {
    tag: String,
}

impl SessionKeys {
    /// Partition `part` (0..[`SESSION_PARTS`]).
    pub fn part(prefix: &str, part: u8) -> Self {
        Self {
            tag: format!("{{{prefix}:s{part}}}"),
        }
    }

    /// The partition of `account`.
    pub fn of_account(prefix: &str, account: &str) -> Self {
        Self::part(prefix, session_part(account))
    }

    /// The partition a session's token key names.
    pub fn of_key(prefix: &str, key: &str) -> Self {
        Self::part(prefix, session_part_of_key(key))
    }

    /// The session hash stored under the token's SHA-256.
    pub fn token(&self, key: &str) -> String {
        format!("{}:sess:tok:{key}", self.tag)
    }

    /// The replaced CSRF tokens of that session still in their grace period.
    pub fn csrf(&self, key: &str) -> String {
        format!("{}:sess:csrf:{key}", self.tag)
    }

    /// The account's one live session (its token key).
    pub fn account(&self, account: &str) -> String {
        format!("{}:sess:acct:{account}", self.tag)
    }

    /// The partition's activity set (account → last activity ms).
    pub fn active(&self) -> String {
        format!("{}:sess:active", self.tag)
    }

    /// The partition's expiry set (account → when its session expires unless used again).
    pub fn expiry(&self) -> String {
        format!("{}:sess:expiry", self.tag)
    }
}

/// Failed logins of an account in the current window (used alone).
pub fn login_failures_of_account(prefix: &str, account: &str) -> String {
    format!("{prefix}:login:fail:acct:{account}")
}

/// Failed logins from a client address in the current window (used alone).
pub fn login_failures_of_ip(prefix: &str, ip: IpAddr) -> String {
    format!("{prefix}:login:fail:ip:{ip}")
}

/// Registrations from a client address in the current hour (used alone).
pub fn registrations_of_ip(prefix: &str, ip: IpAddr) -> String {
    format!("{prefix}:register:ip:{ip}")
}

/// Visit shards: a book's visit keys live under one of 16 hash tags (`book id % 16`).
pub const VISIT_SHARDS: u8 = 16;

/// The visit shard of a book.
pub fn visit_shard(book_id: BookId) -> u8 {
    book_id.raw().rem_euclid(i64::from(VISIT_SHARDS)) as u8
}

fn visit_tag(prefix: &str, shard: u8) -> String {
    format!("{{{prefix}:v{shard}}}")
}

/// Marks that `reader` was counted for the book in the current window.
pub fn visit_seen(prefix: &str, book_id: BookId, reader: Reader) -> String {
    let tag = visit_tag(prefix, visit_shard(book_id));
    match reader {
        Reader::User(user_id) => format!("{tag}:visits:seen:{book_id}:u:{user_id}"),
        Reader::Ip(ip) => format!("{tag}:visits:seen:{book_id}:ip:{ip}"),
    }
}

/// The shard's counts waiting for the flush (book id → visits).
pub fn visits_pending(prefix: &str, shard: u8) -> String {
    format!("{}:visits:pending", visit_tag(prefix, shard))
}

/// The shard's batch being flushed.
pub fn visits_batch(prefix: &str, shard: u8) -> String {
    format!("{}:visits:batch", visit_tag(prefix, shard))
}

// --- Job partitions ---

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

/// The `jobs.partitions` the deployment's processes run with (read alone, at their start).
pub fn partitions_in_use(prefix: &str) -> String {
    format!("{prefix}:config:partitions")
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

    #[test]
    fn the_keys_of_a_session_partition_share_a_slot() {
        for prefix in ["novel", "t01JEXAMPLE"] {
            for account in ["alice", "bob", "user_07", "管理员"] {
                let keys = SessionKeys::of_account(prefix, account);
                let key = format!("{:x}", Sha256::digest(account.as_bytes()));
                assert_eq!(session_part_of_key(&key), session_part(account));
                // RESOLVE, END, DROP_STALE, PRUNE and create's transaction.
                one_slot(&[
                    keys.token(&key),
                    keys.csrf(&key),
                    keys.account(account),
                    keys.active(),
                    keys.expiry(),
                    SessionKeys::of_key(prefix, &key).token(&key),
                ]);
            }
        }
        let parts: std::collections::BTreeSet<u8> = (0..200)
            .map(|n| session_part(&format!("user_{n}")))
            .collect();
        assert_eq!(
            parts.len(),
            usize::from(SESSION_PARTS),
            "every partition is used"
        );
    }

    #[test]
    fn the_keys_of_a_visit_shard_share_a_slot() {
        for raw in [0, 7, 16, 23, 1_234_567_890_123] {
            let book = BookId::from_raw(raw);
            let shard = visit_shard(book);
            assert_eq!(i64::from(shard), raw % 16);
            // COUNT, then CLAIM and FINISH.
            one_slot(&[
                visit_seen("novel", book, Reader::User(UserId::from_raw(9))),
                visit_seen("novel", book, Reader::Ip("10.0.0.1".parse().unwrap())),
                visits_pending("novel", shard),
                visits_batch("novel", shard),
            ]);
        }
    }

    #[test]
    fn a_signed_in_reader_and_an_address_have_separate_windows() {
        let book: BookId = "7".parse().unwrap();
        let user = Reader::User("9".parse().unwrap());
        let ip = Reader::Ip("10.0.0.1".parse().unwrap());
        assert_eq!(visit_seen("p", book, user), "{p:v7}:visits:seen:7:u:9");
        assert_eq!(
            visit_seen("p", book, ip),
            "{p:v7}:visits:seen:7:ip:10.0.0.1"
        );
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
