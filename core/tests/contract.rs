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
    use clearance_core::store::{Author, PermissionStore, Precondition};

    #[tokio::test]
    async fn an_acknowledged_write_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = UserId::parse("persist-me").unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            assert!(store.is_empty().await.unwrap());
            let p = Permissions::new(vec![], Role::from_stored("Admin")).unwrap();
            store
                .put(&id, &p, Precondition::None, Author::NONE)
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert!(!store.is_empty().await.unwrap());
        assert_eq!(store.get(&id).await.unwrap().unwrap().version, 1);
    }
}

/// The embedded store's bulk writes (the seed CLI's import): one transaction per batch.
mod embedded_batches {
    use clearance_core::domain::CompanyId;
    use clearance_core::store::contract::{id, perms};
    use clearance_core::store::embedded::EmbeddedStore;
    use clearance_core::store::{Author, PermissionStore, Precondition, StoreError};

    /// An embedded store of its own holding `user` (a Standard of 1111) at version 1.
    async fn holding(user: &str) -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let standard = perms(&["1111"], "Standard");
        store
            .put(&id(user), &standard, Precondition::None, Author::NONE)
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn put_many_writes_versions_and_the_company_index_as_put_does() {
        let (_dir, store) = holding("old").await;

        let outcomes = store
            .put_many(
                vec![
                    (id("old"), perms(&["2222"], "Admin")),
                    (id("new"), perms(&["2222", "3333"], "Manager")),
                ],
                Precondition::None,
                Some("bulk"),
            )
            .await
            .unwrap();

        assert_eq!(outcomes.len(), 2);
        let old = outcomes[0].as_ref().unwrap();
        assert_eq!(old.before.as_ref().unwrap().version, 1);
        assert_eq!(old.after.version, 2);
        assert_eq!(outcomes[1].as_ref().unwrap().after.version, 1);
        let stored = store.get(&id("new")).await.unwrap().unwrap();
        assert_eq!(stored.updated_by.as_deref(), Some("bulk"));
        let members = |c: &str| {
            let store = store.clone();
            let c = CompanyId::parse(c).unwrap();
            async move {
                let page = store.list_by_company(&c, 10, None).await.unwrap();
                page.users
                    .into_iter()
                    .map(|u| u.id.as_str().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert!(
            members("1111").await.is_empty(),
            "the old index entry is gone"
        );
        assert_eq!(members("2222").await, ["new", "old"]);
        assert_eq!(members("3333").await, ["new"]);
    }

    #[tokio::test]
    async fn put_many_keeps_a_record_whose_precondition_fails_out_and_writes_the_rest() {
        let (_dir, store) = holding("taken").await;

        let outcomes = store
            .put_many(
                vec![
                    (id("taken"), perms(&["9999"], "Admin")),
                    (id("free"), perms(&["9999"], "Admin")),
                ],
                Precondition::MustNotExist,
                None,
            )
            .await
            .unwrap();

        assert!(matches!(
            outcomes[0],
            Err(StoreError::Conflict { current: Some(1) })
        ));
        assert!(outcomes[1].is_ok());
        let taken = store.get(&id("taken")).await.unwrap().unwrap();
        assert_eq!(taken.role.as_str(), "Standard", "left untouched");
        assert!(store.get(&id("free")).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn put_many_writes_in_id_order_but_a_repeated_id_in_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();

        let outcomes = store
            .put_many(
                vec![
                    (id("zed"), perms(&["1111"], "Standard")),
                    (id("amy"), perms(&["1111"], "Standard")),
                    (id("zed"), perms(&["2222"], "Admin")),
                ],
                Precondition::None,
                None,
            )
            .await
            .unwrap();

        let versions: Vec<_> = outcomes
            .iter()
            .map(|o| {
                (
                    o.as_ref().unwrap().after.id.as_str(),
                    o.as_ref().unwrap().after.version,
                )
            })
            .collect();
        assert_eq!(
            versions,
            [("zed", 1), ("amy", 1), ("zed", 2)],
            "outcomes in the order given"
        );
        let zed = store.get(&id("zed")).await.unwrap().unwrap();
        assert_eq!(
            (zed.role.as_str(), zed.version),
            ("Admin", 2),
            "the later record won"
        );
        // The company index follows the later record too: zed left 1111 for 2222.
        for (company, members) in [("1111", vec!["amy"]), ("2222", vec!["zed"])] {
            let company = CompanyId::parse(company).unwrap();
            let page = store.list_by_company(&company, 10, None).await.unwrap();
            let ids: Vec<&str> = page.users.iter().map(|u| u.id.as_str()).collect();
            assert_eq!(ids, members, "{company}");
        }
    }

    #[tokio::test]
    async fn a_committed_batch_is_there_after_reopening_and_delete_many_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<_> = (0..500).map(|i| id(&format!("user-{i:03}"))).collect();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            let batch = ids
                .iter()
                .map(|i| (i.clone(), perms(&["1111"], "Standard")))
                .collect();
            let outcomes = store
                .put_many(batch, Precondition::None, None)
                .await
                .unwrap();
            assert!(outcomes.iter().all(Result::is_ok));
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.all().await.unwrap().len(), 500);

        let deleted = store
            .delete_many(
                vec![ids[0].clone(), ids[1].clone(), id("never-there")],
                None,
            )
            .await
            .unwrap();
        assert_eq!(deleted, 2);
        assert_eq!(store.all().await.unwrap().len(), 498);
        let company = CompanyId::parse("1111").unwrap();
        let page = store.list_by_company(&company, 1000, None).await.unwrap();
        assert_eq!(page.users.len(), 498, "the index follows the deletions");
    }
}
