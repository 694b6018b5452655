//! The store contract run against the in-memory store and the embedded (redb) store.

mod memory {
    use clearance_core::store::memory::MemoryStore;

    clearance_core::store_contract_tests!(async { ((), MemoryStore::new()) });
}

mod embedded {
    use clearance_core::store::embedded::EmbeddedStore;

    async fn fresh() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
        (dir, store)
    }

    clearance_core::store_contract_tests!(fresh());
}

mod cached_embedded {
    use clearance_core::cache::{CacheSettings, CachedStore};
    use clearance_core::store::embedded::EmbeddedStore;

    async fn fresh() -> (tempfile::TempDir, CachedStore<EmbeddedStore>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
        (dir, CachedStore::new(store, CacheSettings::default()))
    }

    // The cache must be invisible: the same contract holds with it in front.
    clearance_core::store_contract_tests!(fresh());
}

mod embedded_persistence {
    use clearance_core::domain::{Permissions, Role, UserId};
    use clearance_core::store::embedded::EmbeddedStore;
    use clearance_core::store::{PermissionStore, Precondition};

    #[tokio::test]
    async fn an_acknowledged_write_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = UserId::parse("persist-me").unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            assert!(store.is_empty().await.unwrap());
            let p = Permissions::new(vec![], Role::from_stored("Admin")).unwrap();
            store.put(&id, &p, Precondition::None, None).await.unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert!(!store.is_empty().await.unwrap());
        assert_eq!(store.get(&id).await.unwrap().unwrap().version, 1);
    }
}
