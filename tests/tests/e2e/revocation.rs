//! The revocation bound, measured end to end with the default settings: two instances of the
//! permissions service over one DynamoDB table (dynalite), the Lambda authorizer reading through
//! the permissions client (cached, against instance B), and a backing service's middleware reading
//! DynamoDB directly (cached), each with one route decided on cached permissions and one rule set
//! `fully-consistent`. The token comes from the Cognito trigger (so it carries `perm_ver`). A
//! Manager is downgraded through instance A while every component is polled, and the time until
//! each denies is printed and bounded: at once through instance A and on the fully consistent
//! rules; within the refresh interval plus a round trip (at most 5 s) everywhere else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::handler::Handler as _;
use axum::routing::get;
use clearance_authorizer::{Authorizer, AuthorizerConfig};
use clearance_core::authz::Requirement;
use clearance_core::cache::CachedStore;
use clearance_core::consistency::Consistency;
use clearance_core::source::{PermissionsSource, StoreSource};
use clearance_middleware::{AuthLayer, require, require_company};
use clearance_pre_token_trigger::{Trigger, TriggerConfig};
use clearance_tests::issuer::TestIssuer;
use clearance_tests::server::TestServer;
use clearance_tests::{events, workspace_root};
use serde_json::{Value, json};

use crate::support::{json_of, table, two_instances};

const SUB: &str = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10";
const CLIENT: &str = "web-client";
/// What every layer must meet with its defaults.
const BOUND: Duration = Duration::from_secs(5);

const RULES: &str = r#"{"rules": [
    {"method": "GET",  "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true},
    {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true, "consistency": "fully-consistent"}
]}"#;

/// The Lambdas' defaults: the cache settings `source::env` reads from an empty environment.
fn lambda_cache() -> clearance_core::cache::CacheSettings {
    clearance_core::source::env::cache_settings(&|_: &str| None).unwrap()
}

/// A token as Cognito would issue it after the trigger ran: the trigger's access token claims
/// (`perm_ver` among them) on a signed access token.
async fn sign_in(trigger: &Trigger, issuer: &TestIssuer) -> (String, String) {
    let event = events::read(
        workspace_root().join("pre-token-trigger"),
        "v2-authentication.json",
    );
    let out = trigger.handle(event).await.unwrap();
    let added = &out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"];
    let mut claims = issuer.access_claims(SUB, CLIENT);
    for (name, value) in added.as_object().unwrap() {
        claims[name] = value.clone();
    }
    let perm_ver = added["perm_ver"].as_str().unwrap().to_owned();
    (issuer.sign(&claims), perm_ver)
}

/// How a component answered: allowed, or refused with a status and a code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Allow,
    Refuse(u16, String),
}

/// The authorizer's answer for `method` on company 1111's orders, as API Gateway would turn it.
async fn authorizer(authorizer: &Authorizer, token: &str, method: &str) -> Verdict {
    let arn = format!(
        "arn:aws:execute-api:us-east-1:123456789012:api1/prod/{method}/companies/1111/orders"
    );
    let event =
        json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn});
    match authorizer.decide(&event).await {
        Err(_) => Verdict::Refuse(401, "unauthorized".into()),
        Ok((answer, decided)) if answer["policyDocument"]["Statement"][0]["Effect"] == "Allow" => {
            assert!(decided.allow);
            Verdict::Allow
        }
        Ok((_, decided)) => Verdict::Refuse(403, decided.code),
    }
}

/// The middleware's answer for `method` on company 1111's orders, over a socket.
async fn middleware(app: &TestServer, token: &str, method: &str) -> Verdict {
    let response = reqwest::Client::new()
        .request(
            method.parse().unwrap(),
            format!("{}/companies/1111/orders", app.url()),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    if status == 200 {
        return Verdict::Allow;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or("").to_owned();
    if code == "stale-permissions" {
        let challenge = challenge.unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains("error_description=\"stale-permissions"),
            "{challenge}"
        );
    }
    Verdict::Refuse(status, code)
}

/// An API answer: the user's role through `instance`, and the `/check` decision.
async fn api_allows(instance: &TestServer) -> Verdict {
    let answer = json_of(
        reqwest::Client::new()
            .post(format!("{}/check", instance.url()))
            .json(&json!({"user": SUB, "company": "1111", "role": "Manager", "atLeast": true})),
    )
    .await;
    match answer["allowed"].as_bool() {
        Some(true) => Verdict::Allow,
        _ => Verdict::Refuse(200, answer["code"].as_str().unwrap_or("").to_owned()),
    }
}

#[tokio::test]
async fn a_downgrade_through_one_instance_is_denied_everywhere_within_five_seconds() {
    // Arrange: one table, two service instances each with its own default cache.
    let (dynalite, name, instance_a, instance_b) = two_instances(SUB).await;
    let issuer = TestIssuer::start().await;

    // The trigger reads DynamoDB directly, the authorizer instance B through the client, and
    // the middleware DynamoDB directly: every source behind the Lambdas' default cache.
    let dynamodb_source = || -> Arc<dyn PermissionsSource> {
        Arc::new(StoreSource(CachedStore::new(
            table(&dynalite, &name),
            lambda_cache(),
        )))
    };
    let trigger = Trigger::new(TriggerConfig::default(), dynamodb_source());
    // The components deciding on cached permissions and those with fully consistent rules each
    // get their own caches here: in one process a fully consistent read also refreshes the
    // cache the other routes read (and instance B's, through the API), which would hide the
    // refresh-ahead bound this test measures.
    let api_source = |instance: &TestServer| {
        let url = instance.url();
        async move {
            clearance_core::source::env::from_env(&|k: &str| {
                (k == "PERMISSIONS_API_URL").then(|| url.clone())
            })
            .await
            .unwrap()
        }
    };
    let config = || {
        AuthorizerConfig::from_lookup(|k| (k == "AUTHORIZER_RULES").then(|| RULES.to_owned()))
            .unwrap()
    };
    let authorizer_fn = Authorizer::new(
        config(),
        issuer.verifier(CLIENT),
        api_source(&instance_b).await,
    );
    let authorizer_full = Authorizer::new(
        config(),
        issuer.verifier(CLIENT),
        api_source(&instance_a).await,
    );
    let fully_consistent = Requirement {
        company: Some("company_id".into()),
        role: Some("Manager".into()),
        at_least: true,
        consistency: Consistency::Full,
        ..Requirement::default()
    };
    let backend = |source| {
        Router::new()
            .route(
                "/companies/{company_id}/orders",
                get((|| async { "orders" }).layer(require_company(
                    "company_id",
                    Some("Manager"),
                    true,
                )))
                .post((|| async { "placed" }).layer(require(fully_consistent.clone()))),
            )
            .layer(AuthLayer::new(source).with_verifier(issuer.verifier(CLIENT)))
    };
    let backend_full = TestServer::start(backend(dynamodb_source())).await;
    let backend = TestServer::start(backend(dynamodb_source())).await;

    let (token, perm_ver) = sign_in(&trigger, &issuer).await;
    assert_eq!(perm_ver, "1");

    // Every component allows the Manager; keep them hot, as real traffic would, until just after
    // every cache's first refresh (4 s): the change then lands near the worst moment, when the
    // cached entries are fresh and the next refresh is furthest away.
    let warm_until = Instant::now() + Duration::from_millis(4_300);
    while Instant::now() < warm_until {
        assert_eq!(
            authorizer(&authorizer_fn, &token, "GET").await,
            Verdict::Allow
        );
        assert_eq!(
            authorizer(&authorizer_full, &token, "POST").await,
            Verdict::Allow
        );
        assert_eq!(middleware(&backend, &token, "GET").await, Verdict::Allow);
        assert_eq!(
            middleware(&backend_full, &token, "POST").await,
            Verdict::Allow
        );
        assert_eq!(api_allows(&instance_b).await, Verdict::Allow);
        assert_eq!(api_allows(&instance_a).await, Verdict::Allow);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Act: downgrade the Manager through instance A.
    let downgrade = reqwest::Client::new()
        .patch(format!("{}/users/{SUB}", instance_a.url()))
        .json(&json!({"role": "Standard"}))
        .send()
        .await
        .unwrap();
    assert_eq!(downgrade.status(), 200);
    let changed = Instant::now();

    // Poll every component until each has refused once.
    let names = [
        "instance A (/check)",
        "authorizer, fully-consistent rule",
        "middleware, fully-consistent rule",
        "instance B (/check, its cache)",
        "authorizer, cached rule (client -> instance B)",
        "middleware, cached rule (DynamoDB direct)",
    ];
    let mut denied: Vec<Option<(Duration, Verdict, usize)>> = vec![None; names.len()];
    let mut round = 0;
    while denied.iter().any(Option::is_none) {
        assert!(
            changed.elapsed() < BOUND + Duration::from_secs(3),
            "still allowed long after the bound: {:?}",
            names
                .iter()
                .zip(&denied)
                .filter(|(_, d)| d.is_none())
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        );
        round += 1;
        for (i, slot) in denied.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let verdict = match i {
                0 => api_allows(&instance_a).await,
                1 => authorizer(&authorizer_full, &token, "POST").await,
                2 => middleware(&backend_full, &token, "POST").await,
                3 => api_allows(&instance_b).await,
                4 => authorizer(&authorizer_fn, &token, "GET").await,
                _ => middleware(&backend, &token, "GET").await,
            };
            if verdict != Verdict::Allow {
                *slot = Some((changed.elapsed(), verdict, round));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Assert: print every measured time; check each against its bound.
    let cache = lambda_cache();
    println!(
        "revocation with defaults (service cache: TTL 30s, refresh after 4s; Lambda caches: TTL {:?}, refresh after {:?}):",
        cache.ttl, cache.refresh_after
    );
    for (name, slot) in names.iter().zip(&denied) {
        let (after, verdict, round) = slot.clone().unwrap();
        println!("  {name}: denied after {after:?} (poll round {round}): {verdict:?}");
    }
    for at_once in 0..3 {
        let (_, _, round) = denied[at_once].clone().unwrap();
        assert_eq!(
            round, 1,
            "{} must deny on the first request after the change",
            names[at_once]
        );
    }
    for (name, slot) in names.iter().zip(&denied) {
        let (after, _, _) = slot.clone().unwrap();
        assert!(
            after <= BOUND,
            "{name}: denied after {after:?}, over the {BOUND:?} bound"
        );
    }
    // The token's claims are out of date: the authorizer and the middleware say so (401), rather
    // than judging the old claims; a token without perm_ver is judged as before (403).
    assert_eq!(
        denied[1].clone().unwrap().1,
        Verdict::Refuse(401, "unauthorized".into())
    );
    assert_eq!(
        denied[2].clone().unwrap().1,
        Verdict::Refuse(401, "stale-permissions".into())
    );
    let old_style = issuer.access_token(SUB, CLIENT);
    assert_eq!(
        middleware(&backend, &old_style, "GET").await,
        Verdict::Refuse(403, "role-below-required".into())
    );
    // Signing in again gives the current version, and an honest 403 rather than 401.
    let (fresh, perm_ver) = sign_in(&trigger, &issuer).await;
    assert_eq!(perm_ver, "2");
    assert_eq!(
        authorizer(&authorizer_fn, &fresh, "GET").await,
        Verdict::Refuse(403, "role-below-required".into())
    );
    assert_eq!(
        middleware(&backend, &fresh, "POST").await,
        Verdict::Refuse(403, "role-below-required".into())
    );
}
