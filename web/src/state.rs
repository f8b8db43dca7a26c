//! What every handler shares.

use std::sync::Arc;

use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::StatusStore;
use jobs::queue::Queues;
use redis::aio::ConnectionManager;

use crate::wakeup::Wakeups;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub redis: ConnectionManager,
    pub ids: IdGenerator,
    pub queues: Queues,
    pub status: StatusStore,
    pub wakeups: Wakeups,
}
