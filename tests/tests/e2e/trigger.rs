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
use clearance_tests::seed::{grant, memory};
use clearance_tests::server::SilentServer;
use clearance_tests::{events, workspace_root};
use serde_json::{Value, json};

use crate::support::service;

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";

fn event(name: &str) -> Value {
    events::read(workspace_root().join("pre-token-trigger"), name)
}

fn client(url: &str) -> Arc<dyn PermissionsSource> {
    Arc::new(PermissionsClient::new(ClientConfig::new(url).unwrap()).unwrap())
}

#[tokio::test]
async fn the_trigger_adds_claims_read_from_the_permissions_service_over_http() {
    let store = memory();
    grant(store.as_ref(), SUB, &["1111"], "Manager").await;
    let service = service(store).await;
    let trigger = Trigger::new(TriggerConfig::default(), client(&service.url()));

    let v1 = trigger
        .handle(event("v1-authentication.json"))
        .await
        .unwrap();
    assert_eq!(
        v1["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"],
        json!({"role": "Manager", "companies": "[\"1111\"]", "id": SUB, "perm_ver": "1"})
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
        json!({"role": "Admin", "companies": "[\"1111\",\"2222\"]", "id": SUB, "perm_ver": "1"})
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
    let silent = SilentServer::start().await;
    let url = silent.url();
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

/// The largest user the rules allow (1,000 companies of 64 characters), end to end: stored in
/// DynamoDB on dynalite, through the trigger, into a token signed by a test issuer, verified by
/// Clearance's verifier against the issuer's JWKS over HTTP. With the companies in it the token
/// would pass the 16 KiB every Clearance verifier accepts; the trigger leaves them out, says so,
/// and the token verifies.
#[tokio::test]
async fn the_largest_user_gets_tokens_every_clearance_verifier_accepts() {
    use clearance_core::jwt::MAX_TOKEN_BYTES;
    use clearance_tests::issuer::TestIssuer;

    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &DynamoSettings::new(&table));
    let companies: Vec<String> = (0..1000).map(|i| format!("{i:0>64}")).collect();
    let refs: Vec<&str> = companies.iter().map(String::as_str).collect();
    grant(&store, SUB, &refs, "Manager").await;
    let trigger = Trigger::new(
        TriggerConfig::default(),
        Arc::new(clearance_core::source::StoreSource(store)),
    );

    let out = trigger
        .handle(event("v2-authentication.json"))
        .await
        .unwrap();
    let details = &out["response"]["claimsAndScopeOverrideDetails"];
    let added = details["accessTokenGeneration"]["claimsToAddOrOverride"].clone();
    assert_eq!(added["companies_omitted"], "true", "{added}");
    assert!(added.get("companies").is_none());
    assert_eq!(added["role"], "Manager");
    assert_eq!(added["id"], SUB);
    let id_token = &details["idTokenGeneration"]["claimsToAddOrOverride"];
    assert_eq!(id_token["companies_omitted"], "true");
    assert!(id_token.get("companies").is_none());

    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier("web-client");
    let mut claims = issuer.access_claims(SUB, "web-client");
    for (name, value) in added.as_object().unwrap() {
        claims[name] = value.clone();
    }
    let token = issuer.sign(&claims);
    assert!(token.len() < MAX_TOKEN_BYTES / 4, "{} bytes", token.len());
    let verified = verifier.verify(&token).await.expect("the token verifies");
    assert_eq!(verified.claim("companies_omitted"), Some(&json!("true")));

    // What the trigger avoided: the same claims with the companies make a token over the cap.
    claims["companies"] = json!(companies);
    let too_big = issuer.sign(&claims);
    println!(
        "largest user's access token: {} bytes without companies, {} bytes with them (cap {MAX_TOKEN_BYTES})",
        token.len(),
        too_big.len()
    );
    assert!(too_big.len() > MAX_TOKEN_BYTES, "{} bytes", too_big.len());
    assert!(verifier.verify(&too_big).await.is_err());
}
