//! A job's id: opaque text, a ULID for every job this system queues.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, schema::Schema};

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
