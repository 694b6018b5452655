//! When DynamoDB cannot be reached, the store says `Unavailable` in bounded time, and says nothing
//! of AWS in its message.

use std::error::Error as _;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_core::store::{PermissionStore, StoreError};
use clearance_tests::dynalite::{Dynalite, local_client};
use clearance_tests::server::SilentServer;
use tokio::net::TcpListener;

use super::{id, settings};

/// A store with the production retry and timeout defaults on whatever listens at `endpoint`.
fn store_at(endpoint: String) -> DynamoStore {
    let settings = DynamoSettings::new("permissions");
    DynamoStore::from_client(local_client(endpoint), "permissions", &settings)
}

fn assert_unavailable(err: &StoreError) {
    match err {
        StoreError::Unavailable { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The message is generic; what went wrong underneath is kept as the source, for the log.
    assert_eq!(err.to_string(), "the permissions store is unavailable");
    assert!(err.source().is_some());
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_total_timeout() {
    // Accepts every connection and holds it open without ever answering.
    let silent = SilentServer::start().await;
    let endpoint = silent.url();
    let store = store_at(endpoint);

    let started = Instant::now();
    let err = store.get(&id("u1")).await.unwrap_err();
    let took = started.elapsed();

    assert_unavailable(&err);
    let StoreError::Unavailable { source, .. } = &err else {
        unreachable!("checked above");
    };
    let sdk_error = source
        .downcast_ref::<SdkError<GetItemError>>()
        .expect("the SDK's error is kept whole as the source");
    assert!(
        matches!(sdk_error, SdkError::TimeoutError(_)),
        "{sdk_error:?}"
    );
    let total = DynamoSettings::DEFAULT_TOTAL_TIMEOUT;
    assert!(took < total + Duration::from_secs(1), "took {took:?}");
    // It did wait for the server rather than give up at once.
    assert!(
        took >= DynamoSettings::DEFAULT_ATTEMPT_TIMEOUT,
        "took {took:?}"
    );
    drop(silent);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    // A port that was just free: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let store = store_at(endpoint);

    let started = Instant::now();
    let err = store.ready().await.unwrap_err();

    assert_unavailable(&err);
    assert!(
        started.elapsed() < DynamoSettings::DEFAULT_TOTAL_TIMEOUT + Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stopped_dynalite_makes_the_store_unavailable_until_it_is_back() {
    let mut dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &settings(&table));
    store.get(&id("u1")).await.unwrap();

    dynalite.stop().await;
    let err = store.get(&id("u1")).await.unwrap_err();
    assert_unavailable(&err);

    // dynalite comes back empty, on the same port: the same store works once the table is made.
    dynalite.restart().await;
    assert!(
        store.create_table().await.unwrap(),
        "the table should be new"
    );
    assert_eq!(store.get(&id("u1")).await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_table_is_an_internal_error_not_unavailable() {
    let dynalite = Dynalite::start().await;
    let store = DynamoStore::from_client(
        dynalite.client(),
        "no-such-table",
        &settings("no-such-table"),
    );

    let err = store.get(&id("u1")).await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    assert_eq!(err.to_string(), "permissions store error");
    let err = store.ready().await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}
