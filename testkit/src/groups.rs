//! Members of a grouped purchase round (`jobs::purchase::group`) and their outcome codes.

use jobs::coins::Coins;
use jobs::ids::{ChapterId, UserId};
use jobs::job::{JobId, JobView, Kind};
use jobs::purchase::Order;
use jobs::purchase::group::Member;

/// A member whose job id lives as long as the test (leaked: a test's few bytes).
pub fn member(
    job_id: &str,
    user_id: UserId,
    kind: Kind,
    index_ids: Vec<ChapterId>,
) -> Member<'static> {
    member_at_most(job_id, user_id, kind, index_ids, None)
}

/// A member carrying the most the buyer saw (`max_price` / `max_total`).
pub fn member_at_most(
    job_id: &str,
    user_id: UserId,
    kind: Kind,
    index_ids: Vec<ChapterId>,
    max_spent: Option<Coins>,
) -> Member<'static> {
    Member {
        order: Order {
            job_id: Box::leak(Box::new(JobId::from(job_id))),
            user_id,
            kind,
            index_ids,
            max_spent,
        },
        attempt: 1,
    }
}

/// `succeeded` or the failure's code.
pub fn code(view: &JobView) -> &'static str {
    view.error.as_ref().map_or("succeeded", |e| e.code.as_str())
}
