//! Rankings served from memory: each (kind, category) is computed by one indexed query at most
//! once per `library.ranking_ttl_secs` in this process, so a page view costs no query at all.
//! Shared by the API and the pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jobs::catalog::{self, BookSummary, RankingKind};
use jobs::ids::CategoryId;
use sqlx::MySqlPool;

type Key = (RankingKind, Option<CategoryId>);

/// One ranking as last computed.
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<[BookSummary]>)>>>;

pub struct Rankings {
    ttl: Duration,
    /// Only keys whose category exists are ever added, so the map stays small.
    slots: Mutex<HashMap<Key, Slot>>,
}

impl Rankings {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::default(),
        }
    }

    /// The ranking, computed again when older than the TTL; concurrent misses of one key wait
    /// for a single computation. `None` when the category does not exist.
    pub async fn get(
        &self,
        pool: &MySqlPool,
        kind: RankingKind,
        category_id: Option<CategoryId>,
    ) -> Result<Option<Arc<[BookSummary]>>, sqlx::Error> {
        let key = (kind, category_id);
        let known = self.slot(key, false);
        let slot = match known {
            Some(slot) => slot,
            None => {
                if let Some(id) = category_id
                    && !catalog::category_exists(pool, id).await?
                {
                    return Ok(None);
                }
                self.slot(key, true).expect("inserted")
            }
        };
        let mut cached = slot.lock().await;
        if let Some((at, books)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Some(books.clone()));
        }
        let books: Arc<[BookSummary]> = catalog::ranking(pool, kind, category_id).await?.into();
        *cached = Some((Instant::now(), books.clone()));
        Ok(Some(books))
    }

    fn slot(&self, key: Key, insert: bool) -> Option<Slot> {
        let mut slots = self.slots.lock().expect("rankings lock");
        if insert {
            return Some(slots.entry(key).or_default().clone());
        }
        slots.get(&key).cloned()
    }
}
