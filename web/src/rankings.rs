//! Rankings and the category list served from memory: each (kind, category) ranking, and the
//! categories with their book counts, is computed by one query at most once per
//! `library.ranking_ttl_secs` in this process, so a page view costs no query at all. Shared by
//! the API and the pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jobs::catalog::{self, BookSummary, Category, RankingKind};
use jobs::ids::CategoryId;
use sqlx::MySqlPool;

type Key = (RankingKind, Option<CategoryId>);

/// A list as last computed, and when.
type Cell<T> = tokio::sync::Mutex<Option<(Instant, Arc<[T]>)>>;

/// One ranking as last computed.
type Slot = Arc<Cell<BookSummary>>;

pub struct Rankings {
    ttl: Duration,
    /// Only keys whose category exists are ever added, so the map stays small.
    slots: Mutex<HashMap<Key, Slot>>,
    /// The categories with their published book counts (a count per category: the home page and
    /// the discovery pages read it on every view).
    categories: Cell<Category>,
}

impl Rankings {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::default(),
            categories: Cell::default(),
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
        let books = self
            .fresh(&slot, catalog::ranking(pool, kind, category_id))
            .await?;
        Ok(Some(books))
    }

    /// Every category in its display order with its book count, as of at most one TTL ago.
    pub async fn categories(&self, pool: &MySqlPool) -> Result<Arc<[Category]>, sqlx::Error> {
        self.fresh(&self.categories, catalog::categories(pool))
            .await
    }

    /// The cell's list, or `compute`'s when it is empty or older than the TTL; concurrent
    /// callers wait for the one computation.
    async fn fresh<T>(
        &self,
        cell: &Cell<T>,
        compute: impl Future<Output = Result<Vec<T>, sqlx::Error>>,
    ) -> Result<Arc<[T]>, sqlx::Error> {
        let mut cached = cell.lock().await;
        if let Some((at, list)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(list.clone());
        }
        let list: Arc<[T]> = compute.await?.into();
        *cached = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    fn slot(&self, key: Key, insert: bool) -> Option<Slot> {
        let mut slots = self.slots.lock().expect("rankings lock");
        if insert {
            return Some(slots.entry(key).or_default().clone());
        }
        slots.get(&key).cloned()
    }
}
