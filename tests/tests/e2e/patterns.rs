//! The reference design's three patterns end to end, through real components:
//!
//! 1. API Gateway's Cognito authorizer authenticates; the backing service's middleware hydrates the
//!    caller's permissions (through the permissions client, over HTTP) and checks company and role.
//! 2. `clearance-authorizer` authenticates and authorises; API Gateway passes its context on.
//! 3. `clearance-authorizer` authenticates only and passes the permissions on as context; the
//!    middleware authorises from the context, without a lookup.
//!
//! API Gateway is played by this file: it verifies tokens as a Cognito authorizer would (the
//! first pattern) or calls the authorizer's handler (the other two), answers 401/403 itself, and
//! hands the backing service an API Gateway proxy event, which goes through lambda_http into the
//! orders example's router exactly as on Lambda. Tokens are signed by a test issuer whose JWKS is
//! served over HTTP; permissions come from the permissions service over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clearance_authorizer::{Authorizer, AuthorizerConfig};
use clearance_core::cache::{CacheSettings, CachedSource};
use clearance_core::client::{ClientConfig, PermissionsClient};
use clearance_core::consistency::Consistency;
use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::jwt::Verifier;
use clearance_core::source::{PermissionsSource, SourceError};
use clearance_example_orders::orders::OrderBook;
use clearance_middleware::AuthLayer;
use clearance_service::config::Settings;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::seed::{grant, memory};
use clearance_tests::server::TestServer;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{service, service_with};

const CLIENT: &str = "web-client";

const ORDER_RULES: &str = r#"{"rules": [
    {"method": "GET",  "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true},
    {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true},
    {"method": "GET",  "path": "/users/{user_id}/orders/{id}", "subject": "user_id"}
]}"#;

const AUTHENTICATE_ONLY: &str =
    r#"{"rules": [{"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true}]}"#;

/// Which pattern API Gateway is playing.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    CognitoAuthorizer,
    LambdaAuthorizerDecides,
    LambdaAuthorizerAuthenticates,
}

struct Gateway {
    pattern: Pattern,
    verifier: Arc<Verifier>,
    authorizer: Option<Authorizer>,
    backend: axum::Router,
}

/// The permissions client behind the one read-through cache, as `source::env` builds it.
fn client(url: &str, ttl: Duration) -> CachedSource<PermissionsClient> {
    let client = PermissionsClient::new(ClientConfig::new(url).unwrap()).unwrap();
    CachedSource::new(
        client,
        CacheSettings {
            ttl,
            negative_ttl: ttl,
            capacity: 1_000,
            ..CacheSettings::default()
        },
    )
}

/// Pattern 3's source: the middleware reads the authorizer's context and must never look the
/// permissions up for that, only for a rule that asks for them fully consistent (the orders
/// example's `POST`), which it reads through the client.
struct OnlyFullyConsistent(CachedSource<PermissionsClient>);

#[async_trait]
impl PermissionsSource for OnlyFullyConsistent {
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        panic!("pattern 3 looked permissions up for {id} instead of reading the context")
    }

    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        assert_eq!(
            consistency,
            Consistency::Full,
            "pattern 3 looked permissions up for {id} instead of reading the context"
        );
        self.0.permissions_at(id, consistency).await
    }
}

impl Gateway {
    async fn new(
        pattern: Pattern,
        issuer: &TestIssuer,
        permissions_api: &str,
        ttl: Duration,
    ) -> Self {
        let verifier = issuer.verifier(CLIENT);
        let authorizer = |rules: &'static str| {
            let config = AuthorizerConfig::from_lookup(|k| {
                (k == "AUTHORIZER_RULES").then(|| rules.to_owned())
            })
            .unwrap();
            Authorizer::new(
                config,
                verifier.clone(),
                Arc::new(client(permissions_api, ttl)),
            )
        };
        let (authorizer, backend_source): (Option<Authorizer>, Arc<dyn PermissionsSource>) =
            match pattern {
                Pattern::CognitoAuthorizer => (None, Arc::new(client(permissions_api, ttl))),
                Pattern::LambdaAuthorizerDecides => (
                    Some(authorizer(ORDER_RULES)),
                    Arc::new(client(permissions_api, ttl)),
                ),
                Pattern::LambdaAuthorizerAuthenticates => (
                    Some(authorizer(AUTHENTICATE_ONLY)),
                    Arc::new(OnlyFullyConsistent(client(permissions_api, ttl))),
                ),
            };
        let backend =
            clearance_example_orders::app(OrderBook::new(), AuthLayer::new(backend_source));
        Self {
            pattern,
            verifier,
            authorizer,
            backend,
        }
    }

    /// One call through "API Gateway": the status and the body the client would see.
    async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        resource: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method_arn =
            format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/{method}{path}");
        let authorizer_context = match self.pattern {
            Pattern::CognitoAuthorizer => match self.verifier.verify(token).await {
                // A Cognito user-pool authorizer puts the token's claims, as strings, in the context.
                Ok(verified) => {
                    let claims: serde_json::Map<String, Value> = verified
                        .claims
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                Value::String(
                                    v.as_str()
                                        .map(str::to_owned)
                                        .unwrap_or_else(|| v.to_string()),
                                ),
                            )
                        })
                        .collect();
                    json!({"claims": claims})
                }
                Err(_) => return (401, json!({"message": "Unauthorized"})),
            },
            _ => {
                let event = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": method_arn});
                let Ok((answer, _)) = self.authorizer.as_ref().unwrap().decide(&event).await else {
                    return (401, json!({"message": "Unauthorized"}));
                };
                let statement = &answer["policyDocument"]["Statement"][0];
                let covers = statement["Resource"] == method_arn.as_str()
                    || statement["Resource"]
                        .as_str()
                        .is_some_and(|r| r.ends_with("/*/*"));
                if statement["Effect"] != "Allow" || !covers {
                    return (
                        403,
                        json!({"message": "User is not authorized to access this resource with an explicit deny"}),
                    );
                }
                let mut context = answer["context"].clone();
                context["principalId"] = answer["principalId"].clone();
                context
            }
        };
        let event = proxy_event(method, path, resource, body, authorizer_context);
        let request =
            lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event");
        // As the orders binary does under Lambda: the routes know nothing of the stage.
        let request = clearance_middleware::lambda::strip_stage(request);
        let response = self.backend.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }
}

/// An API Gateway REST proxy event, as API Gateway sends it to the backing Lambda.
fn proxy_event(
    method: &str,
    path: &str,
    resource: &str,
    body: Option<Value>,
    authorizer: Value,
) -> Value {
    let mut headers =
        json!({"accept": "application/json", "host": "api1.execute-api.us-east-1.amazonaws.com"});
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let multi: serde_json::Map<String, Value> = headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": resource, "httpMethod": method,
            "path": format!("/prod{path}"), "accountId": "123456789012", "protocol": "HTTP/1.1",
            "stage": "prod", "domainPrefix": "api1", "requestTimeEpoch": 1795315800000u64,
            "requestId": "e2e-request", "apiId": "api1",
            "domainName": "api1.execute-api.us-east-1.amazonaws.com",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "e2e"},
            "authorizer": authorizer
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

struct World {
    issuer: TestIssuer,
    store: Arc<clearance_core::store::memory::MemoryStore>,
    api: TestServer,
}

async fn world(service_ttl: Duration) -> World {
    let store = memory();
    grant(store.as_ref(), "manager-1", &["1111"], "Manager").await;
    grant(store.as_ref(), "standard-1", &["1111", "2222"], "Standard").await;
    let mut settings = Settings::for_data_dir("unused");
    settings.cache_ttl = service_ttl;
    settings.cache_negative_ttl = service_ttl;
    let api = service_with(store.clone(), settings).await;
    World {
        issuer: TestIssuer::start().await,
        store,
        api,
    }
}

const ORDERS: &str = "/companies/{company_id}/orders";
const ONE_ORDER: &str = "/users/{user_id}/orders/{id}";

#[tokio::test]
async fn all_three_patterns_allow_and_deny_the_same_requests() {
    let w = world(Duration::from_secs(30)).await;
    let manager = w.issuer.access_token("manager-1", CLIENT);
    let standard = w.issuer.access_token("standard-1", CLIENT);
    let stranger = w.issuer.access_token("stranger", CLIENT);
    let order = json!({"item": "widgets", "quantity": 3});
    for pattern in [
        Pattern::CognitoAuthorizer,
        Pattern::LambdaAuthorizerDecides,
        Pattern::LambdaAuthorizerAuthenticates,
    ] {
        let gw = Gateway::new(pattern, &w.issuer, &w.api.url(), Duration::from_secs(10)).await;
        let (status, placed) = gw
            .call(
                &manager,
                "POST",
                "/companies/1111/orders",
                ORDERS,
                Some(order.clone()),
            )
            .await;
        assert_eq!(
            status, 201,
            "{pattern:?}: a Manager places an order: {placed}"
        );
        let id = placed["id"].as_str().expect("an order id").to_owned();

        let (status, listed) = gw
            .call(&standard, "GET", "/companies/1111/orders", ORDERS, None)
            .await;
        assert_eq!(status, 200, "{pattern:?}: a Standard member lists orders");
        assert_eq!(listed["orders"].as_array().unwrap().len(), 1, "{pattern:?}");

        let (status, body) = gw
            .call(
                &standard,
                "POST",
                "/companies/1111/orders",
                ORDERS,
                Some(order.clone()),
            )
            .await;
        assert_eq!(
            status, 403,
            "{pattern:?}: Standard is below Manager: {body}"
        );
        let (status, body) = gw
            .call(&manager, "GET", "/companies/2222/orders", ORDERS, None)
            .await;
        assert_eq!(status, 403, "{pattern:?}: not a member of 2222: {body}");
        assert!(
            !body.to_string().contains("1111"),
            "{pattern:?}: a refusal must not reveal the caller's companies: {body}"
        );
        let (status, _) = gw
            .call(&stranger, "GET", "/companies/1111/orders", ORDERS, None)
            .await;
        assert_eq!(status, 403, "{pattern:?}: a user without permissions");

        let (status, mine) = gw
            .call(
                &manager,
                "GET",
                &format!("/users/manager-1/orders/{id}"),
                ONE_ORDER,
                None,
            )
            .await;
        assert_eq!(
            status, 200,
            "{pattern:?}: the subject reads its own order: {mine}"
        );
        let (status, _) = gw
            .call(
                &standard,
                "GET",
                &format!("/users/manager-1/orders/{id}"),
                ONE_ORDER,
                None,
            )
            .await;
        assert_eq!(status, 403, "{pattern:?}: another user's order");

        let mut expired = w.issuer.access_claims("manager-1", CLIENT);
        expired["exp"] = json!(clearance_tests::issuer::now() - 30);
        for bad in [w.issuer.sign(&expired), "garbage".to_owned()] {
            let (status, _) = gw
                .call(&bad, "GET", "/companies/1111/orders", ORDERS, None)
                .await;
            assert_eq!(
                status, 401,
                "{pattern:?}: a bad token is refused before the backend"
            );
        }
    }
}

#[tokio::test]
async fn the_permissions_service_down_means_deny_in_every_pattern() {
    let w = world(Duration::from_secs(30)).await;
    let manager = w.issuer.access_token("manager-1", CLIENT);
    // Nothing listens on this port: the permissions service is down.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    for pattern in [
        Pattern::CognitoAuthorizer,
        Pattern::LambdaAuthorizerDecides,
        Pattern::LambdaAuthorizerAuthenticates,
    ] {
        let gw = Gateway::new(pattern, &w.issuer, &dead, Duration::from_secs(10)).await;
        let (status, body) = gw
            .call(&manager, "GET", "/companies/1111/orders", ORDERS, None)
            .await;
        assert!(
            status == 403 || status == 503,
            "{pattern:?}: must not allow, got {status}: {body}"
        );
    }
}

#[tokio::test]
async fn a_downgrade_is_denied_once_the_cache_ttls_have_passed() {
    // Two caches stand between a change and a decision: the authorizer's permissions client and
    // the permissions service. A change made through another service instance (another Lambda
    // instance, with its own cache) reaches this one only when its entry expires, so the bound is
    // the sum of the two TTLs (plus API Gateway's authorizer result TTL, 0 by default).
    let client_ttl = Duration::from_millis(1_000);
    let service_ttl = Duration::from_millis(1_500);
    let bound = client_ttl + service_ttl;
    let w = world(service_ttl).await;
    let other_instance = service(w.store.clone()).await;
    let gw = Gateway::new(
        Pattern::LambdaAuthorizerDecides,
        &w.issuer,
        &w.api.url(),
        client_ttl,
    )
    .await;
    let manager = w.issuer.access_token("manager-1", CLIENT);
    // Listing a company's orders decides on cached permissions (placing one, in the orders
    // example, reads them fully consistently: it sees a change at once).
    let (status, _) = gw
        .call(&manager, "GET", "/companies/1111/orders", ORDERS, None)
        .await;
    assert_eq!(status, 200, "a member may list orders");

    let downgrade = reqwest::Client::new()
        .patch(format!("{}/users/manager-1", other_instance.url()))
        .json(&json!({"removeCompanies": ["1111"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(downgrade.status(), 200);
    let changed = Instant::now();

    let (status, _) = gw
        .call(&manager, "GET", "/companies/1111/orders", ORDERS, None)
        .await;
    assert_eq!(
        status, 200,
        "right after the change the cached decision still allows: the caches are real"
    );
    let denied_after = loop {
        let (status, _) = gw
            .call(&manager, "GET", "/companies/1111/orders", ORDERS, None)
            .await;
        if status == 403 {
            break changed.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            changed.elapsed() < bound + Duration::from_secs(2),
            "still allowed long after the bound"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "downgrade denied after {denied_after:?} (bound: client {client_ttl:?} + service {service_ttl:?} = {bound:?})"
    );
    assert!(
        denied_after <= bound + Duration::from_millis(400),
        "denied after {denied_after:?}, later than the documented bound {bound:?}"
    );
}
