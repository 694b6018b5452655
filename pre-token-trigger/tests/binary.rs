//! The trigger binary as Lambda runs it: started as a process against a fake Lambda Runtime API,
//! reading permissions from the real permissions service over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clearance_core::domain::{CompanyId, Permissions, Role, UserId};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{PermissionStore, Precondition};
use clearance_service::config::Settings;
use clearance_tests::lambda_runtime::{FakeRuntime, Outcome};
use serde_json::{Value, json};

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";

/// The binary under test: this build's, or another (e.g. a release build, to measure its start-up
/// time) named by `CLEARANCE_TRIGGER_BINARY`.
fn binary() -> String {
    std::env::var("CLEARANCE_TRIGGER_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearance-pre-token-trigger").to_owned())
}

fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The permissions service over a memory store holding one user; returns its URL.
async fn service() -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Arc::new(MemoryStore::new());
    let p = Permissions::new(
        vec![CompanyId::parse("1111").unwrap()],
        Role::from_stored("Manager"),
    )
    .unwrap();
    store
        .put(&UserId::parse(SUB).unwrap(), &p, Precondition::None, None)
        .await
        .unwrap();
    let state = clearance_service::startup::with_cache(store, &Settings::for_data_dir("unused"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(clearance_service::startup::serve(
        listener,
        clearance_service::app(state),
        async {
            let _ = rx.await;
        },
    ));
    (url, tx)
}

#[tokio::test]
async fn the_trigger_binary_answers_cognito_events_under_the_lambda_runtime() {
    let (url, _stop) = service().await;
    let runtime = FakeRuntime::start().await;
    let started = Instant::now();
    let _function = runtime.spawn_function(
        binary().as_ref(),
        "clearance-pre-token-trigger",
        &[("PERMISSIONS_API_URL", &url)],
    );
    let first = runtime
        .invoke(event("v2-hosted-auth.json"), Duration::from_secs(20))
        .await;
    let first_event = started.elapsed();
    let Outcome::Response(out) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
            ["role"],
        "Manager"
    );
    println!("trigger: process start to first answered event: {first_event:?}");

    let mut unknown = event("v1-authentication.json");
    unknown["request"]["userAttributes"]["sub"] = json!("nobody-here");
    let Outcome::Response(out) = runtime.invoke(unknown, Duration::from_secs(10)).await else {
        panic!("expected a response")
    };
    assert_eq!(out["response"], json!({"claimsOverrideDetails": null}));

    let Outcome::Error(err) = runtime
        .invoke(json!({"nonsense": true}), Duration::from_secs(10))
        .await
    else {
        panic!("a malformed event must be an error")
    };
    assert!(
        err["errorMessage"].as_str().unwrap().contains("malformed"),
        "{err}"
    );
}

#[tokio::test]
async fn a_reserved_claim_name_stops_the_trigger_at_start_up() {
    let runtime = FakeRuntime::start().await;
    let mut child = runtime.spawn_function(
        env!("CARGO_BIN_EXE_clearance-pre-token-trigger").as_ref(),
        "clearance-pre-token-trigger",
        &[
            ("PERMISSIONS_API_URL", "http://127.0.0.1:9"),
            ("CLAIM_ROLE", "cognito:groups"),
        ],
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
}
