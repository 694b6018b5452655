//! The one read-through TTL cache of Clearance, in front of any store ([`CachedStore`], which
//! implements the store trait) or any permissions source ([`CachedSource`]: the permissions API
//! client, for the trigger, the authorizer and the middleware), so nothing above it knows.
//!
//! - An entry lives for `ttl` from the moment its store read started, never extended by reads;
//!   "not found" is cached too, for the shorter `negative_ttl`. The TTL is the hard upper bound on
//!   what a healthy store's cache serves.
//! - **Refresh-ahead**: an entry older than `refresh_after` is still served, and one background
//!   read replaces it, so a hot user is never much older than `refresh_after` and never pays a
//!   miss. A cold user (read less often than that) is bounded by the TTL. At most
//!   [`MAX_REFRESHES_IN_FLIGHT`] refresh-ahead reads run at once: users cached together come due
//!   together (a warm-up, a deploy), and a thousand background reads started in the same
//!   millisecond would each take a store connection and a slot on the runtime at once; a hit that
//!   finds the limit reached is served as a plain hit and leaves the refresh to a later read (the
//!   TTL still bounds the entry).
//! - **Stale-if-error**: when the store fails, a found user's entry past its TTL may be served for
//!   at most `stale_if_error` more, so an outage of the store does not become an outage of every
//!   caller. Never a cached "no such user", never past that window, and never to a caller that
//!   asked for a version or a fully consistent read. Only the first read after the store starts
//!   failing waits for it (up to the store's own timeout): once a store read has failed, and until
//!   one succeeds, a read past the TTL is answered with the stale entry at once while one
//!   background read (single flight, as a refresh) finds out whether the store is back.
//! - **Single flight**: concurrent reads of one id that need the store share one store read (an
//!   in-flight map of shared futures), whether they are misses or the background refresh; there
//!   is never more than one background refresh per id in flight.
//! - Errors are never cached: the next read tries the store again.
//! - Every write through the cache invalidates the entry, whatever its outcome (a failed
//!   precondition means our copy may be stale too), and detaches any read in flight for that id,
//!   so a read that arrives after the write never joins a pre-write read. A read that was in
//!   flight while a write ran is answered but not cached, so it can never put a pre-write value
//!   back after the invalidation.
//! - Per request, a [`Consistency`] says how fresh the answer must be, and every answer says how
//!   fresh it was ([`Served`]): `Age` and `Cache-Status` for the API.
//! - Hit, miss, load, eviction, refresh and stale-serve counters, the age of served entries and
//!   the highest permission version read, kept for [`Cached::stats`] and recorded through the
//!   metrics facade ([`crate::metrics`]) with handles registered once, when the cache is built.
//!
//! Listing a company's users is passed straight to the store: pages are not cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::{BoxFuture, FutureExt, Shared};
use metrics::{Counter, Gauge, Histogram};
use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;

use crate::consistency::{CacheStatus, Consistency, Freshness, Served};
use crate::domain::{HistoryEntry, UserId, UserPermissions};
use crate::source::{PermissionsSource, SourceError};
use crate::store::{Delete, Listing, Page, PermissionStore, Put, StoreError, WriteOutcome};

/// How the cache behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a found user is served from the cache, counted from the store read: the hard
    /// bound while the store answers.
    pub ttl: Duration,
    /// How long "no such user" is served from the cache.
    pub negative_ttl: Duration,
    /// The most users held at once (least recently used go first).
    pub capacity: u64,
    /// An entry older than this is still served, and one background read replaces it. Zero, or
    /// not below the TTL, turns refresh-ahead off.
    pub refresh_after: Duration,
    /// How long past its TTL a found user's entry may still be served while the store fails.
    /// Zero turns stale-if-error off.
    pub stale_if_error: Duration,
}

impl CacheSettings {
    /// The service's default refresh interval: 4 s, so that with a background read's own round
    /// trip a hot user's entry is never more than 5 s old.
    pub const DEFAULT_REFRESH_AFTER: Duration = Duration::from_secs(4);
    /// The default stale-if-error window (see the README for the trade-off).
    pub const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(60);
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(5),
            capacity: 100_000,
            refresh_after: Self::DEFAULT_REFRESH_AFTER,
            stale_if_error: Self::DEFAULT_STALE_IF_ERROR,
        }
    }
}

/// The cache's counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache (including those that joined another caller's load).
    pub hits: u64,
    /// Reads that needed the store (a miss, an entry older than the version asked for, or a fully
    /// consistent read).
    pub misses: u64,
    /// Store reads made by the cache (single reads, batch reads and background refreshes).
    pub loads: u64,
    /// Background reads started: refresh-ahead, and while the store fails, the read that finds
    /// out whether it is back.
    pub refreshes: u64,
    /// Background reads that failed (the entry was kept until its TTL, or within the
    /// stale-if-error window while the store fails).
    pub refresh_failures: u64,
    /// Entries served past their TTL because the store failed (stale-if-error).
    pub stale_serves: u64,
    /// The highest permission version the cache has read from the store.
    pub highest_version: u64,
    /// Entries held now (approximate).
    pub entries: u64,
}

/// What one store read found, and when that read started (an entry's age counts from then).
#[derive(Clone)]
struct Loaded {
    user: Option<Arc<UserPermissions>>,
    at: Instant,
}

impl Loaded {
    fn version(&self) -> Option<u64> {
        self.user.as_ref().map(|u| u.version)
    }
}

/// How long moka keeps an entry: a found user for its TTL plus the stale-if-error window (the
/// cache itself decides, by age, what may be served when); "not found" for the negative TTL.
struct Keep {
    ttl: Duration,
    negative_ttl: Duration,
}

impl Keep {
    fn for_value(&self, value: &Loaded) -> Duration {
        if value.user.is_some() {
            self.ttl
        } else {
            self.negative_ttl
        }
    }
}

impl Expiry<UserId, Loaded> for Keep {
    fn expire_after_create(&self, _: &UserId, value: &Loaded, _: Instant) -> Option<Duration> {
        Some(self.for_value(value))
    }

    fn expire_after_update(
        &self,
        _: &UserId,
        value: &Loaded,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.for_value(value))
    }
    // Reads keep the remaining time (the trait's default): a hot entry still expires on time.
}

/// A failed read of what is behind the cache, whichever kind it is, so one engine serves both.
#[derive(Debug, Clone)]
enum LoadError {
    Store(StoreError),
    Source(SourceError),
}

/// The error types of what the cache can wrap, carried through the shared in-flight reads.
trait BackendError: Clone + Send + Sync + 'static {
    fn wrap(self) -> LoadError;
    fn unwrap(err: LoadError) -> Self;
}

impl BackendError for StoreError {
    fn wrap(self) -> LoadError {
        LoadError::Store(self)
    }
    fn unwrap(err: LoadError) -> Self {
        match err {
            LoadError::Store(err) => err,
            LoadError::Source(err) => StoreError::internal(err),
        }
    }
}

impl BackendError for SourceError {
    fn wrap(self) -> LoadError {
        LoadError::Source(self)
    }
    fn unwrap(err: LoadError) -> Self {
        match err {
            LoadError::Source(err) => err,
            LoadError::Store(err) => err.into(),
        }
    }
}

/// The result of one shared store read.
#[derive(Clone)]
struct Outcome {
    result: Result<Loaded, LoadError>,
}

type InFlight = Shared<BoxFuture<'static, Outcome>>;

/// The most refresh-ahead reads one cache runs at once (see the module docs). Enough to keep tens
/// of thousands of hot users refreshed (32 reads of a few milliseconds each make thousands a
/// second), few enough that a burst of due entries does not become a store read and a connection
/// per user at the same moment.
pub const MAX_REFRESHES_IN_FLIGHT: u64 = 32;

/// A store read for one id, made by what the cache wraps, with the consistency to ask it for.
/// Borrowed for one call (a hit makes no read, so it costs nothing to pass); the read it starts
/// owns what it needs.
type LoadFn<'a, E> = &'a (
        dyn Fn(UserId, Consistency) -> BoxFuture<'static, Result<Option<Arc<UserPermissions>>, E>>
            + Send
            + Sync
    );

/// The engine both caches share: moka with per-entry lifetimes from the load, single-flight
/// reads through an in-flight map, refresh-ahead, stale-if-error, and a write counter that keeps a
/// read racing a write out of the cache.
struct ReadThrough {
    cache: Cache<UserId, Loaded>,
    settings: CacheSettings,
    /// Bumped before and after every write; a load that sees it change does not cache its result.
    writes: AtomicU64,
    /// The store read in flight per id (with a number telling one read from the next), which
    /// every read that needs the store joins instead of starting its own.
    in_flight: Mutex<HashMap<UserId, (u64, InFlight)>>,
    next_read: AtomicU64,
    /// Whether the last store read to finish failed: then reads within the stale-if-error window
    /// do not wait for the store (see the module docs).
    store_failing: AtomicBool,
    /// Refresh-ahead reads started and not yet finished, at most [`MAX_REFRESHES_IN_FLIGHT`].
    refreshing: AtomicU64,
    counters: Counters,
}

/// The cache's figures: our own atomics answer [`Cached::stats`] (whatever exporter is installed,
/// or none), the facade's handles feed the exporter.
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
    stale_serves: AtomicU64,
    highest_version: AtomicU64,
    hits_metric: Counter,
    misses_metric: Counter,
    loads_metric: Counter,
    refreshes_metric: Counter,
    refresh_failures_metric: Counter,
    stale_serves_metric: Counter,
    highest_version_metric: Gauge,
    served_age_metric: Histogram,
}

impl Counters {
    fn new() -> Self {
        use crate::metrics as m;
        Self {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            refresh_failures: AtomicU64::new(0),
            stale_serves: AtomicU64::new(0),
            highest_version: AtomicU64::new(0),
            hits_metric: metrics::counter!(m::CACHE_HITS),
            misses_metric: metrics::counter!(m::CACHE_MISSES),
            loads_metric: metrics::counter!(m::CACHE_LOADS),
            refreshes_metric: metrics::counter!(m::CACHE_REFRESHES),
            refresh_failures_metric: metrics::counter!(m::CACHE_REFRESH_FAILURES),
            stale_serves_metric: metrics::counter!(m::CACHE_STALE_SERVES),
            highest_version_metric: metrics::gauge!(m::CACHE_HIGHEST_VERSION),
            served_age_metric: metrics::histogram!(m::CACHE_SERVED_AGE),
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

    fn refresh(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        self.refreshes_metric.increment(1);
    }

    fn refresh_failed(&self) {
        self.refresh_failures.fetch_add(1, Ordering::Relaxed);
        self.refresh_failures_metric.increment(1);
    }

    fn stale_serve(&self) {
        self.stale_serves.fetch_add(1, Ordering::Relaxed);
        self.stale_serves_metric.increment(1);
    }

    /// The age of an entry served from the cache (hits and stale serves).
    fn served(&self, age: Duration) {
        self.served_age_metric.record(age.as_secs_f64());
    }

    fn version_seen(&self, version: u64) {
        let before = self.highest_version.fetch_max(version, Ordering::Relaxed);
        if version > before {
            self.highest_version_metric.set(version as f64);
        }
    }
}

/// moka's eviction listener, counting entries that left the cache by cause. moka calls it from
/// its housekeeping, not from the read that triggered it.
fn eviction_counter() -> impl Fn(Arc<UserId>, Loaded, RemovalCause) + Send + Sync + 'static {
    let [expired, size, invalidated, replaced] = ["expired", "size", "invalidated", "replaced"]
        .map(|cause| metrics::counter!(crate::metrics::CACHE_EVICTIONS, "cause" => cause));
    move |_, _, cause| match cause {
        RemovalCause::Expired => expired.increment(1),
        RemovalCause::Size => size.increment(1),
        RemovalCause::Explicit => invalidated.increment(1),
        RemovalCause::Replaced => replaced.increment(1),
    }
}

impl ReadThrough {
    fn new(settings: CacheSettings) -> Self {
        let cache = Cache::builder()
            .max_capacity(settings.capacity)
            .expire_after(Keep {
                ttl: settings.ttl + settings.stale_if_error,
                negative_ttl: settings.negative_ttl,
            })
            .eviction_listener(eviction_counter())
            .build();
        Self {
            cache,
            settings,
            writes: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
            next_read: AtomicU64::new(0),
            store_failing: AtomicBool::new(false),
            refreshing: AtomicU64::new(0),
            counters: Counters::new(),
        }
    }

    fn stats(&self) -> CacheStats {
        let entries = self.cache.entry_count();
        metrics::gauge!(crate::metrics::CACHE_ENTRIES).set(entries as f64);
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            loads: c.loads.load(Ordering::Relaxed),
            refreshes: c.refreshes.load(Ordering::Relaxed),
            refresh_failures: c.refresh_failures.load(Ordering::Relaxed),
            stale_serves: c.stale_serves.load(Ordering::Relaxed),
            highest_version: c.highest_version.load(Ordering::Relaxed),
            entries,
        }
    }

    /// How long `entry` may be served while the store answers.
    fn ttl_for(&self, entry: &Loaded) -> Duration {
        if entry.user.is_some() {
            self.settings.ttl
        } else {
            self.settings.negative_ttl
        }
    }

    fn refreshes_at(&self, age: Duration, ttl: Duration) -> bool {
        let after = self.settings.refresh_after;
        !after.is_zero() && after < ttl && age >= after
    }

    fn freshness(status: CacheStatus, age: Duration, ttl: Duration) -> Freshness {
        let left = ttl.as_secs_f64() - age.as_secs_f64();
        Freshness {
            status,
            age,
            ttl_left_secs: left.floor() as i64,
        }
    }

    /// The store read in flight for `id` if `join` and there is one, else a new one (which later
    /// reads of `id` join). The read caches what it finds unless a write ran meanwhile.
    fn read<E: BackendError>(
        self: &Arc<Self>,
        id: &UserId,
        join: bool,
        load: BoxFuture<'static, Result<Option<Arc<UserPermissions>>, E>>,
    ) -> InFlight {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if join && let Some((_, read)) = in_flight.get(id) {
            return read.clone();
        }
        let number = self.next_read.fetch_add(1, Ordering::Relaxed);
        let started = self.writes.load(Ordering::SeqCst);
        let at = Instant::now();
        let this = self.clone();
        let key = id.clone();
        let read = async move {
            this.counters.load();
            let result = load
                .await
                .map_err(BackendError::wrap)
                .map(|user| Loaded { user, at });
            this.store_failing.store(result.is_err(), Ordering::Relaxed);
            if let Ok(loaded) = &result {
                if let Some(version) = loaded.version() {
                    this.counters.version_seen(version);
                }
                this.store_unless_raced(&key, loaded, started).await;
            }
            this.finish(&key, number);
            Outcome { result }
        }
        .boxed()
        .shared();
        in_flight.insert(id.clone(), (number, read.clone()));
        // A read, once started, finishes (and caches what it found) even if every caller waiting
        // for it is dropped (a client gone, a caller's timeout): otherwise it would sit in the
        // in-flight map unpolled, and the refreshes and stale-if-error probes that find it there
        // would wait for nothing.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(read.clone());
        }
        read
    }

    /// Caches `loaded` unless a write ran since its read started, or a read that started later
    /// already put a newer answer there.
    async fn store_unless_raced(&self, id: &UserId, loaded: &Loaded, started: u64) {
        if self.writes.load(Ordering::SeqCst) != started {
            return;
        }
        if let Some(current) = self.cache.get(id).await
            && current.at > loaded.at
        {
            return;
        }
        // Keyed by the found user's own id where there is one: the key and the value then share
        // one copy of it (see `UserId`).
        let key = match &loaded.user {
            Some(user) if user.id == *id => user.id.clone(),
            _ => id.clone(),
        };
        self.cache.insert(key, loaded.clone()).await;
        // A write may have slipped in between the check above and the insert: if so, drop what
        // we inserted rather than serve it until the TTL ends.
        if self.writes.load(Ordering::SeqCst) != started {
            self.cache.invalidate(id).await;
        }
    }

    /// Removes read `number` from the in-flight map, unless a write already detached it and a
    /// newer read took its place.
    fn finish(&self, id: &UserId, number: u64) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if in_flight.get(id).is_some_and(|(n, _)| *n == number) {
            in_flight.remove(id);
        }
    }

    /// Starts one background read replacing `id`'s entry, unless a read of `id` is in flight
    /// already (then that one will). Returns whether a refresh is under way. A refresh-ahead
    /// (`ahead`) is not started while [`MAX_REFRESHES_IN_FLIGHT`] of them run; the stale-if-error
    /// probe always is (it is one read for a failing store, and the alternative is a caller
    /// waiting for that store).
    fn refresh<E: BackendError>(
        self: &Arc<Self>,
        id: &UserId,
        load: LoadFn<'_, E>,
        ahead: bool,
    ) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        {
            let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if in_flight.contains_key(id) {
                return true;
            }
        }
        let slot = if ahead {
            let taken = self
                .refreshing
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < MAX_REFRESHES_IN_FLIGHT).then_some(n + 1)
                });
            if taken.is_err() {
                return false;
            }
            Some(RefreshSlot(self.clone()))
        } else {
            None
        };
        self.counters.refresh();
        // A refresh asks for the truth: it is off the hot path, and a cache behind this one
        // (the permissions API's, for the client) must not add its own age to ours.
        let read = self.read(id, true, load(id.clone(), Consistency::Full));
        let this = self.clone();
        runtime.spawn(async move {
            let outcome = read.await;
            drop(slot);
            if let Err(err) = outcome.result {
                this.counters.refresh_failed();
                let err = match err {
                    LoadError::Store(e) => crate::report::error_chain(&e),
                    LoadError::Source(e) => crate::report::error_chain(&e),
                };
                tracing::warn!(error = %err, "a background read of a cache entry failed; the entry is served until its TTL, or within the stale-if-error window");
            }
        });
        true
    }

    /// `id` as fresh as `consistency` asks: from the cache when it may, else through one shared
    /// store read made by `load`.
    async fn get<E: BackendError>(
        self: &Arc<Self>,
        id: &UserId,
        consistency: Consistency,
        load: LoadFn<'_, E>,
    ) -> Result<Served<Option<Arc<UserPermissions>>>, E> {
        let cached = match consistency {
            Consistency::Full => None,
            _ => self.cache.get(id).await,
        };
        let mut status = match consistency {
            Consistency::Full => CacheStatus::Bypass,
            _ => CacheStatus::Miss,
        };
        if let Some(entry) = &cached {
            let age = entry.at.elapsed();
            let ttl = self.ttl_for(entry);
            if age < ttl {
                if consistency.accepts_cached(entry.version()) {
                    self.counters.hit();
                    self.counters.served(age);
                    let status = if self.refreshes_at(age, ttl) && self.refresh(id, load, true) {
                        CacheStatus::Refreshing
                    } else {
                        CacheStatus::Hit
                    };
                    return Ok(served(entry, Self::freshness(status, age, ttl)));
                }
                status = CacheStatus::TooOld;
            } else if consistency == Consistency::MinimizeLatency
                && entry.user.is_some()
                && age < ttl + self.settings.stale_if_error
                && self.store_failing.load(Ordering::Relaxed)
                && self.refresh(id, load, false)
            {
                // The store failed on its last read: answer with the stale entry now and let one
                // background read find out whether it is back, rather than make every read wait
                // for a failing store (up to its timeout) before serving the same entry.
                self.counters.stale_serve();
                self.counters.served(age);
                let freshness = Self::freshness(CacheStatus::StaleIfError, age, ttl);
                return Ok(served(entry, freshness));
            }
        }
        self.counters.miss(1);
        // Only a read that takes whatever the store says joins another's read: one asking for a
        // version or the truth starts its own, after its own arrival.
        let join = consistency == Consistency::MinimizeLatency;
        let outcome = self.read(id, join, load(id.clone(), consistency)).await;
        match outcome.result {
            Ok(loaded) => {
                let age = loaded.at.elapsed();
                let ttl = self.ttl_for(&loaded);
                Ok(served(&loaded, Self::freshness(status, age, ttl)))
            }
            Err(err) => {
                if consistency == Consistency::MinimizeLatency
                    && let Some(entry) = cached.filter(|e| e.user.is_some())
                {
                    let age = entry.at.elapsed();
                    if age < self.settings.ttl + self.settings.stale_if_error {
                        self.counters.stale_serve();
                        self.counters.served(age);
                        let freshness =
                            Self::freshness(CacheStatus::StaleIfError, age, self.settings.ttl);
                        return Ok(served(&entry, freshness));
                    }
                }
                Err(E::unwrap(err))
            }
        }
    }

    /// Forgets `id`: its entry and any read of it in flight (later reads start their own).
    async fn forget(&self, id: &UserId) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.cache.invalidate(id).await;
    }
}

/// One of the [`MAX_REFRESHES_IN_FLIGHT`] refresh-ahead slots, given back when dropped (whether
/// the read it was taken for succeeded, failed or was cancelled).
struct RefreshSlot(Arc<ReadThrough>);

impl Drop for RefreshSlot {
    fn drop(&mut self) {
        self.0.refreshing.fetch_sub(1, Ordering::AcqRel);
    }
}

fn served(entry: &Loaded, freshness: Freshness) -> Served<Option<Arc<UserPermissions>>> {
    Served {
        value: entry.user.clone(),
        freshness: Some(freshness),
    }
}

/// A store or a permissions source with the TTL cache in front of it: it implements the store
/// trait when it wraps a store ([`CachedStore`]) and the source trait when it wraps a source
/// ([`CachedSource`]).
pub struct Cached<S> {
    inner: Arc<S>,
    read: Arc<ReadThrough>,
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
            inner: Arc::new(inner),
            read: Arc::new(ReadThrough::new(settings)),
        }
    }

    /// The store or source behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The settings in force.
    pub fn settings(&self) -> CacheSettings {
        self.read.settings
    }

    /// The counters since start.
    pub fn stats(&self) -> CacheStats {
        self.read.stats()
    }

    /// Drops the cached entry for `id`, so the next read asks what is behind the cache.
    pub async fn invalidate(&self, id: &UserId) {
        self.read.forget(id).await;
    }
}

impl<S: PermissionsSource> Cached<S> {
    /// How the cache reads `id` from the source: the read owns its own handle on the source.
    fn source_load(
        &self,
    ) -> impl Fn(
        UserId,
        Consistency,
    ) -> BoxFuture<'static, Result<Option<Arc<UserPermissions>>, SourceError>>
    + Send
    + Sync
    + '_ {
        move |id, consistency| {
            let inner = self.inner.clone();
            async move { inner.permissions_at(&id, consistency).await }.boxed()
        }
    }
}

#[async_trait]
impl<S: PermissionsSource> PermissionsSource for Cached<S> {
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        self.permissions_at(id, Consistency::MinimizeLatency).await
    }

    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        let load = self.source_load();
        Ok(self.read.get(id, consistency, &load).await?.value)
    }
}

impl<S: PermissionStore> Cached<S> {
    /// How the cache reads `id` from the store: the read owns its own handle on the store.
    fn store_load(
        &self,
    ) -> impl Fn(
        UserId,
        Consistency,
    ) -> BoxFuture<'static, Result<Option<Arc<UserPermissions>>, StoreError>>
    + Send
    + Sync
    + '_ {
        move |id, consistency| {
            let inner = self.inner.clone();
            async move {
                match consistency {
                    // The store is the truth: a version check happens above, on what it returns.
                    Consistency::Full | Consistency::AtLeast(_) => inner.get_latest(&id).await,
                    Consistency::MinimizeLatency => inner.get(&id).await,
                }
                .map(|user| user.map(Arc::new))
            }
            .boxed()
        }
    }

    async fn around_write<T>(
        &self,
        id: &UserId,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.read.writes.fetch_add(1, Ordering::SeqCst);
        let result = write.await;
        self.read.writes.fetch_add(1, Ordering::SeqCst);
        self.read.forget(id).await;
        result
    }
}

#[async_trait]
impl<S: PermissionStore> PermissionStore for Cached<S> {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        let served = self.get_with(id, Consistency::MinimizeLatency).await?;
        Ok(served.value.map(Arc::unwrap_or_clone))
    }

    /// Past the cache: the store's own answer (a write's starting point must not be stale).
    async fn get_latest(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.inner.get_latest(id).await
    }

    async fn get_with(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Served<Option<Arc<UserPermissions>>>, StoreError> {
        let load = self.store_load();
        self.read.get(id, consistency, &load).await
    }

    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        self.around_write(put.id, self.inner.apply_put(put)).await
    }

    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        self.around_write(delete.id, self.inner.apply_delete(delete))
            .await
    }

    /// Past the cache: history is read rarely, and only the store has it.
    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(id).await
    }

    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        self.inner.list_page(listing).await
    }

    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        self.batch_get_with(ids, Consistency::MinimizeLatency).await
    }

    /// Serves the entries fresh enough for `consistency` and reads the rest in one store call.
    async fn batch_get_with(
        &self,
        ids: &[UserId],
        consistency: Consistency,
    ) -> Result<Vec<UserPermissions>, StoreError> {
        let read = &self.read;
        let started = read.writes.load(Ordering::SeqCst);
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            let cached = match consistency {
                Consistency::Full => None,
                _ => read.cache.get(id).await,
            };
            match cached {
                Some(entry)
                    if entry.at.elapsed() < read.ttl_for(&entry)
                        && consistency.accepts_cached(entry.version()) =>
                {
                    read.counters.hit();
                    read.counters.served(entry.at.elapsed());
                    if let Some(user) = entry.user {
                        found.push((*user).clone());
                    }
                }
                _ => missing.push(id.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        read.counters.miss(missing.len() as u64);
        read.counters.load();
        let at = Instant::now();
        let loaded = self.inner.batch_get(&missing).await?;
        for id in &missing {
            let user = loaded.iter().find(|u| &u.id == id).cloned().map(Arc::new);
            if let Some(user) = &user {
                read.counters.version_seen(user.version);
            }
            read.store_unless_raced(id, &Loaded { user, at }, started)
                .await;
        }
        found.extend(loaded);
        Ok(found)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.inner.ready().await
    }
}
