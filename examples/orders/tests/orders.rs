//! The orders API end to end: started in-process on `127.0.0.1:0` as `main` starts it (settings,
//! then the environment's verifier and permissions source), reading permissions from the real
//! permissions service (also in-process, over HTTP), with tokens from a test issuer whose JWKS is
//! served over HTTP; and the `orders-api` binary under a fake Lambda Runtime API.

use std::collections::HashMap;
use std::sync::Arc;

use clap::Parser as _;
use clearance_core::domain::RoleOrder;
use clearance_core::store::memory::MemoryStore;
use clearance_example_orders::config::Settings;
use clearance_example_orders::startup;
use clearance_middleware::serve;
use clearance_tests::answer::Answer;
use clearance_tests::function::Function;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::server::TestServer;
use clearance_tests::{events, seed};
use serde_json::{Value, json};

const CLIENT: &str = "web-client";
const MANAGER: &str = "manager-1";
const STANDARD: &str = "standard-1";

/// The permissions service over a memory store holding a Manager and a Standard user of 1111.
async fn permissions_service() -> (TestServer, Arc<MemoryStore>) {
    let store = seed::users()
        .grant(MANAGER, &["1111"], "Manager")
        .grant(STANDARD, &["1111"], "Standard")
        .memory()
        .await;
    let state = clearance_service::AppState::new(store.clone(), RoleOrder::default());
    (
        TestServer::start(clearance_service::app(state)).await,
        store,
    )
}

/// The orders API as `main` starts it, and what it needs running.
struct TestApp {
    issuer: TestIssuer,
    api: TestServer,
    http: reqwest::Client,
    /// The permissions service's store, to change permissions behind the orders API's back.
    store: Arc<MemoryStore>,
    _permissions: TestServer,
}

/// The environment `main` would see: the issuer's verifier settings and the permissions API.
fn environment(issuer: &TestIssuer, permissions_api: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = issuer.verifier_env(CLIENT).into_iter().collect();
    env.insert("PERMISSIONS_API_URL".into(), permissions_api.into());
    env
}

async fn spawn_app() -> TestApp {
    let (permissions, store) = permissions_service().await;
    let issuer = TestIssuer::start().await;
    let env = environment(&issuer, &permissions.url());
    let settings = Settings::try_parse_from(["orders-api", "--listen", "127.0.0.1:0"]).unwrap();
    let app = startup::build(&settings, &|k: &str| env.get(k).cloned())
        .await
        .expect("the orders API starts");
    let api =
        TestServer::start_with(|listener, shutdown| serve::serve(listener, app, shutdown)).await;
    TestApp {
        issuer,
        api,
        http: reqwest::Client::new(),
        store,
        _permissions: permissions,
    }
}

impl TestApp {
    fn token(&self, sub: &str) -> String {
        self.issuer.access_token(sub, CLIENT)
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}{path}", self.api.url());
        let mut request = self.http.request(method.parse().unwrap(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::send(request).await
    }
}

#[tokio::test]
async fn a_manager_places_an_order_that_members_list_and_only_its_owner_reads() {
    let app = spawn_app().await;
    let manager = app.token(MANAGER);
    let standard = app.token(STANDARD);

    let placed = app
        .send(
            "POST",
            "/companies/1111/orders",
            Some(&manager),
            Some(json!({"item": "printer paper", "quantity": 5})),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.json()["companyId"], "1111");
    assert_eq!(placed.json()["placedBy"], MANAGER);
    let id = placed.json()["id"].as_str().unwrap().to_owned();
    let location = format!("/users/{MANAGER}/orders/{id}");
    assert_eq!(placed.header("location"), Some(location.as_str()));

    // Any member, Standard or above, lists the company's orders.
    let listed = app
        .send("GET", "/companies/1111/orders", Some(&standard), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["orders"][0]["id"], id.as_str());

    // The owner reads it at its Location; another user may not look under the owner's path...
    let own = app.send("GET", &location, Some(&manager), None).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["item"], "printer paper");
    let other = app.send("GET", &location, Some(&standard), None).await;
    other.forbidden("subject-mismatch");
    // ...and under their own, it is not theirs.
    let theirs = app
        .send(
            "GET",
            &format!("/users/{STANDARD}/orders/{id}"),
            Some(&standard),
            None,
        )
        .await;
    theirs.problem(404, "order-not-found");
}

#[tokio::test]
async fn placing_an_order_sees_a_revocation_at_once_while_listing_stays_cached() {
    // Arrange: the Manager lists and places orders, so the orders API has their permissions
    // cached (the permissions client's cache, as the environment builds it).
    let app = spawn_app().await;
    let manager = app.token(MANAGER);
    let order = || Some(json!({"item": "toner", "quantity": 1}));
    let listed = app
        .send("GET", "/companies/1111/orders", Some(&manager), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let placed = app
        .send("POST", "/companies/1111/orders", Some(&manager), order())
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);

    // Act: the Manager is moved out of company 1111, straight in the permissions store.
    seed::grant(app.store.as_ref(), MANAGER, &["2222"], "Manager").await;

    // Assert: listing still decides on the cached copy (seconds old), placing an order reads
    // past every cache and is refused at once.
    let still_listed = app
        .send("GET", "/companies/1111/orders", Some(&manager), None)
        .await;
    assert_eq!(
        still_listed.status, 200,
        "listing decides on the cached permissions: {}",
        still_listed.text
    );
    app.send("POST", "/companies/1111/orders", Some(&manager), order())
        .await
        .forbidden("not-a-member");
}

#[tokio::test]
async fn callers_outside_the_rules_are_refused() {
    let app = spawn_app().await;
    let standard = app.token(STANDARD);

    let below = app
        .send(
            "POST",
            "/companies/1111/orders",
            Some(&standard),
            Some(json!({"item": "pens", "quantity": 1})),
        )
        .await;
    let detail = &below.forbidden("role-below-required")["detail"];
    assert_eq!(detail, "this action requires the role \"Manager\" or above");

    let other = app
        .send("GET", "/companies/2222/orders", Some(&standard), None)
        .await;
    let problem = other.forbidden("not-a-member");
    assert!(!problem.to_string().contains("1111"), "{problem}");

    let stranger = app
        .send(
            "GET",
            "/companies/1111/orders",
            Some(&app.token("stranger")),
            None,
        )
        .await;
    stranger.forbidden("unknown-user");

    let anonymous = app.send("GET", "/companies/1111/orders", None, None).await;
    anonymous.problem(401, "unauthorized");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));

    let health = app.send("GET", "/healthz", None, None).await;
    assert_eq!(health.status, 200, "the health check needs no caller");
}

#[tokio::test]
async fn a_bad_order_is_a_400_problem() {
    let app = spawn_app().await;
    let manager = app.token(MANAGER);
    let empty = app
        .send(
            "POST",
            "/companies/1111/orders",
            Some(&manager),
            Some(json!({"item": "", "quantity": 1})),
        )
        .await;
    assert!(
        empty.problem(400, "validation")["detail"]
            .as_str()
            .unwrap()
            .starts_with("item:")
    );
    let unknown = app
        .send(
            "POST",
            "/companies/1111/orders",
            Some(&manager),
            Some(json!({"item": "x", "quantity": 1, "price": 3})),
        )
        .await;
    unknown.problem(400, "invalid-body");
}

#[tokio::test]
async fn start_up_stops_with_a_message_naming_the_setting() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::try_parse_from(["orders-api"]).unwrap();
    let cases: [(Vec<(&str, String)>, &str); 3] = [
        (
            vec![("PERMISSIONS_API_URL", "http://127.0.0.1:9".into())],
            "JWT_ISSUER",
        ),
        (
            vec![
                ("JWT_ISSUER", issuer.issuer()),
                ("JWT_CLIENT_IDS", CLIENT.into()),
            ],
            "PERMISSIONS_API_URL",
        ),
        (
            vec![("PERMISSIONS_SOURCE", "carrier-pigeon".into())],
            "PERMISSIONS_SOURCE",
        ),
    ];
    for (pairs, setting) in cases {
        let env: HashMap<&str, String> = pairs.into_iter().collect();
        let err = startup::build(&settings, &|k: &str| env.get(k).cloned())
            .await
            .err()
            .unwrap_or_else(|| panic!("should refuse without {setting}"));
        let message = format!("{err:#}");
        assert!(message.contains(setting), "{setting}: {message}");
    }
}

#[tokio::test]
async fn the_binary_serves_the_same_routes_under_the_lambda_runtime() {
    let (permissions, _store) = permissions_service().await;
    // No verifier: on Lambda the caller comes from the authorizer's context.
    let function = Function::start(
        env!("CARGO_BIN_EXE_orders-api"),
        "orders-api",
        &[("PERMISSIONS_API_URL", permissions.url().as_str())],
    )
    .await;
    let event = events::read(env!("CARGO_MANIFEST_DIR"), "apigw-rest-create-order.json");

    let created = Answer::from_lambda(&function.respond(event.clone()).await);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["placedBy"], MANAGER);

    // The same caller, for a company the context does not list.
    let mut elsewhere = event;
    elsewhere["path"] = json!("/companies/2222/orders");
    elsewhere["pathParameters"] = json!({"company_id": "2222"});
    elsewhere["requestContext"]["path"] = json!("/prod/companies/2222/orders");
    let refused = Answer::from_lambda(&function.respond(elsewhere).await);
    refused.forbidden("not-a-member");
}
