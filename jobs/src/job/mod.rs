//! The job mechanism every kind shares, knowing none of them: the job object clients poll
//! (kind, status, failure codes), what a payload must tell ([`Job`]), what a run ends with
//! ([`Done`]), its status in Redis, its durable outcome, its queue and its atomic submit.

mod id;
pub mod outcome;
pub mod queue;
mod status;
pub mod submit;
mod view;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use id::JobId;
pub use status::{StatusStore, StoredStatus};

use crate::coins::Coins;
use crate::ids::UserId;
pub use view::{FailureCode, JobError, JobView, Kind, Status, to_json};

/// A job payload as queued: each kind's payload says which kind it is, who may poll it and
/// when it was queued.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const KIND: Kind;
    fn job_id(&self) -> &JobId;
    /// The user who may poll it (an admin's id, or [`UserId::NOBODY`] for the schedule, for
    /// system jobs).
    fn owner(&self) -> UserId;
    fn enqueued_at_ms(&self) -> i64;
}

/// Implements [`Job`] for a payload with `job_id` and `enqueued_at_ms` fields; `$owner` names
/// the field that says who may poll it.
macro_rules! payload {
    ($payload:ty, $kind:expr, $owner:ident) => {
        impl $crate::job::Job for $payload {
            const KIND: $crate::job::Kind = $kind;
            fn job_id(&self) -> &$crate::job::JobId {
                &self.job_id
            }
            fn owner(&self) -> $crate::ids::UserId {
                self.$owner
            }
            fn enqueued_at_ms(&self) -> i64 {
                self.enqueued_at_ms
            }
        }
    };
}
pub(crate) use payload;

/// A finished run: the view clients see, the coins it moved (counted under its kind's
/// direction: spent, refunded), and whether an earlier run had already decided it.
#[derive(Debug, Clone)]
pub struct Done {
    pub view: JobView,
    pub coins: Coins,
    pub replayed: bool,
}
