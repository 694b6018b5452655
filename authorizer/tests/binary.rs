//! The authorizer binary as Lambda runs it: a process behind a fake Lambda Runtime API, verifying
//! tokens against a JWKS served over HTTP and reading permissions from the permissions service.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clearance_core::domain::{CompanyId, Permissions, Role, UserId};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{PermissionStore, Precondition};
use clearance_service::config::Settings;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::lambda_runtime::{FakeRuntime, Outcome};
use serde_json::json;

const RULES: &str = r#"{"rules": [{"method": "GET", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true}]}"#;

#[tokio::test]
async fn the_authorizer_binary_allows_denies_and_refuses_under_the_lambda_runtime() {
    let store = Arc::new(MemoryStore::new());
    let p = Permissions::new(
        vec![CompanyId::parse("1111").unwrap()],
        Role::from_stored("Manager"),
    )
    .unwrap();
    store
        .put(
            &UserId::parse("user-1").unwrap(),
            &p,
            Precondition::None,
            None,
        )
        .await
        .unwrap();
    let state = clearance_service::startup::with_cache(store, &Settings::for_data_dir("unused"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(clearance_service::startup::serve(
        listener,
        clearance_service::app(state),
        async {
            let _ = rx.await;
        },
    ));

    let issuer = TestIssuer::start().await;
    let runtime = FakeRuntime::start().await;
    let mut env: Vec<(String, String)> = issuer.verifier_env("web-client");
    env.push(("AUTHORIZER_RULES".into(), RULES.into()));
    env.push(("PERMISSIONS_API_URL".into(), api));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let started = Instant::now();
    // Another build (e.g. release, to measure its start-up time) can be named by
    // CLEARANCE_AUTHORIZER_BINARY.
    let binary = std::env::var("CLEARANCE_AUTHORIZER_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearance-authorizer").to_owned());
    let mut function =
        runtime.spawn_function_capturing_logs(binary.as_ref(), "clearance-authorizer", &env_refs);
    let arn =
        |path: &str| format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET{path}");
    let token = issuer.access_token("user-1", "web-client");

    let allow = runtime
        .invoke(
            json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/companies/1111/orders")}),
            Duration::from_secs(20),
        )
        .await;
    println!(
        "authorizer: process start to first answered event: {:?}",
        started.elapsed()
    );
    let Outcome::Response(allow) = allow else {
        panic!("{allow:?}")
    };
    assert_eq!(
        allow["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{allow}"
    );
    assert_eq!(allow["context"]["role"], "Manager");

    let deny = runtime
        .invoke(
            json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/companies/2222/orders")}),
            Duration::from_secs(10),
        )
        .await;
    let Outcome::Response(deny) = deny else {
        panic!("{deny:?}")
    };
    assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");

    let refused = runtime
        .invoke(
            json!({"type": "TOKEN", "authorizationToken": "Bearer not.a.token", "methodArn": arn("/companies/1111/orders")}),
            Duration::from_secs(10),
        )
        .await;
    let Outcome::Error(refused) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        refused["errorMessage"], "Unauthorized",
        "API Gateway needs exactly this message for a 401"
    );

    // A refused token is an expected outcome: logged at INFO with its code, never as an ERROR
    // line (which would page someone), and never with the token.
    function.kill().await.unwrap();
    let mut logs = String::new();
    use tokio::io::AsyncReadExt as _;
    function
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(logs.contains("token refused"), "{logs}");
    assert!(!logs.contains("\"ERROR\""), "{logs}");
    assert!(!logs.contains(&token), "the token must never be logged");
}

#[tokio::test]
async fn the_authorizer_binary_stops_at_start_up_without_rules() {
    let runtime = FakeRuntime::start().await;
    let mut child = runtime.spawn_function(
        env!("CARGO_BIN_EXE_clearance-authorizer").as_ref(),
        "clearance-authorizer",
        &[
            ("JWT_ISSUER", "http://127.0.0.1:9"),
            ("JWT_CLIENT_IDS", "*"),
            ("PERMISSIONS_API_URL", "http://127.0.0.1:9"),
        ],
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
}
