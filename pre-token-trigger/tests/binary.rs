//! The trigger binary as Lambda runs it: started as a process against a fake Lambda Runtime API,
//! reading permissions from the real permissions service over HTTP.

use std::time::{Duration, Instant};

use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::function::Function;
use clearance_tests::server::TestServer;
use clearance_tests::{events, seed};
use serde_json::{Value, json};

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";

/// The binary under test: this build's, or another (e.g. a release build, to measure its start-up
/// time) named by `CLEARANCE_TRIGGER_BINARY`.
fn binary() -> String {
    std::env::var("CLEARANCE_TRIGGER_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearance-pre-token-trigger").to_owned())
}

fn event(name: &str) -> Value {
    events::read(env!("CARGO_MANIFEST_DIR"), name)
}

/// The permissions service over a memory store holding one user.
async fn service() -> TestServer {
    let store = seed::users()
        .grant(SUB, &["1111"], "Manager")
        .memory()
        .await;
    let state = startup::with_cache(store, &Settings::for_data_dir("unused"));
    TestServer::start(clearance_service::app(state)).await
}

#[tokio::test]
async fn the_trigger_binary_answers_cognito_events_under_the_lambda_runtime() {
    let service = service().await;
    let started = Instant::now();
    let function = Function::start(
        binary(),
        "clearance-pre-token-trigger",
        &[("PERMISSIONS_API_URL", &service.url())],
    )
    .await;
    let out = function.respond(event("v2-hosted-auth.json")).await;
    let first_event = started.elapsed();
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
            ["role"],
        "Manager"
    );
    println!("trigger: process start to first answered event: {first_event:?}");

    let mut unknown = event("v1-authentication.json");
    unknown["request"]["userAttributes"]["sub"] = json!("nobody-here");
    let out = function.respond(unknown).await;
    assert_eq!(out["response"], json!({"claimsOverrideDetails": null}));

    let err = function.fail(json!({"nonsense": true})).await;
    assert!(
        err["errorMessage"].as_str().unwrap().contains("malformed"),
        "a malformed event must be an error: {err}"
    );
}

#[tokio::test]
async fn a_reserved_claim_name_stops_the_trigger_at_start_up() {
    let function = Function::start(
        env!("CARGO_BIN_EXE_clearance-pre-token-trigger"),
        "clearance-pre-token-trigger",
        &[
            ("PERMISSIONS_API_URL", "http://127.0.0.1:9"),
            ("CLAIM_ROLE", "cognito:groups"),
        ],
    )
    .await;
    let status = function.exit(Duration::from_secs(20)).await;
    assert!(!status.success());
}
