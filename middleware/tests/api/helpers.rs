//! The test app: a router with one route per rule behind the layers, served on `127.0.0.1:0`
//! (bearer tokens from a [`TestIssuer`]) or fed API Gateway events through `lambda_http`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::handler::Handler as _;
use axum::routing::get;
use clearance_core::domain::{CompanyId, Role, UserId, UserPermissions};
use clearance_core::jwt::{Verifier, VerifierConfig};
use clearance_core::source::{PermissionsSource, SourceError, StoreSource};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{PermissionStore, Precondition};
use clearance_middleware::{
    AuthLayer, CallerPermissions, Identity, require_client, require_company, require_subject,
};
use clearance_tests::issuer::TestIssuer;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The web app client users sign in with.
pub const CLIENT: &str = "web-client";
/// A machine client (client-credentials tokens; its permissions are stored under its id).
pub const MACHINE: &str = "m2m-client-7";
/// A Manager of company 1111.
pub const MANAGER: &str = "manager-1";
/// A Standard user of companies 1111 and 2222.
pub const STANDARD: &str = "standard-1";
/// A signed-in user Clearance holds no permissions for.
pub const STRANGER: &str = "stranger-1";
/// A Cognito identity-pool identity (IAM callers), Manager of company 1111.
pub const IAM_IDENTITY: &str = "eu-west-1:7d3c9a52-1b4e-4f6a-9c2d-0e5f6a7b8c9d";

/// The permissions every test starts with.
pub fn people() -> Vec<UserPermissions> {
    [
        (MANAGER, vec!["1111"], "Manager"),
        (STANDARD, vec!["1111", "2222"], "Standard"),
        (MACHINE, vec!["3333"], "Standard"),
        (IAM_IDENTITY, vec!["1111"], "Manager"),
    ]
    .into_iter()
    .map(|(id, companies, role)| UserPermissions {
        id: UserId::parse(id).unwrap(),
        companies: companies
            .into_iter()
            .map(|c| CompanyId::parse(c).unwrap())
            .collect(),
        role: Role::from_stored(role),
        version: 1,
        updated_at: None,
        updated_by: None,
    })
    .collect()
}

/// An in-memory store holding [`people`].
pub async fn store() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    for p in people() {
        store
            .put(&p.id, &p.permissions(), Precondition::None, None)
            .await
            .unwrap();
    }
    store
}

/// A source that counts its calls, over [`store`].
pub struct CountingSource {
    inner: StoreSource<Arc<MemoryStore>>,
    /// Calls so far.
    pub calls: AtomicUsize,
}

impl CountingSource {
    pub async fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: StoreSource(store().await),
            calls: AtomicUsize::new(0),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PermissionsSource for CountingSource {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.permissions(id).await
    }
}

/// A source that fails every call, as a source that is down does.
pub struct DownSource;

#[async_trait]
impl PermissionsSource for DownSource {
    async fn permissions(&self, _: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        Err(SourceError::msg("the permissions source is down"))
    }
}

/// A source that never answers.
pub struct StuckSource;

#[async_trait]
impl PermissionsSource for StuckSource {
    async fn permissions(&self, _: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        std::future::pending().await
    }
}

/// What the handlers answer: the identity the layers established.
fn describe(identity: &Identity) -> Value {
    json!({
        "permissionsId": identity.caller.permissions_id,
        "subject": identity.caller.subject,
        "clientId": identity.caller.client_id,
        "scopes": identity.scopes,
        "origin": format!("{:?}", identity.origin),
        "companies": identity.permissions.as_ref().map(|p| p.companies.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
        "role": identity.permissions.as_ref().map(|p| p.role.as_str()),
        "version": identity.permissions.as_ref().map(|p| p.version),
    })
}

async fn show(identity: Identity) -> axum::Json<Value> {
    axum::Json(describe(&identity))
}

async fn show_permissions(CallerPermissions(p): CallerPermissions) -> axum::Json<Value> {
    axum::Json(json!({"id": p.id.as_str(), "role": p.role.as_str()}))
}

/// One route per rule, behind `auth`:
///
/// | route | rule |
/// | --- | --- |
/// | `GET /companies/{company_id}/orders` | member, Standard or above |
/// | `POST /companies/{company_id}/orders` | member, Manager or above |
/// | `DELETE /companies/{company_id}/orders` | member, exactly Manager |
/// | `GET /users/{user_id}/orders/{id}` | `user_id` is the caller's subject |
/// | `GET /clients/{client_id}/orders` | `client_id` is the caller's client |
/// | `GET /me` | authenticated |
/// | `GET /me/permissions` | authenticated, with stored permissions (the `CallerPermissions` extractor) |
pub fn router(auth: AuthLayer) -> Router {
    Router::new()
        .route(
            "/companies/{company_id}/orders",
            get(show.layer(require_company("company_id", Some("Standard"), true)))
                .post(show.layer(require_company("company_id", Some("Manager"), true)))
                .delete(show.layer(require_company("company_id", Some("Manager"), false))),
        )
        .route(
            "/users/{user_id}/orders/{id}",
            get(show).route_layer(require_subject("user_id")),
        )
        .route(
            "/clients/{client_id}/orders",
            get(show).route_layer(require_client("client_id")),
        )
        .route("/me", get(show))
        .route("/me/permissions", get(show_permissions))
        .layer(auth)
}

/// A verifier trusting `issuer`'s tokens for [`CLIENT`] and [`MACHINE`].
pub fn verifier(issuer: &TestIssuer) -> Arc<Verifier> {
    let env: HashMap<String, String> = issuer
        .verifier_env(&format!("{CLIENT},{MACHINE}"))
        .into_iter()
        .collect();
    let config = VerifierConfig::from_lookup(|k| env.get(k).cloned()).unwrap();
    Arc::new(Verifier::new(config).unwrap())
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem document of `status` and `slug`, and returns it.
    pub fn problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["type"], format!("urn:clearance:problem:{slug}"));
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        &self.body
    }
}

/// The app served over a real socket.
pub struct TestApp {
    pub addr: SocketAddr,
    pub issuer: TestIssuer,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// The app over [`store`], accepting the issuer's tokens.
    pub async fn spawn() -> Self {
        Self::spawn_with(CountingSource::new().await, |auth| auth).await
    }

    /// The app over `source`, with the layer adjusted by `configure`.
    pub async fn spawn_with(
        source: Arc<dyn PermissionsSource>,
        configure: impl FnOnce(AuthLayer) -> AuthLayer,
    ) -> Self {
        let issuer = TestIssuer::start().await;
        let auth = configure(AuthLayer::new(source).with_verifier(verifier(&issuer)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(auth);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            issuer,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// A user's access token, issued to [`CLIENT`].
    pub fn token(&self, sub: &str) -> String {
        self.issuer.access_token(sub, CLIENT)
    }

    /// `method path` with `Authorization: Bearer {token}` if given.
    pub async fn send(&self, method: &str, path: &str, token: Option<&str>) -> Answer {
        let mut headers = http::HeaderMap::new();
        if let Some(token) = token {
            headers.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        self.send_with(method, path, headers).await
    }

    /// `method path` with exactly these headers.
    pub async fn send_with(&self, method: &str, path: &str, headers: http::HeaderMap) -> Answer {
        let response = self
            .http
            .request(
                method.parse().unwrap(),
                format!("http://{}{path}", self.addr),
            )
            .headers(headers)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// The app as it runs under `lambda_http`: events in, answers out.
pub struct LambdaApp {
    app: Router,
}

impl LambdaApp {
    /// The app over `source`, optionally accepting `issuer`'s tokens too.
    pub fn new(source: Arc<dyn PermissionsSource>, issuer: Option<&TestIssuer>) -> Self {
        Self::with(source, |auth| match issuer {
            Some(issuer) => auth.with_verifier(verifier(issuer)),
            None => auth,
        })
    }

    /// The app over `source`, with the layer adjusted by `configure`.
    pub fn with(
        source: Arc<dyn PermissionsSource>,
        configure: impl FnOnce(AuthLayer) -> AuthLayer,
    ) -> Self {
        let auth =
            configure(AuthLayer::new(source).with_permissions_timeout(Duration::from_secs(2)));
        Self { app: router(auth) }
    }

    /// Feeds `event` through `lambda_http`'s request conversion, the stage stripping and the app.
    pub async fn call(&self, event: &Value) -> Answer {
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
        let app = self
            .app
            .clone()
            .map_request(clearance_middleware::lambda::strip_stage::<lambda_http::Body>);
        let response = app.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

/// An event fixture from `events/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/api/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Points a fixture at `method path`, matched by the route `resource` with path `params`.
pub fn target(
    event: &mut Value,
    method: &str,
    path: &str,
    resource: &str,
    params: &[(&str, &str)],
) {
    let params: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    event["pathParameters"] = Value::Object(params);
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        let route_key = format!("{method} {resource}");
        event["rawPath"] = json!(path);
        event["routeKey"] = json!(route_key);
        event["requestContext"]["routeKey"] = json!(route_key);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
    } else {
        let stage = event["requestContext"]["stage"]
            .as_str()
            .unwrap()
            .to_owned();
        event["resource"] = json!(resource);
        event["path"] = json!(path);
        event["httpMethod"] = json!(method);
        event["requestContext"]["resourcePath"] = json!(resource);
        event["requestContext"]["httpMethod"] = json!(method);
        event["requestContext"]["path"] = json!(format!("/{stage}{path}"));
    }
}
