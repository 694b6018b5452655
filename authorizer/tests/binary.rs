//! The authorizer binary as Lambda runs it: a process behind a fake Lambda Runtime API, verifying
//! tokens against a JWKS served over HTTP and reading permissions from the permissions service.

use std::time::{Duration, Instant};

use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::function::Function;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::seed;
use clearance_tests::server::TestServer;
use serde_json::json;

const RULES: &str = r#"{"rules": [{"method": "GET", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true}]}"#;

/// The binary under test: this build's, or another (e.g. a release build, to measure its start-up
/// time) named by `CLEARANCE_AUTHORIZER_BINARY`.
fn binary() -> String {
    std::env::var("CLEARANCE_AUTHORIZER_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearance-authorizer").to_owned())
}

#[tokio::test]
async fn the_authorizer_binary_allows_denies_and_refuses_under_the_lambda_runtime() {
    let store = seed::users()
        .grant("user-1", &["1111"], "Manager")
        .memory()
        .await;
    let api = TestServer::start(clearance_service::app(startup::with_cache(
        store,
        &Settings::for_data_dir("unused"),
    )))
    .await;

    let issuer = TestIssuer::start().await;
    let mut env: Vec<(String, String)> = issuer.verifier_env("web-client");
    env.push(("AUTHORIZER_RULES".into(), RULES.into()));
    env.push(("PERMISSIONS_API_URL".into(), api.url()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let started = Instant::now();
    let function = Function::start(binary(), "clearance-authorizer", &env_refs).await;
    let arn =
        |path: &str| format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET{path}");
    let token = issuer.access_token("user-1", "web-client");

    let allow = function
        .respond(json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/companies/1111/orders")}))
        .await;
    println!(
        "authorizer: process start to first answered event: {:?}",
        started.elapsed()
    );
    assert_eq!(
        allow["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{allow}"
    );
    assert_eq!(allow["context"]["role"], "Manager");

    let deny = function
        .respond(json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/companies/2222/orders")}))
        .await;
    assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");

    let refused = function
        .fail(json!({"type": "TOKEN", "authorizationToken": "Bearer not.a.token", "methodArn": arn("/companies/1111/orders")}))
        .await;
    assert_eq!(
        refused["errorMessage"], "Unauthorized",
        "API Gateway needs exactly this message for a 401"
    );

    // A refused token is an expected outcome: logged at INFO with its code, never as an ERROR
    // line (which would page someone), and never with the token.
    let logs = function.stop().await;
    assert!(logs.contains("token refused"), "{logs}");
    assert!(!logs.contains("\"ERROR\""), "{logs}");
    assert!(!logs.contains(&token), "the token must never be logged");
}

#[tokio::test]
async fn the_authorizer_binary_stops_at_start_up_without_rules() {
    let function = Function::start(
        env!("CARGO_BIN_EXE_clearance-authorizer"),
        "clearance-authorizer",
        &[
            ("JWT_ISSUER", "http://127.0.0.1:9"),
            ("JWT_CLIENT_IDS", "*"),
            ("PERMISSIONS_API_URL", "http://127.0.0.1:9"),
        ],
    )
    .await;
    let status = function.exit(Duration::from_secs(20)).await;
    assert!(!status.success());
}
