//! Views computed from the store and kept until its next commit: a page read many times between
//! writes (a list with the same filters) is computed once. Any commit, to any table, makes every
//! kept view stale, so a view is never older than a fresh read would be after an acknowledged
//! write: writes are counted as soon as readers can see them, before their callers are answered.
//! Only views read from the store alone may be kept (the search index commits apart from it).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::domain::ids::WorkspaceId;

/// At most `capacity` views, each computed at a known commit count for one workspace: the
/// workspace is part of every key, so a view can't be asked for from another.
pub struct ViewCache<K, V> {
    capacity: usize,
    kept: Mutex<Kept<K, V>>,
}

/// The views computed at commit count `commits` (older ones are dropped as soon as it moves).
struct Kept<K, V> {
    commits: u64,
    views: HashMap<(WorkspaceId, K), Arc<V>>,
}

impl<K: Eq + Hash, V> ViewCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        ViewCache { capacity, kept: Mutex::new(Kept { commits: 0, views: HashMap::new() }) }
    }

    /// `workspace`'s view under `key` as of commit count `commits`: kept, or computed by
    /// `compute` and kept (errors are not). `commits` must be read before `compute` starts
    /// reading, so a write that lands meanwhile leaves the result stale rather than current.
    pub(in crate::app) async fn get_or_compute<E>(
        &self,
        commits: u64,
        workspace: WorkspaceId,
        key: K,
        compute: impl AsyncFnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let key = (workspace, key);
        if let Some(view) = self.get(commits, &key) {
            return Ok(view);
        }
        let view = Arc::new(compute().await?);
        self.keep(commits, key, view.clone());
        Ok(view)
    }

    fn get(&self, commits: u64, key: &(WorkspaceId, K)) -> Option<Arc<V>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.commits == commits { kept.views.get(key).cloned() } else { None }
    }

    fn keep(&self, commits: u64, key: (WorkspaceId, K), view: Arc<V>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if commits > kept.commits {
            *kept = Kept { commits, views: HashMap::new() };
        }
        if commits < kept.commits {
            return; // computed before a write that others have already seen
        }
        if kept.views.len() >= self.capacity {
            // Bounded and rare (the store would have to go that long without a write): start over.
            kept.views.clear();
        }
        kept.views.insert(key, view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_is_current_only_at_the_commit_count_it_was_computed_at() {
        let ws = WorkspaceId::random();
        let cache = ViewCache::new(2);
        cache.keep(3, (ws, "a"), Arc::new(1));
        assert_eq!(cache.get(3, &(ws, "a")).as_deref(), Some(&1));
        assert_eq!(cache.get(4, &(ws, "a")), None, "a later commit makes it stale");
        cache.keep(2, (ws, "b"), Arc::new(2));
        assert_eq!(cache.get(3, &(ws, "b")), None, "a view computed before a newer one's commit is not kept");
        cache.keep(4, (ws, "c"), Arc::new(3));
        assert_eq!(cache.get(4, &(ws, "a")), None, "views of older commits are dropped");
        assert_eq!(cache.get(4, &(ws, "c")).as_deref(), Some(&3));
        cache.keep(4, (ws, "d"), Arc::new(4));
        cache.keep(4, (ws, "e"), Arc::new(5));
        assert_eq!(cache.get(4, &(ws, "e")).as_deref(), Some(&5), "bounded: the newest view is kept");
        assert!(cache.kept.lock().unwrap().views.len() <= 2);
    }

    #[tokio::test]
    async fn a_write_makes_kept_views_stale() {
        const T: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("t");
        let dir = tempfile::tempdir().unwrap();
        let store =
            super::super::Store::open(&dir.path().join("s.redb"), &crate::app::crypto::MasterKey::generate(), 0)
                .unwrap();
        let (ws, cache) = (WorkspaceId::random(), ViewCache::new(8));
        let view =
            async |n: u64| *cache.get_or_compute(store.commits(), ws, "list", async || Ok::<_, ()>(n)).await.unwrap();
        assert_eq!(view(1).await, 1);
        assert_eq!(view(2).await, 1, "kept while nothing is written");
        store
            .write_txn(|txn| {
                txn.open_table(T).map_err(super::super::storage)?.insert(1, 1).map_err(super::super::storage)?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(view(3).await, 3, "computed again after a write");
        let failed = cache.get_or_compute(store.commits(), ws, "other", async || Err::<u64, _>("no")).await;
        assert_eq!(failed.unwrap_err(), "no");
        assert_eq!(view(4).await, 3, "a failed computation keeps nothing and drops nothing");
    }
}
