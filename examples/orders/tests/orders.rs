//! The orders API end to end: started in-process on `127.0.0.1:0` as `main` starts it (settings,
//! then the environment's verifier and permissions source), reading permissions from the real
//! permissions service (also in-process, over HTTP), with tokens from a test issuer whose JWKS is
//! served over HTTP; and the `orders-api` binary under a fake Lambda Runtime API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use clearance_core::domain::{CompanyId, Permissions, Role, RoleOrder, UserId};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{PermissionStore, Precondition};
use clearance_example_orders::config::Settings;
use clearance_example_orders::startup;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::lambda_runtime::{FakeRuntime, Outcome};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const CLIENT: &str = "web-client";
const MANAGER: &str = "manager-1";
const STANDARD: &str = "standard-1";

/// The permissions service over a memory store holding a Manager and a Standard user of 1111.
async fn permissions_service() -> (String, oneshot::Sender<()>) {
    let store = MemoryStore::new();
    for (id, role) in [(MANAGER, "Manager"), (STANDARD, "Standard")] {
        let p = Permissions::new(
            vec![CompanyId::parse("1111").unwrap()],
            Role::from_stored(role),
        )
        .unwrap();
        store
            .put(&UserId::parse(id).unwrap(), &p, Precondition::None, None)
            .await
            .unwrap();
    }
    let state = clearance_service::AppState::new(Arc::new(store), RoleOrder::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(clearance_service::startup::serve(
        listener,
        clearance_service::app(state),
        async {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}

struct TestApp {
    addr: SocketAddr,
    issuer: TestIssuer,
    http: reqwest::Client,
    _stop: Vec<oneshot::Sender<()>>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            self.body["type"],
            format!("urn:clearance:problem:{slug}"),
            "{}",
            self.body
        );
        &self.body
    }
}

/// The environment `main` would see: the issuer's verifier settings and the permissions API.
fn environment(issuer: &TestIssuer, permissions_api: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = issuer.verifier_env(CLIENT).into_iter().collect();
    env.insert("PERMISSIONS_API_URL".into(), permissions_api.into());
    env
}

async fn spawn_app() -> TestApp {
    let (api, stop_api) = permissions_service().await;
    let issuer = TestIssuer::start().await;
    let env = environment(&issuer, &api);
    let settings = Settings::try_parse_from(["orders-api", "--listen", "127.0.0.1:0"]).unwrap();
    let app = startup::build(&settings, &|k: &str| env.get(k).cloned())
        .await
        .expect("the orders API starts");
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(startup::serve(listener, app, async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        issuer,
        http: reqwest::Client::new(),
        _stop: vec![stop, stop_api],
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
        let mut request = self.http.request(
            method.parse().unwrap(),
            format!("http://{}{path}", self.addr),
        );
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
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
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["companyId"], "1111");
    assert_eq!(placed.body["placedBy"], MANAGER);
    let id = placed.body["id"].as_str().unwrap().to_owned();
    let location = format!("/users/{MANAGER}/orders/{id}");
    assert_eq!(placed.header("location"), Some(location.as_str()));

    // Any member, Standard or above, lists the company's orders.
    let listed = app
        .send("GET", "/companies/1111/orders", Some(&standard), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["orders"][0]["id"], id.as_str());

    // The owner reads it at its Location; another user may not look under the owner's path...
    let own = app.send("GET", &location, Some(&manager), None).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["item"], "printer paper");
    let other = app.send("GET", &location, Some(&standard), None).await;
    assert_eq!(other.problem(403, "forbidden")["code"], "subject-mismatch");
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
    let problem = below.problem(403, "forbidden");
    assert_eq!(problem["code"], "role-below-required");
    assert_eq!(
        problem["detail"],
        "this action requires the role \"Manager\" or above"
    );

    let other = app
        .send("GET", "/companies/2222/orders", Some(&standard), None)
        .await;
    let problem = other.problem(403, "forbidden");
    assert_eq!(problem["code"], "not-a-member");
    assert!(!problem.to_string().contains("1111"), "{problem}");

    let stranger = app
        .send(
            "GET",
            "/companies/1111/orders",
            Some(&app.token("stranger")),
            None,
        )
        .await;
    assert_eq!(stranger.problem(403, "forbidden")["code"], "unknown-user");

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
    let (api, _stop) = permissions_service().await;
    let runtime = FakeRuntime::start().await;
    // No verifier: on Lambda the caller comes from the authorizer's context.
    let _function = runtime.spawn_function(
        env!("CARGO_BIN_EXE_orders-api").as_ref(),
        "orders-api",
        &[("PERMISSIONS_API_URL", api.as_str())],
    );
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/events/apigw-rest-create-order.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();

    let Outcome::Response(created) = runtime.invoke(event.clone(), Duration::from_secs(20)).await
    else {
        panic!("the function failed")
    };
    assert_eq!(created["statusCode"], 201, "{created}");
    let order: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    assert_eq!(order["placedBy"], MANAGER);

    // The same caller, for a company the context does not list.
    let mut elsewhere = event;
    elsewhere["path"] = json!("/companies/2222/orders");
    elsewhere["pathParameters"] = json!({"company_id": "2222"});
    elsewhere["requestContext"]["path"] = json!("/prod/companies/2222/orders");
    let Outcome::Response(refused) = runtime.invoke(elsewhere, Duration::from_secs(10)).await
    else {
        panic!("the function failed")
    };
    assert_eq!(refused["statusCode"], 403, "{refused}");
    let problem: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    assert_eq!(problem["code"], "not-a-member");
}
