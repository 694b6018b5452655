//! The cache's behaviour, proven with a store that counts the calls that reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use clearance_core::cache::{CacheSettings, CachedStore};
use clearance_core::domain::{CompanyId, Permissions, Role, UserId, UserPermissions};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{
    Author, Delete, Listing, Page, PermissionStore, Precondition, Put, StoreError, WriteOutcome,
};

/// A memory store that counts reads, can be slowed down, and can be made to fail.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    gets: AtomicUsize,
    batch_gets: AtomicUsize,
    delay_ms: AtomicUsize,
    failing: AtomicBool,
}

impl CountingStore {
    fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

#[async_trait]
impl PermissionStore for CountingStore {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst) as u64;
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Injected, None));
        }
        self.inner.get(id).await
    }
    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        self.inner.apply_put(put).await
    }
    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        self.inner.apply_delete(delete).await
    }
    async fn history(
        &self,
        id: &UserId,
    ) -> Result<Vec<clearance_core::domain::HistoryEntry>, StoreError> {
        self.inner.history(id).await
    }
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        self.inner.list_page(listing).await
    }
    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        self.batch_gets.fetch_add(1, Ordering::SeqCst);
        self.inner.batch_get(ids).await
    }
    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn id(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn perms(company: &str, role: &str) -> Permissions {
    Permissions::new(
        vec![CompanyId::parse(company).unwrap()],
        Role::from_stored(role),
    )
    .unwrap()
}

fn cached(settings: CacheSettings) -> (Arc<CountingStore>, CachedStore<Arc<CountingStore>>) {
    let counting = Arc::new(CountingStore::default());
    (counting.clone(), CachedStore::new(counting, settings))
}

async fn seed(store: &CountingStore, name: &str) {
    store
        .inner
        .put(
            &id(name),
            &perms("1111", "Manager"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cached_read_does_not_reach_the_store() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    for _ in 0..5 {
        assert!(cache.get(&id("alice")).await.unwrap().is_some());
    }
    assert_eq!(counting.gets(), 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.loads), (4, 1, 1));
}

#[tokio::test]
async fn one_hundred_concurrent_misses_make_one_store_read() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    counting.delay_ms.store(50, Ordering::SeqCst);
    let cache = Arc::new(cache);
    let reads = (0..100).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id("alice")).await })
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.unwrap().unwrap().unwrap().role.as_str(), "Manager");
    }
    assert_eq!(counting.gets(), 1);
    assert_eq!(cache.stats().loads, 1);
}

#[tokio::test]
async fn a_write_is_visible_on_the_next_read() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    assert_eq!(
        cache
            .get(&id("alice"))
            .await
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "Manager"
    );
    cache
        .put(
            &id("alice"),
            &perms("1111", "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        cache
            .get(&id("alice"))
            .await
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "Standard"
    );
    cache
        .delete(&id("alice"), Precondition::None, Author::NONE)
        .await
        .unwrap();
    assert_eq!(cache.get(&id("alice")).await.unwrap(), None);
}

#[tokio::test]
async fn a_failed_conditional_write_still_drops_the_cached_copy() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    cache.get(&id("alice")).await.unwrap();
    // Someone else changes the store behind the cache's back...
    counting
        .inner
        .put(
            &id("alice"),
            &perms("2222", "Admin"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    // ...so a write based on the cached version fails, and the stale copy must go with it.
    let err = cache
        .put(
            &id("alice"),
            &perms("1111", "Standard"),
            Precondition::Version(1),
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { current: Some(2) }));
    assert_eq!(cache.get(&id("alice")).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn the_ttl_counts_from_the_load_and_reads_do_not_extend_it() {
    let (counting, cache) = cached(CacheSettings {
        ttl: Duration::from_millis(400),
        negative_ttl: Duration::from_millis(100),
        capacity: 100,
        ..CacheSettings::default()
    });
    seed(&counting, "alice").await;
    cache.get(&id("alice")).await.unwrap();
    // Keep reading every 50 ms: if reads extended the entry it would never expire.
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1_000) {
        cache.get(&id("alice")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let loads = counting.gets();
    assert!(
        (2..=4).contains(&loads),
        "1 s of reads with a 400 ms TTL should load 2-3 times, loaded {loads}"
    );
}

#[tokio::test]
async fn not_found_is_cached_for_the_shorter_negative_ttl() {
    let (counting, cache) = cached(CacheSettings {
        ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_millis(150),
        capacity: 100,
        ..CacheSettings::default()
    });
    assert_eq!(cache.get(&id("ghost")).await.unwrap(), None);
    assert_eq!(cache.get(&id("ghost")).await.unwrap(), None);
    assert_eq!(
        counting.gets(),
        1,
        "the second miss must come from the cache"
    );
    // The user appears behind the cache's back; once the negative entry expires it is seen.
    seed(&counting, "ghost").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cache.get(&id("ghost")).await.unwrap().is_some());
    assert_eq!(counting.gets(), 2);
}

#[tokio::test]
async fn errors_are_never_cached() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    counting.failing.store(true, Ordering::SeqCst);
    assert!(cache.get(&id("alice")).await.is_err());
    counting.failing.store(false, Ordering::SeqCst);
    assert!(cache.get(&id("alice")).await.unwrap().is_some());
    assert_eq!(counting.gets(), 2);
}

#[tokio::test]
async fn a_read_racing_a_write_is_not_cached() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    counting.delay_ms.store(200, Ordering::SeqCst);
    let cache = Arc::new(cache);
    let reader = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id("alice")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The write lands while the read is in flight (the read saw the old role).
    cache
        .put(
            &id("alice"),
            &perms("1111", "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    reader.await.unwrap().unwrap();
    counting.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(
        cache
            .get(&id("alice"))
            .await
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "Standard",
        "the racing read's old value must not have been cached"
    );
}

#[tokio::test]
async fn batch_get_serves_hits_and_loads_the_rest_in_one_call() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "a").await;
    seed(&counting, "b").await;
    cache.get(&id("a")).await.unwrap();
    let found = cache
        .batch_get(&[id("a"), id("b"), id("zz")])
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(counting.batch_gets.load(Ordering::SeqCst), 1);
    // Everything asked for is now cached, the missing id included.
    let again = cache
        .batch_get(&[id("a"), id("b"), id("zz")])
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(counting.batch_gets.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_patch_checks_if_match_against_the_store_not_a_stale_cache_entry() {
    use clearance_core::store::ops::{self, PermissionsPatch};
    let (counting, cache) = cached(CacheSettings {
        ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(60),
        capacity: 100,
        ..CacheSettings::default()
    });
    seed(&counting, "alice").await;
    // This instance caches version 1; another instance then writes version 2 to the store.
    assert_eq!(cache.get(&id("alice")).await.unwrap().unwrap().version, 1);
    counting
        .put(
            &id("alice"),
            &perms("2222", "Manager"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        cache.get(&id("alice")).await.unwrap().unwrap().version,
        1,
        "still cached"
    );
    let patch = PermissionsPatch::parse(Some(vec!["3333".into()]), None, None).unwrap();
    // A client holding the true ETag ("2") is not refused because this instance's cache is old.
    let patched = ops::patch(
        &cache,
        &id("alice"),
        &patch,
        Precondition::Version(2),
        Author::NONE,
    )
    .await
    .expect("If-Match matches the stored version");
    assert_eq!(patched.after.version, 3);
    assert_eq!(patched.after.companies.len(), 2, "patched the stored state");
    // And one holding the cached, stale ETag ("1") is refused by the store.
    let stale = ops::patch(
        &cache,
        &id("alice"),
        &patch,
        Precondition::Version(1),
        Author::NONE,
    )
    .await;
    assert!(
        matches!(
            stale,
            Err(ops::PatchError::Store(StoreError::Conflict {
                current: Some(3)
            }))
        ),
        "{stale:?}"
    );
}

use clearance_core::consistency::{CacheStatus, Consistency};

fn short(ttl_ms: u64, refresh_ms: u64, stale_ms: u64) -> CacheSettings {
    CacheSettings {
        ttl: Duration::from_millis(ttl_ms),
        negative_ttl: Duration::from_millis(100),
        capacity: 100,
        refresh_after: Duration::from_millis(refresh_ms),
        stale_if_error: Duration::from_millis(stale_ms),
    }
}

async fn status(cache: &CachedStore<Arc<CountingStore>>, who: &str, c: Consistency) -> CacheStatus {
    cache
        .get_with(&id(who), c)
        .await
        .unwrap()
        .freshness
        .unwrap()
        .status
}

async fn role(cache: &CachedStore<Arc<CountingStore>>, who: &str) -> String {
    cache
        .get(&id(who))
        .await
        .unwrap()
        .unwrap()
        .role
        .as_str()
        .to_owned()
}

/// Changes alice behind the cache's back, as another instance would.
async fn demote_behind_the_cache(counting: &CountingStore) {
    counting
        .inner
        .put(
            &id("alice"),
            &perms("1111", "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_ahead_serves_the_old_entry_while_one_background_read_replaces_it() {
    let (counting, cache) = cached(short(10_000, 400, 0));
    seed(&counting, "alice").await;
    assert_eq!(
        status(&cache, "alice", Consistency::MinimizeLatency).await,
        CacheStatus::Miss
    );
    demote_behind_the_cache(&counting).await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    counting.delay_ms.store(100, Ordering::SeqCst);
    let cache = Arc::new(cache);
    // Fifty reads past the refresh interval: all served at once from the entry, none waits.
    let started = tokio::time::Instant::now();
    let reads = (0..50).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_with(&id("alice"), Consistency::MinimizeLatency)
                .await
        })
    });
    for read in futures::future::join_all(reads).await {
        let served = read.unwrap().unwrap();
        assert_eq!(served.value.unwrap().role.as_str(), "Manager");
        assert_eq!(served.freshness.unwrap().status, CacheStatus::Refreshing);
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "a read waited for the store"
    );
    // One background read, not fifty; once it is back the new role is served as a plain hit.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(counting.gets(), 2, "one load, then exactly one refresh");
    assert_eq!(role(&cache, "alice").await, "Standard");
    assert_eq!(
        status(&cache, "alice", Consistency::MinimizeLatency).await,
        CacheStatus::Hit
    );
    let stats = cache.stats();
    assert_eq!((stats.refreshes, stats.refresh_failures), (1, 0));
}

#[tokio::test]
async fn refresh_ahead_runs_at_most_the_limit_of_reads_at_once_and_leaves_the_rest_to_later_reads()
{
    use clearance_core::cache::MAX_REFRESHES_IN_FLIGHT;
    let limit = usize::try_from(MAX_REFRESHES_IN_FLIGHT).unwrap();
    let users: Vec<String> = (0..limit + 8).map(|i| format!("user-{i}")).collect();
    let (counting, cache) = cached(short(10_000, 200, 0));
    for user in &users {
        seed(&counting, user).await;
        cache.get(&id(user)).await.unwrap();
    }
    assert_eq!(counting.gets(), users.len());
    // Every entry comes due at once, as after a warm-up; the store is slow to answer.
    tokio::time::sleep(Duration::from_millis(250)).await;
    counting.delay_ms.store(300, Ordering::SeqCst);
    let mut refreshing = Vec::new();
    for user in &users {
        match status(&cache, user, Consistency::MinimizeLatency).await {
            CacheStatus::Refreshing => refreshing.push(user.clone()),
            CacheStatus::Hit => {}
            other => panic!("{user}: {other:?}"),
        }
    }
    assert_eq!(
        refreshing,
        users[..limit],
        "the first {limit} due entries, and no more"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        counting.gets(),
        users.len() + limit,
        "no read past the limit started"
    );
    // Once those are back, the entries left behind are refreshed by their next read.
    tokio::time::sleep(Duration::from_millis(500)).await;
    counting.delay_ms.store(0, Ordering::SeqCst);
    for user in &users[limit..] {
        assert_eq!(
            status(&cache, user, Consistency::MinimizeLatency).await,
            CacheStatus::Refreshing,
            "{user}"
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(counting.gets(), 2 * users.len());
    assert_eq!(cache.stats().refreshes, u64::try_from(users.len()).unwrap());
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_entry_until_its_ttl() {
    let (counting, cache) = cached(short(600, 100, 0));
    seed(&counting, "alice").await;
    cache.get(&id("alice")).await.unwrap();
    counting.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(role(&cache, "alice").await, "Manager");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(cache.stats().refresh_failures, 1);
    assert_eq!(
        role(&cache, "alice").await,
        "Manager",
        "still within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        cache.get(&id("alice")).await.is_err(),
        "the TTL is the hard bound"
    );
}

#[tokio::test]
async fn stale_if_error_serves_a_found_user_past_its_ttl_within_the_window_only() {
    let (counting, cache) = cached(short(200, 0, 400));
    seed(&counting, "alice").await;
    cache.get(&id("alice")).await.unwrap();
    counting.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let served = cache
        .get_with(&id("alice"), Consistency::MinimizeLatency)
        .await
        .expect("served stale while the store fails");
    let freshness = served.freshness.unwrap();
    assert_eq!(freshness.status, CacheStatus::StaleIfError);
    assert!(freshness.age >= Duration::from_millis(300));
    assert!(freshness.ttl_left_secs < 0);
    // Never to a caller that asked for a version or the truth.
    assert!(
        cache
            .get_with(&id("alice"), Consistency::AtLeast(1))
            .await
            .is_err()
    );
    assert!(
        cache
            .get_with(&id("alice"), Consistency::Full)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        cache.get(&id("alice")).await.is_err(),
        "never past the window"
    );
    assert_eq!(cache.stats().stale_serves, 1);
    // The store is back: fresh again.
    counting.failing.store(false, Ordering::SeqCst);
    assert_eq!(role(&cache, "alice").await, "Manager");
}

#[tokio::test]
async fn stale_if_error_never_serves_a_cached_not_found() {
    let (counting, cache) = cached(short(200, 0, 10_000));
    assert_eq!(cache.get(&id("ghost")).await.unwrap(), None);
    counting.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(cache.get(&id("ghost")).await.is_err());
    assert_eq!(cache.stats().stale_serves, 0);
}

#[tokio::test]
async fn a_version_or_a_fully_consistent_read_goes_past_an_older_entry() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    cache.get(&id("alice")).await.unwrap();
    demote_behind_the_cache(&counting).await; // version 2 in the store, 1 in the cache
    assert_eq!(
        role(&cache, "alice").await,
        "Manager",
        "the cache still holds version 1"
    );
    assert_eq!(
        status(&cache, "alice", Consistency::AtLeast(1)).await,
        CacheStatus::Hit
    );
    let fresh = cache
        .get_with(&id("alice"), Consistency::AtLeast(2))
        .await
        .unwrap();
    assert_eq!(fresh.value.unwrap().version, 2);
    assert_eq!(fresh.freshness.unwrap().status, CacheStatus::TooOld);
    // What it read is cached for everyone after it.
    assert_eq!(role(&cache, "alice").await, "Standard");
    let gets = counting.gets();
    assert_eq!(
        status(&cache, "alice", Consistency::Full).await,
        CacheStatus::Bypass
    );
    assert_eq!(
        counting.gets(),
        gets + 1,
        "a fully consistent read always reads the store"
    );
    assert_eq!(cache.stats().highest_version, 2);
}

#[tokio::test]
async fn a_read_arriving_after_a_write_never_joins_a_read_from_before_it() {
    let (counting, cache) = cached(CacheSettings::default());
    seed(&counting, "alice").await;
    counting.delay_ms.store(300, Ordering::SeqCst);
    let cache = Arc::new(cache);
    let early = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id("alice")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    cache
        .put(
            &id("alice"),
            &perms("1111", "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    // The early read is still in flight; a read that starts now must see the write.
    assert_eq!(role(&cache, "alice").await, "Standard");
    early.await.unwrap().unwrap();
    counting.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(role(&cache, "alice").await, "Standard");
}

#[tokio::test]
async fn once_the_store_has_failed_a_read_past_the_ttl_is_served_stale_without_waiting() {
    let (counting, cache) = cached(short(200, 0, 10_000));
    seed(&counting, "alice").await;
    seed(&counting, "bob").await;
    cache.get(&id("alice")).await.unwrap();
    cache.get(&id("bob")).await.unwrap();
    counting.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The first read past the TTL finds out that the store fails (it fails at once here).
    assert_eq!(
        status(&cache, "alice", Consistency::MinimizeLatency).await,
        CacheStatus::StaleIfError
    );
    // Now the store stops answering at all (a read would wait a minute): bob's stale entry is
    // served without waiting for it, and one background read is sent to find out.
    counting.delay_ms.store(60_000, Ordering::SeqCst);
    let gets = counting.gets();
    let cache = Arc::new(cache);
    let reads = (0..20).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_with(&id("bob"), Consistency::MinimizeLatency)
                .await
        })
    });
    let answered = tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(reads))
        .await
        .expect("no read waits for a store that has already failed");
    for read in answered {
        let served = read.unwrap().unwrap();
        assert_eq!(served.value.unwrap().role.as_str(), "Manager");
        assert_eq!(served.freshness.unwrap().status, CacheStatus::StaleIfError);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(counting.gets(), gets + 1, "one background read, not twenty");
    assert_eq!(cache.stats().stale_serves, 21);
    // A fully consistent read still waits for the store, never stale.
    let full = tokio::time::timeout(
        Duration::from_millis(300),
        cache.get_with(&id("bob"), Consistency::Full),
    )
    .await;
    assert!(
        full.is_err(),
        "a fully consistent read must wait for the store"
    );
    // The store is back: the background read of the next stale answer succeeds, and the one
    // after it is fresh.
    counting.delay_ms.store(0, Ordering::SeqCst);
    counting.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        status(&cache, "alice", Consistency::MinimizeLatency).await,
        CacheStatus::StaleIfError
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        status(&cache, "alice", Consistency::MinimizeLatency).await,
        CacheStatus::Hit
    );
}
