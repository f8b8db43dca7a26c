//! Where things live in Redis: the keys that one script, transaction or pipeline touches
//! together share a hash tag (`{…}`), so on a Redis Cluster they sit in one slot. On one server
//! the tags are just part of the name. Every deployment's keys start with its prefix, tagged
//! (`{<prefix>:…}…`) or not (`<prefix>:…`, keys always used alone).

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
}
