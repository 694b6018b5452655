//! Writes whose answer is lost: a proxy in front of dynalite forwards a write, lets it commit,
//! then withholds the answer past the SDK's attempt timeout, so the SDK sends the same write
//! again. The store must answer with what happened (applied once), never 412 or 404 for a write
//! that was made, and never apply an unconditional write twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_core::store::{Author, PermissionStore, Precondition};
use clearance_tests::dynalite::{Dynalite, local_client};
use tokio::net::TcpListener;

use super::{id, perms};

struct Withholding {
    upstream: String,
    client: reqwest::Client,
    /// The operation (`UpdateItem`, `DeleteItem`) whose first answer is withheld.
    operation: &'static str,
    seen: AtomicUsize,
    hold: Duration,
}

async fn forward(
    State(proxy): State<Arc<Withholding>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut request = proxy.client.request(method, &proxy.upstream).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(err) => return (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    };
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out_headers.insert(name, value.clone());
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    if target.ends_with(&format!(".{}", proxy.operation))
        && proxy.seen.fetch_add(1, Ordering::SeqCst) == 0
    {
        // The write has committed upstream; its answer is held until the client gave up on it.
        tokio::time::sleep(proxy.hold).await;
    }
    (status, out_headers, body).into_response()
}

/// A store that reaches dynalite through a proxy withholding the first answer to `operation`.
async fn store_behind_proxy(
    dynalite: &Dynalite,
    table: &str,
    operation: &'static str,
) -> (DynamoStore, Arc<Withholding>, tokio::task::JoinHandle<()>) {
    let proxy = Arc::new(Withholding {
        upstream: dynalite.endpoint(),
        client: reqwest::Client::new(),
        operation,
        seen: AtomicUsize::new(0),
        hold: Duration::from_millis(1_500),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let settings = DynamoSettings {
        max_attempts: 3,
        attempt_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(5),
        ..DynamoSettings::new(table)
    };
    let store = DynamoStore::from_client(local_client(endpoint), table, &settings);
    (store, proxy, server)
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_answered_as_applied_exactly_once() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let direct = DynamoStore::from_client(dynalite.client(), &table, &super::settings(&table));
    let alice = id("alice");
    direct
        .put(
            &alice,
            &perms(&["1111"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();

    for (name, precondition) in [
        ("unconditional", Precondition::None),
        ("If-Match", Precondition::Version(0)),
        ("must exist", Precondition::MustExist),
    ] {
        let (store, proxy, server) = store_behind_proxy(&dynalite, &table, "UpdateItem").await;
        let before = direct.get(&alice).await.unwrap().unwrap();
        let precondition = match precondition {
            Precondition::Version(_) => Precondition::Version(before.version),
            other => other,
        };
        let written = store
            .put(
                &alice,
                &perms(&["1111", "2222"], "Manager"),
                precondition,
                Author::actor(Some("admin")),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: a write that was applied answered {e:?}"));
        assert!(
            proxy.seen.load(Ordering::SeqCst) >= 2,
            "{name}: the SDK sent the write again"
        );
        assert_eq!(
            written.before.as_ref().unwrap().version,
            before.version,
            "{name}"
        );
        assert_eq!(written.after.version, before.version + 1, "{name}");
        let stored = direct.get(&alice).await.unwrap().unwrap();
        assert_eq!(
            stored.version,
            before.version + 1,
            "{name}: applied exactly once"
        );
        assert_eq!(stored.role.as_str(), "Manager");
        server.abort();
    }

    // Creating a user.
    let (store, _proxy, server) = store_behind_proxy(&dynalite, &table, "UpdateItem").await;
    let bob = id("bob");
    let created = store
        .put(
            &bob,
            &perms(&["1111"], "Standard"),
            Precondition::MustNotExist,
            Author::NONE,
        )
        .await
        .expect("a create that was applied is answered as created");
    assert!(created.before.is_none());
    assert_eq!(direct.get(&bob).await.unwrap().unwrap().version, 1);
    server.abort();
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_answered_as_deleted() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let direct = DynamoStore::from_client(dynalite.client(), &table, &super::settings(&table));
    for (name, precondition) in [
        ("unconditional", Precondition::None),
        ("If-Match", Precondition::Version(1)),
    ] {
        let carol = id("carol");
        direct
            .put(
                &carol,
                &perms(&["1111"], "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
        let (store, proxy, server) = store_behind_proxy(&dynalite, &table, "DeleteItem").await;
        let removed = store
            .delete(&carol, precondition, Author::NONE)
            .await
            .unwrap_or_else(|e| panic!("{name}: a delete that was applied answered {e:?}"));
        assert!(proxy.seen.load(Ordering::SeqCst) >= 2, "{name}: sent again");
        assert_eq!(removed.version, 1, "{name}: what was deleted");
        assert!(direct.get(&carol).await.unwrap().is_none());
        server.abort();
    }
}

#[tokio::test]
async fn a_precondition_that_fails_on_the_first_attempt_is_still_a_conflict() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &super::settings(&table));
    let dave = id("dave");
    store
        .put(
            &dave,
            &perms(&["1111"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    let err = store
        .put(
            &dave,
            &perms(&["1111"], "Admin"),
            Precondition::Version(7),
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            clearance_core::store::StoreError::Conflict { current: Some(1) }
        ),
        "{err:?}"
    );
    assert!(matches!(
        store
            .delete(&id("nobody"), Precondition::None, Author::NONE)
            .await,
        Err(clearance_core::store::StoreError::NotFound)
    ));
}
