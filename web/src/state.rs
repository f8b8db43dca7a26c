//! What every handler shares.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::IdGenerator;
use jobs::job::StatusStore;
use jobs::payments::provider::Providers;
use jobs::queues::Queues;
use jobs::redis_conn::RedisConn;

use crate::hashing::Hasher;
use crate::library::Library;
use crate::rankings::Rankings;
use crate::turns::Turns;
use crate::wakeup::Wakeups;

/// One pointer: axum clones the state for every extractor of every request, and the parts
/// (pools, queue configurations, connections) would each be cloned field by field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub db: Db,
    pub redis: RedisConn,
    pub ids: IdGenerator,
    pub queues: Queues,
    pub status: StatusStore,
    pub wakeups: Wakeups,
    pub hasher: Hasher,
    /// Cover re-encodes running at once (`library.cover_concurrency`).
    pub cover_turns: Turns,
    /// Visits and reading progress recorded by chapter reads.
    pub library: Library,
    /// Rankings computed at most once per `library.ranking_ttl_secs`.
    pub rankings: Rankings,
    /// The payment providers switched on.
    pub providers: Providers,
    /// Outbound HTTP (the sandbox delivering its events to a webhook).
    pub http: reqwest::Client,
    /// `http://host:port` this web tier listens on, once it does.
    pub own_url: OnceLock<String>,
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
