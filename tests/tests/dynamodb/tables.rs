//! Creating the table, and checking it is there.

use std::time::{Duration, Instant};

use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_core::store::{Author, PermissionStore, Precondition, StoreError};
use clearance_tests::dynalite::Dynalite;

use super::{id, perms, settings};

#[tokio::test]
async fn create_table_creates_once_then_finds_the_table_and_returns_quickly() {
    let dynalite = Dynalite::start().await;
    let store =
        DynamoStore::from_client(dynalite.client(), "permissions", &settings("permissions"));

    let started = Instant::now();
    assert!(
        store.create_table().await.unwrap(),
        "the first call creates the table"
    );
    assert!(
        !store.create_table().await.unwrap(),
        "the second call finds it"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    store
        .put(
            &id("u1"),
            &perms(&["1111"], "Admin"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    assert_eq!(store.get(&id("u1")).await.unwrap().unwrap().version, 1);
    store.ready().await.unwrap();
}

#[tokio::test]
async fn create_table_refuses_a_table_keyed_by_something_else() {
    let dynalite = Dynalite::start().await;
    dynalite
        .create_table_keyed_by("permissions", "userId")
        .await;
    let store =
        DynamoStore::from_client(dynalite.client(), "permissions", &settings("permissions"));

    let err = store.create_table().await.unwrap_err();

    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}

#[tokio::test]
async fn readiness_is_remembered_for_a_few_seconds() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &settings(&table));
    store.ready().await.unwrap();

    dynalite
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    // Still ready: the answer from a moment ago is reused, DynamoDB is not asked again.
    store.ready().await.unwrap();
    // A store with nothing remembered sees the table is gone.
    let fresh = DynamoStore::from_client(dynalite.client(), &table, &settings(&table));
    assert!(fresh.ready().await.is_err());
}

#[tokio::test]
async fn connect_takes_the_table_region_and_endpoint_from_the_settings() {
    let settings = DynamoSettings {
        region: Some("eu-west-1".into()),
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..DynamoSettings::new("permissions")
    };

    // Nothing is sent yet, so this needs no credentials and no server.
    let store = DynamoStore::connect(&settings).await.unwrap();

    assert_eq!(store.table(), "permissions");
}
