//! The test app: a router with one route per rule behind the layers, served on `127.0.0.1:0`
//! (bearer tokens from a [`TestIssuer`]) or fed API Gateway events through `lambda_http`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::handler::Handler as _;
use axum::routing::get;
use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::source::{PermissionsSource, SourceError, StoreSource};
use clearance_core::store::memory::MemoryStore;
use clearance_middleware::{
    AuthLayer, CallerPermissions, Identity, require_client, require_company, require_subject,
};
pub use clearance_tests::answer::Answer;
use clearance_tests::events;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::seed::{self, Users};
use clearance_tests::server::TestServer;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The web app client users sign in with.
pub const CLIENT: &str = "web-client";
/// The clients the verifier trusts: [`CLIENT`] and [`MACHINE`].
pub const CLIENTS: &str = "web-client,m2m-client-7";
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

/// The users every test starts with.
fn seeded() -> Users {
    seed::users()
        .grant(MANAGER, &["1111"], "Manager")
        .grant(STANDARD, &["1111", "2222"], "Standard")
        .grant(MACHINE, &["3333"], "Standard")
        .grant(IAM_IDENTITY, &["1111"], "Manager")
}

/// The permissions every test starts with, as the store holds them.
pub fn people() -> Vec<UserPermissions> {
    seeded().permissions()
}

/// An in-memory store holding [`people`].
pub async fn store() -> Arc<MemoryStore> {
    seeded().memory().await
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
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.permissions(id).await
    }
}

/// A source that fails every call, as a source that is down does.
pub struct DownSource;

#[async_trait]
impl PermissionsSource for DownSource {
    async fn permissions(&self, _: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        Err(SourceError::msg("the permissions source is down"))
    }
}

/// A source that never answers.
pub struct StuckSource;

#[async_trait]
impl PermissionsSource for StuckSource {
    async fn permissions(&self, _: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
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

/// The app served over a real socket.
pub struct TestApp {
    pub issuer: TestIssuer,
    server: TestServer,
    http: reqwest::Client,
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
        let auth = configure(AuthLayer::new(source).with_verifier(issuer.verifier(CLIENTS)));
        Self {
            issuer,
            server: TestServer::start(router(auth)).await,
            http: reqwest::Client::new(),
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
        let url = format!("{}{path}", self.server.url());
        Answer::send(
            self.http
                .request(method.parse().unwrap(), url)
                .headers(headers),
        )
        .await
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
            Some(issuer) => auth.with_verifier(issuer.verifier(CLIENTS)),
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
        Answer::from_response(app.oneshot(request).await.unwrap()).await
    }
}

/// An event fixture from `tests/events/`.
pub fn fixture(name: &str) -> Value {
    events::read(env!("CARGO_MANIFEST_DIR"), name)
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
