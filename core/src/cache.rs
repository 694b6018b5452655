//! The one read-through TTL cache of Clearance, in front of any store ([`CachedStore`], which
//! implements the store trait) or any permissions source ([`CachedSource`]: the permissions API
//! client, for the trigger, the authorizer and the middleware), so nothing above it knows.
//!
//! - An entry lives for `ttl` from the moment it was loaded (the store read), never extended by
//!   reads; "not found" is cached too, for the shorter `negative_ttl`.
//! - Concurrent misses for one id share a single store read (moka's entry API).
//! - Errors are never cached: the next read tries the store again.
//! - Every write through the cache invalidates the entry, whatever its outcome (a failed
//!   precondition means our copy may be stale too). A read that was in flight while a write ran is
//!   answered but not cached, so it can never put a pre-write value back after the invalidation.
//! - Hit, miss, load and eviction counters, kept for [`Cached::stats`] and recorded through the
//!   metrics facade ([`crate::metrics`]) with handles registered once, when the cache is built.
//!
//! Listing a company's users is passed straight to the store: pages are not cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use metrics::Counter;
use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;

use crate::domain::{CompanyId, Permissions, UserId, UserPermissions};
use crate::source::{PermissionsSource, SourceError};
use crate::store::{Page, PermissionStore, Position, Precondition, StoreError, WriteOutcome};

/// How the cache behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a found user is served from the cache, counted from the store read.
    pub ttl: Duration,
    /// How long "no such user" is served from the cache.
    pub negative_ttl: Duration,
    /// The most users held at once (least recently used go first).
    pub capacity: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(5),
            capacity: 100_000,
        }
    }
}

/// The cache's counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache (including those that waited on another caller's load).
    pub hits: u64,
    /// Reads that started a store read.
    pub misses: u64,
    /// Store reads made by the cache (single reads and batch reads).
    pub loads: u64,
    /// Entries held now (approximate).
    pub entries: u64,
}

type Entry = Option<Arc<UserPermissions>>;

struct TtlPolicy {
    ttl: Duration,
    negative_ttl: Duration,
}

impl TtlPolicy {
    fn for_value(&self, value: &Entry) -> Duration {
        if value.is_some() {
            self.ttl
        } else {
            self.negative_ttl
        }
    }
}

impl Expiry<UserId, Entry> for TtlPolicy {
    fn expire_after_create(&self, _: &UserId, value: &Entry, _: Instant) -> Option<Duration> {
        Some(self.for_value(value))
    }

    fn expire_after_update(
        &self,
        _: &UserId,
        value: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.for_value(value))
    }
    // Reads keep the remaining time (the trait's default): a hot entry still expires on time.
}

/// Why a load's result is not stored in the cache.
#[derive(Debug)]
enum LoadFailure<E> {
    /// The store (or source) failed: report it, cache nothing.
    Store(E),
    /// A write ran while this read was in flight: answer with it, but do not cache it.
    Raced(Entry),
}

/// The engine both caches share: moka with per-entry TTLs from the load, single-flight misses,
/// and a write counter that keeps a read racing a write out of the cache.
struct ReadThrough {
    cache: Cache<UserId, Entry>,
    /// Bumped before and after every write; a load that sees it change does not cache its result.
    writes: AtomicU64,
    counters: Counters,
}

impl ReadThrough {
    fn new(settings: CacheSettings) -> Self {
        let cache = Cache::builder()
            .max_capacity(settings.capacity)
            .expire_after(TtlPolicy {
                ttl: settings.ttl,
                negative_ttl: settings.negative_ttl,
            })
            .eviction_listener(eviction_counter())
            .build();
        Self {
            cache,
            writes: AtomicU64::new(0),
            counters: Counters::new(),
        }
    }

    fn stats(&self) -> CacheStats {
        let entries = self.cache.entry_count();
        metrics::gauge!(crate::metrics::CACHE_ENTRIES).set(entries as f64);
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            loads: self.counters.loads.load(Ordering::Relaxed),
            entries,
        }
    }

    /// The cached entry for `id`, or `load`'s answer (cached unless a write raced it).
    async fn get<E, F>(&self, id: &UserId, load: F) -> Result<Option<UserPermissions>, E>
    where
        E: Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Result<Option<UserPermissions>, E>>,
    {
        let started = self.writes.load(Ordering::SeqCst);
        let entry = self
            .cache
            .entry_by_ref(id)
            .or_try_insert_with(async {
                self.counters.load();
                let loaded = load.await.map_err(LoadFailure::Store)?.map(Arc::new);
                if self.writes.load(Ordering::SeqCst) != started {
                    return Err(LoadFailure::Raced(loaded));
                }
                Ok(loaded)
            })
            .await;
        match entry {
            Ok(entry) => {
                if entry.is_fresh() {
                    self.counters.miss(1);
                    // A write may have slipped in between the check above and the insert: if so,
                    // drop what we inserted rather than serve it until the TTL ends.
                    if self.writes.load(Ordering::SeqCst) != started {
                        self.cache.invalidate(id).await;
                    }
                } else {
                    self.counters.hit();
                }
                Ok(entry.into_value().map(|u| (*u).clone()))
            }
            Err(failure) => {
                self.counters.miss(1);
                match &*failure {
                    LoadFailure::Store(err) => Err(err.clone()),
                    LoadFailure::Raced(value) => Ok(value.as_ref().map(|u| (**u).clone())),
                }
            }
        }
    }
}

#[async_trait]
impl<S: PermissionsSource> PermissionsSource for Cached<S> {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        self.read.get(id, self.inner.permissions(id)).await
    }
}

/// Hits, misses and loads: our own atomics answer [`Cached::stats`] (whatever exporter is
/// installed, or none), the facade's handles feed the exporter.
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    hits_metric: Counter,
    misses_metric: Counter,
    loads_metric: Counter,
}

impl Counters {
    fn new() -> Self {
        Self {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            hits_metric: metrics::counter!(crate::metrics::CACHE_HITS),
            misses_metric: metrics::counter!(crate::metrics::CACHE_MISSES),
            loads_metric: metrics::counter!(crate::metrics::CACHE_LOADS),
        }
    }

    fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.hits_metric.increment(1);
    }

    fn miss(&self, n: u64) {
        self.misses.fetch_add(n, Ordering::Relaxed);
        self.misses_metric.increment(n);
    }

    fn load(&self) {
        self.loads.fetch_add(1, Ordering::Relaxed);
        self.loads_metric.increment(1);
    }
}

/// moka's eviction listener, counting entries that left the cache by cause. moka calls it from
/// its housekeeping, not from the read that triggered it.
fn eviction_counter() -> impl Fn(Arc<UserId>, Entry, RemovalCause) + Send + Sync + 'static {
    let [expired, size, invalidated, replaced] = ["expired", "size", "invalidated", "replaced"]
        .map(|cause| metrics::counter!(crate::metrics::CACHE_EVICTIONS, "cause" => cause));
    move |_, _, cause| match cause {
        RemovalCause::Expired => expired.increment(1),
        RemovalCause::Size => size.increment(1),
        RemovalCause::Explicit => invalidated.increment(1),
        RemovalCause::Replaced => replaced.increment(1),
    }
}

/// A store or a permissions source with the TTL cache in front of it: it implements the store
/// trait when it wraps a store ([`CachedStore`]) and the source trait when it wraps a source
/// ([`CachedSource`]).
pub struct Cached<S> {
    inner: S,
    read: ReadThrough,
}

/// A store behind the cache.
pub type CachedStore<S> = Cached<S>;

/// A permissions source (the permissions API client, say) behind the cache.
pub type CachedSource<S> = Cached<S>;

impl<S> std::fmt::Debug for Cached<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").finish_non_exhaustive()
    }
}

impl<S> Cached<S> {
    /// Wraps `inner` with a cache configured by `settings`.
    pub fn new(inner: S, settings: CacheSettings) -> Self {
        Self {
            inner,
            read: ReadThrough::new(settings),
        }
    }

    /// The store or source behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The counters since start.
    pub fn stats(&self) -> CacheStats {
        self.read.stats()
    }

    /// Drops the cached entry for `id`, so the next read asks what is behind the cache.
    pub async fn invalidate(&self, id: &UserId) {
        self.read.cache.invalidate(id).await;
    }
}

impl<S: PermissionStore> Cached<S> {
    async fn around_write<T>(
        &self,
        id: &UserId,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.read.writes.fetch_add(1, Ordering::SeqCst);
        let result = write.await;
        self.read.writes.fetch_add(1, Ordering::SeqCst);
        self.read.cache.invalidate(id).await;
        result
    }
}

#[async_trait]
impl<S: PermissionStore> PermissionStore for Cached<S> {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.read.get(id, self.inner.get(id)).await
    }

    /// Past the cache: the store's own answer (a write's starting point must not be stale).
    async fn get_latest(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.inner.get_latest(id).await
    }

    async fn put(
        &self,
        id: &UserId,
        permissions: &Permissions,
        precondition: Precondition,
        actor: Option<&str>,
    ) -> Result<WriteOutcome, StoreError> {
        self.around_write(id, self.inner.put(id, permissions, precondition, actor))
            .await
    }

    async fn delete(
        &self,
        id: &UserId,
        precondition: Precondition,
    ) -> Result<UserPermissions, StoreError> {
        self.around_write(id, self.inner.delete(id, precondition))
            .await
    }

    async fn list_by_company(
        &self,
        company: &CompanyId,
        limit: usize,
        after: Option<&Position>,
    ) -> Result<Page, StoreError> {
        self.inner.list_by_company(company, limit, after).await
    }

    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        let started = self.read.writes.load(Ordering::SeqCst);
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.read.cache.get(id).await {
                Some(entry) => {
                    self.read.counters.hit();
                    if let Some(user) = entry {
                        found.push((*user).clone());
                    }
                }
                None => missing.push(id.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        self.read.counters.miss(missing.len() as u64);
        self.read.counters.load();
        let loaded = self.inner.batch_get(&missing).await?;
        if self.read.writes.load(Ordering::SeqCst) == started {
            for id in &missing {
                let entry = loaded.iter().find(|u| &u.id == id).cloned().map(Arc::new);
                self.read.cache.insert(id.clone(), entry).await;
            }
            if self.read.writes.load(Ordering::SeqCst) != started {
                for id in &missing {
                    self.read.cache.invalidate(id).await;
                }
            }
        }
        found.extend(loaded);
        Ok(found)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.inner.ready().await
    }

    fn label(&self) -> &'static str {
        self.inner.label()
    }
}
