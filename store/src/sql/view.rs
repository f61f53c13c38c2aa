//! The catalog's hot lookups kept in memory: access keys (read by every signed request), clusters
//! (by every call naming one, and their lists by project), snapshot configurations, and on SQLite
//! the first page of small clusters' snapshot listings (what a client polling a list reads again
//! and again).
//!
//! On SQLite the view is exact: only this process writes the catalog, and every write through
//! this store to those tables drops the view once it committed (`invalidate`); a read that raced
//! such a write does not keep what it read (the generation it started under moved on). On
//! PostgreSQL other replicas write too, so an entry is also dropped `SHARED_STALENESS` after it was
//! read: that bounds how long a replica acts on a key another replica disabled or rotated out, or
//! on a cluster or policy another replica changed. Listing pages are kept only on SQLite, where
//! every write to snapshots drops them once it committed (`forget_pages`): a list is never stale.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use snapkeep_core::{AccessKey, Cluster, Snapshot, SnapshotConfig};

/// How stale an entry may be on a catalog other replicas write.
pub const SHARED_STALENESS: Duration = Duration::from_secs(1);
/// Entries a table holds before it is emptied (a bound against lookups of ever new names).
const MAX_ENTRIES: usize = 100_000;
/// Listing pages kept before they are all dropped, and the most snapshots a kept page holds:
/// at most 64 000 snapshots in memory (tens of MB at worst).
const MAX_PAGES: usize = 1_000;
pub(super) const MAX_PAGE_ROWS: usize = 64;

/// One table of the view: entries by name, with when each was read; emptied when it would hold
/// more than `MAX`.
pub(super) struct Table<T, const MAX: usize = MAX_ENTRIES>(RwLock<HashMap<String, (Instant, T)>>);

impl<T, const MAX: usize> Default for Table<T, MAX> {
    fn default() -> Self {
        Self(RwLock::default())
    }
}

impl<T, const MAX: usize> Table<T, MAX> {
    fn clear(&self) {
        self.0.write().expect("view lock").clear();
    }
}

/// The view; see the module's header.
#[derive(Default)]
pub(super) struct CatalogView {
    /// Entries older than this are not used (PostgreSQL); none: entries never age (SQLite).
    ttl: Option<Duration>,
    generation: AtomicU64,
    pub(super) keys: Table<AccessKey>,
    pub(super) clusters: Table<Cluster>,
    /// Cluster lists, by project id (`""`: every cluster), each sorted by creation time, then id.
    pub(super) cluster_lists: Table<Arc<[Cluster]>>,
    pub(super) configs: Table<Option<SnapshotConfig>>,
    /// First pages of snapshot listings (no filter, no cursor), by `cluster id/limit`; SQLite only.
    pub(super) first_pages: Table<Arc<[Snapshot]>, MAX_PAGES>,
}

impl CatalogView {
    /// A view of a catalog only this process writes (`shared` false), or one replicas share.
    pub(super) fn new(shared: bool) -> Self {
        Self { ttl: shared.then_some(SHARED_STALENESS), ..Self::default() }
    }

    /// The generation a read starts under: what it read is kept only if no write committed since.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops every entry; called after a write to a viewed table commits.
    pub(super) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.keys.clear();
        self.clusters.clear();
        self.cluster_lists.clear();
        self.configs.clear();
        self.first_pages.clear();
    }

    /// Whether only this process writes the catalog (SQLite): entries are exact, never aged.
    pub(super) fn exact(&self) -> bool {
        self.ttl.is_none()
    }

    /// Drops the kept listing pages; called after a write to snapshots committed (or failed to).
    pub(super) fn forget_pages(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.first_pages.clear();
    }

    /// The entry `name` of `table`, unless it aged out.
    pub(super) fn get<T: Clone, const MAX: usize>(&self, table: &Table<T, MAX>, name: &str) -> Option<T> {
        let entries = table.0.read().expect("view lock");
        let (read_at, value) = entries.get(name)?;
        self.ttl.is_none_or(|ttl| read_at.elapsed() < ttl).then(|| value.clone())
    }

    /// Keeps `value` as entry `name`, read under `generation`, unless a write committed since.
    pub(super) fn put<T, const MAX: usize>(&self, table: &Table<T, MAX>, name: &str, value: T, generation: u64) {
        let mut entries = table.0.write().expect("view lock");
        if self.generation() != generation {
            return;
        }
        if entries.len() >= MAX {
            entries.clear();
        }
        entries.insert(name.to_owned(), (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let view = CatalogView::new(false);
        let before = view.generation();
        view.invalidate();
        view.put(&view.configs, "c", None, before);
        assert_eq!(view.get(&view.configs, "c"), None::<Option<SnapshotConfig>>, "read before the write");
        view.put(&view.configs, "c", None, view.generation());
        assert_eq!(view.get(&view.configs, "c"), Some(None));
        view.invalidate();
        assert_eq!(view.get(&view.configs, "c"), None, "dropped by the write");
    }

    #[test]
    fn a_shared_catalogs_entries_age_out() {
        let view = CatalogView { ttl: Some(Duration::from_millis(20)), ..CatalogView::default() };
        view.put(&view.configs, "c", None, view.generation());
        assert_eq!(view.get(&view.configs, "c"), Some(None));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(view.get(&view.configs, "c"), None);
    }
}
