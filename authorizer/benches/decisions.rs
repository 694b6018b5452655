//! Authorizer decisions per second on one core with warm caches.
//!
//! `cargo bench -p clearance-authorizer --bench decisions` runs, in one process on a single-threaded
//! runtime (one core):
//! - `baseline/verify_token`: RS256 signature and claim checks alone (the floor: every decision
//!   needs one);
//! - `authorizer/decide_warm`: a whole REST TOKEN decision (parse, verify, rule match, hydrate from
//!   the warm cache in front of the permissions client, as `source::env` builds it for the Lambda,
//!   evaluate, build the policy);
//! - `authorizer/decide_deny_no_rule`: a decision that stops at the rule lookup;
//! - `authorizer/decide_warm_no_token_cache`: `decide_warm` with `AUTHORIZER_TOKEN_CACHE=0`, so
//!   the signature is checked on every decision (the cost of everything but the signature).
//!
//! The first two use the verifier the Lambda builds (a verified-token cache of the default size),
//! so a repeated token skips the signature check; rules, permissions and policy still run.
//!
//! Criterion prints each as time per decision and decisions per second (`thrpt`); goal: decisions
//! at >= 0.8x the rate of `verify_token`.

use std::sync::Arc;

use clearance_authorizer::handler::DEFAULT_TOKEN_CACHE;
use clearance_authorizer::{Authorizer, AuthorizerConfig};
use clearance_core::cache::{CacheSettings, CachedSource};
use clearance_core::client::{ClientConfig, PermissionsClient};
use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::seed;
use clearance_tests::server::TestServer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

/// The Lambda binary's allocator, so the figures are those of what is deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RULES: &str = r#"{"rules": [
    {"method": "GET", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true},
    {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true},
    {"method": "GET", "path": "/users/{user_id}/orders/{id}", "subject": "user_id"}
]}"#;

fn bench(c: &mut Criterion) {
    // The issuer and the permissions service run on their own runtime threads; the measured work
    // runs on a single-threaded runtime.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (issuer, api) = servers.block_on(async {
        let store = seed::users()
            .grant("user-1", &["1111"], "Manager")
            .memory()
            .await;
        let state = startup::with_cache(store, &Settings::for_data_dir("unused"));
        let api = TestServer::start(clearance_service::app(state)).await;
        (TestIssuer::start().await, api)
    });

    let one_core = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let verifier = issuer.verifier("web-client");
    // The source the Lambda builds (`source::env`): the client behind the one cache, whose TTL
    // outlives the benchmark, so every decision is hydrated from the warm cache.
    let client = CachedSource::new(
        PermissionsClient::new(ClientConfig::new(&api.url()).unwrap()).unwrap(),
        CacheSettings {
            ttl: std::time::Duration::from_secs(3600),
            ..CacheSettings::default()
        },
    );
    let config =
        AuthorizerConfig::from_lookup(|k| (k == "AUTHORIZER_RULES").then(|| RULES.to_owned()))
            .unwrap();
    let source = Arc::new(client);
    let uncached = Authorizer::new(config.clone(), verifier.clone(), source.clone());
    let authorizer = Authorizer::new(
        config,
        issuer.caching_verifier("web-client", DEFAULT_TOKEN_CACHE),
        source.clone(),
    );

    let token = issuer.access_token("user-1", "web-client");
    let arn =
        |path: &str| format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET{path}");
    let allow = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/companies/1111/orders")});
    let no_rule = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn("/admin")});

    // Warm every cache (JWKS, the client's permissions cache) and check the decisions are real.
    one_core.block_on(async {
        let (answer, _) = authorizer.decide(&allow).await.unwrap();
        assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow");
        let (answer, _) = authorizer.decide(&no_rule).await.unwrap();
        assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Deny");
        let (_, decided) = authorizer.decide(&allow).await.unwrap();
        assert!(decided.allow);
    });
    assert_eq!(
        source.stats().loads,
        1,
        "decisions are hydrated from the warm cache, not from the API"
    );

    let mut baseline = c.benchmark_group("baseline");
    baseline.throughput(Throughput::Elements(1));
    baseline.bench_function("verify_token", |b| {
        b.to_async(&one_core)
            .iter(|| async { verifier.verify(&token).await.unwrap() })
    });
    baseline.finish();

    let mut group = c.benchmark_group("authorizer");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decide_warm", |b| {
        b.to_async(&one_core)
            .iter(|| async { authorizer.decide(&allow).await.unwrap() })
    });
    group.bench_function("decide_deny_no_rule", |b| {
        b.to_async(&one_core)
            .iter(|| async { authorizer.decide(&no_rule).await.unwrap() })
    });
    group.bench_function("decide_warm_no_token_cache", |b| {
        b.to_async(&one_core)
            .iter(|| async { uncached.decide(&allow).await.unwrap() })
    });
    group.finish();
    drop(api);
    drop(servers);
}

criterion_group!(benches, bench);
criterion_main!(benches);
