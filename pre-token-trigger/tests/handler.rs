//! The handler on every shipped event (every version and trigger source), with an in-memory store
//! as the permissions source: responses checked field by field, reserved claims and groups never
//! touched, failures answered in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::source::{PermissionsSource, SourceError, StoreSource};
use clearance_core::store::memory::MemoryStore;
use clearance_pre_token_trigger::config::{CompaniesFormat, OnMissing, RESERVED_CLAIMS};
use clearance_pre_token_trigger::{Trigger, TriggerConfig, TriggerError};
use clearance_tests::{events, seed};
use serde_json::{Value, json};

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";
const M2M: &str = "4example7m2client9id3";

fn event(name: &str) -> Value {
    events::read(env!("CARGO_MANIFEST_DIR"), name)
}

/// The user of the shipped events (Manager of 1111 and 2222), the machine client of the
/// client-credentials event, and an Admin.
async fn store() -> Arc<MemoryStore> {
    seed::users()
        .grant(SUB, &["1111", "2222"], "Manager")
        .grant(M2M, &["3333"], "Standard")
        .grant("alice", &["9999"], "Admin")
        .memory()
        .await
}

async fn trigger(config: TriggerConfig) -> Trigger {
    Trigger::new(config, Arc::new(StoreSource(store().await)))
}

/// The trigger's answer to the fixture `name`, checked to leave all but `response` as it came.
async fn answered(trigger: &Trigger, name: &str) -> Value {
    let input = event(name);
    let output = trigger
        .handle(input.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_untouched_but_response(&input, &output);
    output
}

/// Everything but `response` must come back exactly as it was sent.
fn assert_untouched_but_response(before: &Value, after: &Value) {
    let mut a = before.clone();
    let mut b = after.clone();
    a.as_object_mut().unwrap().remove("response");
    b.as_object_mut().unwrap().remove("response");
    assert_eq!(a, b, "the trigger changed more than the response");
}

/// No reserved claim, no suppression, no group override anywhere in the response.
fn assert_only_permission_claims(response: &Value) {
    let text = response.to_string();
    assert!(!text.contains("claimsToSuppress"), "{text}");
    assert!(!text.contains("groupOverrideDetails"), "{text}");
    let mut claim_sets = Vec::new();
    if let Some(v1) = response["claimsOverrideDetails"]["claimsToAddOrOverride"].as_object() {
        claim_sets.push(v1);
    }
    for token in ["idTokenGeneration", "accessTokenGeneration"] {
        if let Some(set) =
            response["claimsAndScopeOverrideDetails"][token]["claimsToAddOrOverride"].as_object()
        {
            claim_sets.push(set);
        }
    }
    for set in claim_sets {
        for key in set.keys() {
            assert!(
                !RESERVED_CLAIMS.contains(&key.as_str()),
                "reserved claim {key} emitted"
            );
            assert!(
                ["role", "companies", "id", "perm_ver"].contains(&key.as_str()),
                "unexpected claim {key}"
            );
        }
    }
}

const V1_EVENTS: &[&str] = &[
    "v1-authentication.json",
    "v1-hosted-auth-minimal.json",
    "v1-new-password-challenge.json",
    "v1-authenticate-device.json",
    "v1-refresh-tokens.json",
    "v0-version-zero.json",
    "no-version.json",
];

const V2_V3_USER_EVENTS: &[&str] = &[
    "v2-authentication.json",
    "v2-hosted-auth.json",
    "v2-new-password-challenge.json",
    "v2-authenticate-device.json",
    "v2-refresh-tokens-minimal.json",
    "v3-authentication.json",
    "v3-refresh-tokens-minimal.json",
];

#[tokio::test]
async fn version_1_events_get_the_references_id_token_claims() {
    let trigger = trigger(TriggerConfig::default()).await;
    for name in V1_EVENTS {
        let output = answered(&trigger, name).await;
        let response = &output["response"];
        assert_eq!(
            response,
            &json!({"claimsOverrideDetails": {"claimsToAddOrOverride": {
                "role": "Manager",
                "companies": "[\"1111\",\"2222\"]",
                "id": SUB,
                "perm_ver": "1"
            }}}),
            "{name}"
        );
        assert_only_permission_claims(response);
    }
}

#[tokio::test]
async fn versions_2_and_3_add_claims_to_both_tokens() {
    let trigger = trigger(TriggerConfig::default()).await;
    for name in V2_V3_USER_EVENTS {
        let output = answered(&trigger, name).await;
        let details = &output["response"]["claimsAndScopeOverrideDetails"];
        assert_eq!(
            details["idTokenGeneration"],
            json!({"claimsToAddOrOverride": {"role": "Manager", "companies": "[\"1111\",\"2222\"]", "id": SUB, "perm_ver": "1"}}),
            "{name}"
        );
        assert_eq!(
            details["accessTokenGeneration"],
            json!({"claimsToAddOrOverride": {"role": "Manager", "companies": ["1111", "2222"], "id": SUB, "perm_ver": "1"}}),
            "{name}"
        );
        assert_eq!(details.as_object().unwrap().len(), 2, "{name}: {details}");
        assert_only_permission_claims(&output["response"]);
    }
}

#[tokio::test]
async fn machine_tokens_are_looked_up_by_app_client_id_and_get_only_access_claims() {
    let trigger = trigger(TriggerConfig::default()).await;
    let output = answered(&trigger, "v3-client-credentials.json").await;
    assert_eq!(
        output["response"],
        json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {
            "claimsToAddOrOverride": {"role": "Standard", "companies": ["3333"], "id": M2M, "perm_ver": "1"}
        }}})
    );
}

#[tokio::test]
async fn companies_in_the_access_token_can_be_a_json_string_and_scopes_can_be_derived() {
    let config = TriggerConfig {
        access_token_companies: CompaniesFormat::JsonString,
        permission_scopes_prefix: Some("permissions/".into()),
        ..TriggerConfig::default()
    };
    let output = answered(&trigger(config).await, "v2-authentication.json").await;
    let access = &output["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"];
    assert_eq!(
        access["claimsToAddOrOverride"]["companies"],
        "[\"1111\",\"2222\"]"
    );
    assert_eq!(
        access["scopesToAdd"],
        json!([
            "permissions/company:1111",
            "permissions/company:2222",
            "permissions/role:Manager"
        ])
    );
    for scope in access["scopesToAdd"].as_array().unwrap() {
        assert!(!scope.as_str().unwrap().contains(' '));
    }
}

#[tokio::test]
async fn access_token_claims_can_be_turned_off_and_claim_names_changed() {
    let config = TriggerConfig {
        access_token_claims: false,
        role_claim: "custom:role".into(),
        companies_claim: "custom:companies".into(),
        id_claim: "custom:id".into(),
        ..TriggerConfig::default()
    };
    let output = answered(&trigger(config).await, "v2-authentication.json").await;
    let details = &output["response"]["claimsAndScopeOverrideDetails"];
    assert!(details.get("accessTokenGeneration").is_none(), "{details}");
    assert_eq!(
        details["idTokenGeneration"]["claimsToAddOrOverride"]["custom:role"],
        "Manager"
    );
    assert_eq!(
        details["idTokenGeneration"]["claimsToAddOrOverride"]["custom:id"],
        SUB
    );
}

#[tokio::test]
async fn a_user_event_without_sub_is_refused_never_looked_up_by_username() {
    let mut input = event("v1-authentication.json");
    input["request"]["userAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("sub");
    // "alice" (the userName) has permissions in the store: they must not be used.
    let err = trigger(TriggerConfig::default())
        .await
        .handle(input)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sub"), "{err}");
}

#[tokio::test]
async fn a_user_without_permissions_gets_no_claims_or_is_refused_as_configured() {
    let mut input = event("v2-authentication.json");
    input["request"]["userAttributes"]["sub"] = json!("unknown-sub");
    let output = trigger(TriggerConfig::default())
        .await
        .handle(input.clone())
        .await
        .unwrap();
    assert_eq!(
        output["response"],
        json!({"claimsAndScopeOverrideDetails": null})
    );

    let deny = TriggerConfig {
        on_missing: OnMissing::Deny,
        ..TriggerConfig::default()
    };
    let err = trigger(deny).await.handle(input).await.unwrap_err();
    assert!(matches!(err, TriggerError::NoPermissions));
    assert!(err.to_string().contains("no permissions"), "{err}");

    let mut v1 = event("v1-authentication.json");
    v1["request"]["userAttributes"]["sub"] = json!("unknown-sub");
    let output = trigger(TriggerConfig::default())
        .await
        .handle(v1)
        .await
        .unwrap();
    assert_eq!(output["response"], json!({"claimsOverrideDetails": null}));
}

#[tokio::test]
async fn malformed_events_are_refused_with_a_clear_error_and_no_panic() {
    let trigger = trigger(TriggerConfig::default()).await;
    for bad in [
        json!(null),
        json!("text"),
        json!({}),
        json!({"triggerSource": 7}),
        json!({"triggerSource": "PostConfirmation_ConfirmSignUp", "userName": "a"}),
        json!({"triggerSource": "TokenGeneration_Authentication", "userName": "a", "request": []}),
        json!({"triggerSource": "TokenGeneration_Authentication", "userName": "has space"}),
        json!({"version": "3", "triggerSource": "TokenGeneration_ClientCredentials", "callerContext": {}}),
    ] {
        let err = trigger.handle(bad.clone()).await.unwrap_err();
        assert!(matches!(err, TriggerError::Malformed(_)), "{bad}: {err:?}");
        assert!(
            err.to_string()
                .starts_with("malformed pre-token-generation event"),
            "{err}"
        );
    }
}

struct Failing;

#[async_trait]
impl PermissionsSource for Failing {
    async fn permissions(&self, _: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        Err(SourceError::msg("connection refused"))
    }
}

struct Hanging;

#[async_trait]
impl PermissionsSource for Hanging {
    async fn permissions(&self, _: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_failing_source_refuses_the_sign_in_without_saying_why_to_the_user() {
    let trigger = Trigger::new(TriggerConfig::default(), Arc::new(Failing));
    let err = trigger
        .handle(event("v1-authentication.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, TriggerError::Unavailable));
    assert!(
        !err.to_string().contains("refused"),
        "internal detail leaked: {err}"
    );
}

#[tokio::test]
async fn a_source_that_never_answers_is_cut_off_at_the_budget() {
    let config = TriggerConfig {
        budget: Duration::from_millis(300),
        ..TriggerConfig::default()
    };
    let trigger = Trigger::new(config, Arc::new(Hanging));
    let started = Instant::now();
    let err = trigger
        .handle(event("v2-authentication.json"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, TriggerError::Unavailable));
    assert!(
        took < Duration::from_millis(1_000),
        "took {took:?} with a 300 ms budget"
    );
}
