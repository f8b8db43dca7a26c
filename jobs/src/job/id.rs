//! A job's id: opaque text, a ULID for every job this system queues, with the partition of its
//! queue after it (`<ULID>-<n>`) outside partition 0.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, schema::Schema};

/// Characters of a ULID's text.
const ULID_LEN: usize = 26;

/// A job's id, as payloads, statuses, outcomes and the API carry it.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct JobId(String);

impl JobId {
    /// A fresh id (a ULID).
    pub fn new() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// A fresh id of a job queued in `partition`: a bare ULID in partition 0 (so ids look as
    /// they did before partitions), `<ULID>-<partition>` otherwise.
    pub fn for_partition(partition: u16) -> Self {
        match partition {
            0 => Self::new(),
            n => Self(format!("{}-{n}", ulid::Ulid::new())),
        }
    }

    /// The partition this id's job is queued and kept in: the `<n>` of `<ULID>-<n>`, else 0
    /// (a bare ULID, or an id derived from what the job is about, as `rch-<order>-paid`).
    pub fn partition(&self) -> u16 {
        let Some((head, tail)) = self.0.split_at_checked(ULID_LEN) else {
            return 0;
        };
        let Some(digits) = tail.strip_prefix('-') else {
            return 0;
        };
        let named = ulid::Ulid::from_string(head).is_ok()
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit());
        if named {
            digits.parse().unwrap_or(0)
        } else {
            0
        }
    }

    /// An id a path may name: 1 to 64 ASCII letters, digits, `-` and `_` (a ULID, or an id
    /// derived from what the job is about, as a recharge's `rch-<order>-paid`); `None` names no
    /// job.
    pub fn parse(text: &str) -> Option<Self> {
        let shape = !text.is_empty() && text.len() <= 64;
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        (shape && text.bytes().all(allowed)).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

/// The id of a job derived from a moment (the schedule's sweep of one tick).
impl From<ulid::Ulid> for JobId {
    fn from(id: ulid::Ulid) -> Self {
        Self(id.to_string())
    }
}

/// An id as stored (Redis, MySQL) or written by hand in tests.
impl From<String> for JobId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for JobId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text, as before it had a name.
impl utoipa::PartialSchema for JobId {
    fn schema() -> RefOr<Schema> {
        <String as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for JobId {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_names_its_partition() {
        let bare = JobId::for_partition(0);
        assert_eq!(bare.as_str().len(), ULID_LEN);
        assert_eq!(bare.partition(), 0);
        let third = JobId::for_partition(3);
        assert!(third.as_str().ends_with("-3"), "{third}");
        assert_eq!(third.partition(), 3);
        assert_eq!(JobId::for_partition(63).partition(), 63);
        assert_eq!(JobId::parse(third.as_str()), Some(third));
        let ulid = ulid::Ulid::new().to_string();
        for partition_zero in [
            "rch-42-paid".to_owned(),
            "rch-42-7".to_owned(),
            ulid.clone(),
            format!("{ulid}-"),
            format!("{ulid}-x1"),
            format!("{ulid}-1-2"),
            format!("{}-5", &ulid[1..]),
            "01NOSUCHJOB".to_owned(),
        ] {
            assert_eq!(
                JobId::from(partition_zero.clone()).partition(),
                0,
                "{partition_zero}"
            );
        }
    }
}
