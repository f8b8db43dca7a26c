//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::StatusStore;
use jobs::queues::Queues;
use redis::aio::ConnectionManager;

use crate::hashing::Hasher;
use crate::wakeup::Wakeups;

/// One pointer: axum clones the state for every extractor of every request, and the parts
/// (pools, queue configurations, connections) would each be cloned field by field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub db: Db,
    pub redis: ConnectionManager,
    pub ids: IdGenerator,
    pub queues: Queues,
    pub status: StatusStore,
    pub wakeups: Wakeups,
    pub hasher: Hasher,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
