//! What every intake reads and hardly ever changes, kept in memory: each community's
//! deadline policy and duty list, the accounts granted at each node, the Open311 keys.
//!
//! An edit through this process invalidates its entry at once. Entries expire after a
//! short time-to-live, so other processes serving the same database (and the command line,
//! which issues grants and revokes keys) are followed within it. A generation counter keeps
//! a value read before an invalidation from being cached after it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use mulin_domain::deadline::DeadlinePolicy;
use mulin_domain::ids::{DistrictId, NodeId, UserId};
use mulin_domain::policy::Role;
use mulin_storage::{Open311KeyRecord, Storage, StoreError};

/// How long a community's settings and a node's grant holders are trusted: as long as the
/// work calendar (a new policy or a new grid worker counts in every process within a
/// minute).
pub const SETTINGS_TTL: Duration = Duration::from_secs(60);

/// How long an Open311 key is trusted. Keys are revoked from the command line, another
/// process: a revoked key stops working within this long.
pub const KEY_TTL: Duration = Duration::from_secs(10);

/// Values by key, each kept for a time-to-live, with explicit invalidation.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (V, Instant)>>,
    /// Bumped by every invalidation, so a value loaded before an edit landed is not cached
    /// after it.
    generation: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The value of `key`: cached if fresh, else loaded by `load` and kept. A failed load
    /// is not kept (so "not found" is asked again next time).
    pub async fn get_or_load<E, Fut>(&self, key: K, load: impl FnOnce() -> Fut) -> Result<V, E>
    where
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some((value, at)) = self.read().get(&key) {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let value = load().await?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(key, (value.clone(), Instant::now()));
        }
        Ok(value)
    }

    /// Forgets `key`, and keeps any load that started before from caching its value.
    pub fn invalidate(&self, key: &K) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// A community (or any node) of a district.
type CommunityKey = (DistrictId, NodeId);

/// The accounts granted a role at one node.
type Holders = Arc<Vec<(UserId, Role)>>;

/// The caches an intake reads through (see the module's description).
pub struct Caches {
    store: Arc<dyn Storage>,
    policies: TtlCache<CommunityKey, Option<DeadlinePolicy>>,
    duty_lists: TtlCache<CommunityKey, Option<Arc<Vec<String>>>>,
    holders: TtlCache<CommunityKey, Holders>,
    open311_keys: TtlCache<String, Open311KeyRecord>,
}

impl Caches {
    /// Empty caches over `store`.
    pub fn new(store: Arc<dyn Storage>) -> Caches {
        Caches {
            store,
            policies: TtlCache::new(SETTINGS_TTL),
            duty_lists: TtlCache::new(SETTINGS_TTL),
            holders: TtlCache::new(SETTINGS_TTL),
            open311_keys: TtlCache::new(KEY_TTL),
        }
    }

    /// The deadline policy a community set itself (none: it uses the default).
    pub async fn deadline_policy(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> Result<Option<DeadlinePolicy>, StoreError> {
        self.policies
            .get_or_load((district, community), || {
                self.store.deadline_policy(district, community)
            })
            .await
    }

    /// Forgets a community's policy after it was set.
    pub fn policy_changed(&self, district: DistrictId, community: NodeId) {
        self.policies.invalidate(&(district, community));
    }

    /// The catalogue codes a community admits (none: it never set a list, so everything).
    pub async fn duty_list(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> Result<Option<Arc<Vec<String>>>, StoreError> {
        self.duty_lists
            .get_or_load((district, community), || async {
                Ok(self
                    .store
                    .duty_list(district, community)
                    .await?
                    .map(Arc::new))
            })
            .await
    }

    /// Forgets a community's duty list after it was set.
    pub fn duty_list_changed(&self, district: DistrictId, community: NodeId) {
        self.duty_lists.invalidate(&(district, community));
    }

    /// The accounts granted a role at `node` (exactly there, not above), by account.
    pub async fn granted_at(
        &self,
        district: DistrictId,
        node: NodeId,
    ) -> Result<Holders, StoreError> {
        self.holders
            .get_or_load((district, node), || async {
                Ok(Arc::new(self.store.users_granted_at(district, node).await?))
            })
            .await
    }

    /// The Open311 key with this hash. Only keys that exist are kept, so guessing fills
    /// nothing; a revoked key is kept as revoked.
    pub async fn open311_key(&self, key_hash: &str) -> Result<Open311KeyRecord, StoreError> {
        self.open311_keys
            .get_or_load(key_hash.to_owned(), || {
                self.store.open311_key_by_hash(key_hash)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn values_are_kept_until_invalidated_or_expired_and_failures_never() {
        let loads = AtomicUsize::new(0);
        let load = |value: u32| {
            loads.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<u32, ()>(value) }
        };
        let cache: TtlCache<&str, u32> = TtlCache::new(Duration::from_secs(60));
        assert_eq!(cache.get_or_load("a", || load(1)).await, Ok(1));
        assert_eq!(cache.get_or_load("a", || load(2)).await, Ok(1));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        cache.invalidate(&"a");
        assert_eq!(cache.get_or_load("a", || load(3)).await, Ok(3));
        assert_eq!(
            cache
                .get_or_load("b", || async { Err::<u32, ()>(()) })
                .await,
            Err(())
        );
        assert_eq!(cache.get_or_load("b", || load(4)).await, Ok(4));

        let expired: TtlCache<&str, u32> = TtlCache::new(Duration::ZERO);
        assert_eq!(expired.get_or_load("a", || load(5)).await, Ok(5));
        assert_eq!(expired.get_or_load("a", || load(6)).await, Ok(6));
    }

    #[tokio::test]
    async fn a_load_that_raced_an_invalidation_is_not_kept() {
        let cache: TtlCache<&str, u32> = TtlCache::new(Duration::from_secs(60));
        let value = cache
            .get_or_load("a", || async {
                // The edit lands while the old value is being read.
                cache.invalidate(&"a");
                Ok::<u32, ()>(1)
            })
            .await;
        assert_eq!(value, Ok(1));
        assert_eq!(
            cache.get_or_load("a", || async { Ok::<u32, ()>(2) }).await,
            Ok(2)
        );
    }
}
