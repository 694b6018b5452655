//! The Cognito trigger end to end: against the permissions service over HTTP, against DynamoDB on
//! dynalite, and against a server that never answers. (The binary under the Lambda runtime is
//! tested in `pre-token-trigger/tests/binary.rs`.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use clearance_core::client::{ClientConfig, PermissionsClient};
use clearance_core::source::PermissionsSource;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_pre_token_trigger::{Trigger, TriggerConfig, TriggerError};
use clearance_tests::dynalite::Dynalite;
use clearance_tests::workspace_root;
use serde_json::{Value, json};

use crate::support::{Service, grant, memory};

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";

fn event(name: &str) -> Value {
    let path = workspace_root().join("pre-token-trigger/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn client(url: &str) -> Arc<dyn PermissionsSource> {
    Arc::new(PermissionsClient::new(ClientConfig::new(url).unwrap()).unwrap())
}

#[tokio::test]
async fn the_trigger_adds_claims_read_from_the_permissions_service_over_http() {
    let store = memory();
    grant(store.as_ref(), SUB, &["1111"], "Manager").await;
    let service = Service::start(store).await;
    let trigger = Trigger::new(TriggerConfig::default(), client(&service.url));

    let v1 = trigger
        .handle(event("v1-authentication.json"))
        .await
        .unwrap();
    assert_eq!(
        v1["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"],
        json!({"role": "Manager", "companies": "[\"1111\"]", "id": SUB})
    );
    let v2 = trigger
        .handle(event("v2-authentication.json"))
        .await
        .unwrap();
    assert_eq!(
        v2["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"]
            ["companies"],
        json!(["1111"])
    );
}

#[tokio::test]
async fn the_trigger_reads_dynamodb_directly() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &DynamoSettings::new(&table));
    grant(&store, SUB, &["1111", "2222"], "Admin").await;
    grant(&store, "4example7m2client9id3", &["3333"], "Standard").await;
    let source = Arc::new(clearance_core::source::StoreSource(store));
    let trigger = Trigger::new(TriggerConfig::default(), source);

    let out = trigger
        .handle(event("v3-authentication.json"))
        .await
        .unwrap();
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"],
        json!({"role": "Admin", "companies": "[\"1111\",\"2222\"]", "id": SUB})
    );
    let m2m = trigger
        .handle(event("v3-client-credentials.json"))
        .await
        .unwrap();
    assert_eq!(
        m2m["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"]
            ["id"],
        "4example7m2client9id3"
    );
}

#[tokio::test]
async fn a_permissions_service_that_never_answers_is_cut_off_within_the_budget() {
    // A server that accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = TriggerConfig {
        budget: Duration::from_millis(1_000),
        ..TriggerConfig::default()
    };
    let trigger = Trigger::new(config, client(&url));
    let started = Instant::now();
    let err = trigger
        .handle(event("v1-authentication.json"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, TriggerError::Unavailable), "{err:?}");
    assert!(
        took < Duration::from_millis(2_500),
        "answered after {took:?}"
    );
}
