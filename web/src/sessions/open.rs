//! Opening a session for a verified account: the session is written first, then the freeze
//! MySQL holds at that moment is applied to it.

use jobs::accounts::LoginRow;

use super::store::{Created, NewSession, Store};
use crate::error::ApiResult;
use crate::state::AppState;

/// A new session, and whether the account was frozen once it was written (it is then frozen too).
pub struct Opened {
    pub created: Created,
    pub frozen: bool,
}

/// Opens the account's one session (ending any other) and updates the active-sessions gauge.
///
/// An admin's freeze writes MySQL, then freezes the session the account points at. One that lands
/// after the caller's own checks froze the session this one replaces (or none), so the freeze is
/// read again after the write: either this read sees it, or the freeze's Redis half finds this
/// session.
pub async fn open(state: &AppState, row: &LoginRow, remember_me: bool) -> ApiResult<Opened> {
    let mut store = Store::new(state);
    let created = store
        .create(&NewSession {
            user_id: row.id,
            account: &row.username,
            roles: &row.roles,
            author_id: row.author_id,
            remember_me,
        })
        .await?;
    let frozen = jobs::users::is_frozen(&state.db.main, row.id).await?;
    if frozen {
        store
            .update(&created.key, &[("frozen", "1".to_owned())])
            .await?;
    }
    store.publish_count().await?;
    Ok(Opened { created, frozen })
}
