//! The permissions client against a stand-in permissions API and token endpoint on real sockets.
//!
//! The stand-in counts what reaches it (token fetches, API requests), can be told to fail, stall
//! or answer slowly, and refuses expired or unknown bearer tokens, so the client's retries,
//! timeouts, token handling and cache are measured where a server would see them.

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use clearance_core::cache::{CacheSettings, CachedSource};
use clearance_core::client::{
    Auth, ClientConfig, ClientCredentials, ClientError, PermissionsClient, Secret, SigV4,
    TokenError,
};
use clearance_core::consistency::Consistency;
use clearance_core::domain::{CompanyId, RoleRequirement, UserId};
use clearance_core::source::PermissionsSource as _;
use serde_json::{Value, json};

const CLIENT_ID: &str = "trigger-client";
const CLIENT_SECRET: &str = "s3cr3t-do-not-log";

// ---------------------------------------------------------------------------------------------
// The stand-in server.

#[derive(Default)]
struct Api {
    /// Users by id, as the API returns them.
    users: Mutex<HashMap<String, Value>>,
    /// Statuses to answer with, one per API request, before answering normally.
    script: Mutex<VecDeque<u16>>,
    /// Never answer API requests.
    hang: AtomicBool,
    /// Delay before answering API requests.
    delay_ms: AtomicU64,
    /// API requests received.
    requests: AtomicUsize,
    /// The last API request: raw path, headers, body.
    last: Mutex<Option<(String, HeaderMap, Bytes)>>,

    /// Require a valid bearer token on API requests.
    require_token: AtomicBool,
    /// Token requests received.
    token_requests: AtomicUsize,
    /// Delay before answering token requests.
    token_delay_ms: AtomicU64,
    /// The lifetime of the tokens issued, in seconds.
    expires_in: AtomicU64,
    /// Tokens issued, with when they expire.
    issued: Mutex<HashMap<String, Instant>>,
    /// The last token request: Authorization header and form body.
    last_token_request: Mutex<Option<(String, String)>>,
    /// API requests that came with an expired token.
    expired_uses: AtomicUsize,
}

impl Api {
    fn add_user(&self, id: &str, companies: &[&str], role: &str) {
        self.users.lock().unwrap().insert(
            id.into(),
            json!({"id": id, "companies": companies, "role": role, "version": 1}),
        );
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    fn script(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }
}

fn problem(status: StatusCode, slug: &str, detail: &str) -> Response {
    let body = json!({"type": format!("urn:clearance:problem:{slug}"), "title": slug,
                      "status": status.as_u16(), "detail": detail});
    (
        status,
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// What every API request passes: counting, recording, stalling, scripted failures, the token.
async fn gate(api: &Api, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Option<Response> {
    api.requests.fetch_add(1, Ordering::SeqCst);
    *api.last.lock().unwrap() = Some((uri.path().to_owned(), headers.clone(), body.clone()));
    if api.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let delay = api.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if api.require_token.load(Ordering::SeqCst) {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let expiry = token.and_then(|t| api.issued.lock().unwrap().get(t).copied());
        match expiry {
            None => {
                return Some(problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "no valid token",
                ));
            }
            Some(expiry) if Instant::now() >= expiry => {
                api.expired_uses.fetch_add(1, Ordering::SeqCst);
                return Some(problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "token expired",
                ));
            }
            Some(_) => {}
        }
    }
    let scripted = api.script.lock().unwrap().pop_front();
    scripted.map(|status| {
        let status = StatusCode::from_u16(status).unwrap();
        problem(status, "scripted", &format!("scripted {status}"))
    })
}

async fn get_user(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(early) = gate(&api, &uri, &headers, &Bytes::new()).await {
        return early;
    }
    match api.users.lock().unwrap().get(&id) {
        Some(user) => Json(user.clone()).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            "user-not-found",
            &format!("no user {id}"),
        ),
    }
}

async fn batch_get(
    State(api): State<Arc<Api>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(early) = gate(&api, &uri, &headers, &body).await {
        return early;
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    let ids = request["ids"].as_array().unwrap();
    if ids.is_empty() || ids.len() > 100 {
        return problem(
            StatusCode::BAD_REQUEST,
            "validation",
            "ids: must hold 1 to 100 ids",
        );
    }
    let users = api.users.lock().unwrap();
    let (found, missing): (Vec<&Value>, Vec<&Value>) = ids
        .iter()
        .partition(|id| users.contains_key(id.as_str().unwrap()));
    let found: Vec<Value> = found
        .iter()
        .map(|id| users[id.as_str().unwrap()].clone())
        .collect();
    Json(json!({"users": found, "missing": missing})).into_response()
}

async fn check(State(api): State<Arc<Api>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(early) = gate(&api, &uri, &headers, &body).await {
        return early;
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    let known = api
        .users
        .lock()
        .unwrap()
        .contains_key(request["user"].as_str().unwrap());
    let (allowed, code) = if known {
        (true, "allowed")
    } else {
        (false, "unknown-user")
    };
    Json(json!({"allowed": allowed, "reason": code, "code": code})).into_response()
}

async fn token(State(api): State<Arc<Api>>, headers: HeaderMap, body: String) -> Response {
    let n = api.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    *api.last_token_request.lock().unwrap() = Some((authorization.clone(), body));
    let delay = api.token_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if authorization != expected {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let expires_in = api.expires_in.load(Ordering::SeqCst);
    let value = format!("token-{n}");
    api.issued.lock().unwrap().insert(
        value.clone(),
        Instant::now() + Duration::from_secs(expires_in),
    );
    Json(json!({"access_token": value, "expires_in": expires_in, "token_type": "Bearer"}))
        .into_response()
}

async fn route_not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "not-found", "no such route")
}

struct Server {
    api: Arc<Api>,
    base: String,
}

async fn start() -> Server {
    let api = Arc::new(Api {
        expires_in: AtomicU64::new(3600),
        ..Api::default()
    });
    api.add_user("alice", &["1111"], "Manager");
    let router = axum::Router::new()
        .route("/prod/users/batch-get", post(batch_get))
        .route("/prod/users/{id}", get(get_user))
        .route("/prod/check", post(check))
        .route("/oauth2/token", post(token))
        .fallback(route_not_found)
        .with_state(api.clone());
    let addr = support::serve(router).await;
    Server {
        api,
        base: format!("http://{addr}"),
    }
}

impl Server {
    fn config(&self) -> ClientConfig {
        ClientConfig::new(&format!("{}/prod", self.base)).unwrap()
    }

    fn client(&self) -> PermissionsClient {
        PermissionsClient::new(self.config()).unwrap()
    }

    fn credentials(&self, secret: &str) -> Auth {
        Auth::ClientCredentials(
            ClientCredentials::new(
                &format!("{}/oauth2/token", self.base),
                CLIENT_ID,
                Secret::new(secret),
                vec!["clearance/read".into(), "clearance/check".into()],
            )
            .unwrap(),
        )
    }

    fn client_with_token(&self) -> PermissionsClient {
        self.api.require_token.store(true, Ordering::SeqCst);
        PermissionsClient::new(self.config().with_auth(self.credentials(CLIENT_SECRET))).unwrap()
    }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Operations.

#[tokio::test]
async fn get_user_returns_the_users_permissions() {
    let server = start().await;
    let alice = server
        .client()
        .get_user(&user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.id.as_str(), "alice");
    assert_eq!(alice.companies[0].as_str(), "1111");
    assert_eq!(alice.role.as_str(), "Manager");
}

#[tokio::test]
async fn get_user_percent_encodes_the_id_in_the_path() {
    let server = start().await;
    server.api.add_user("a/b?c#d%e", &[], "Standard");
    let found = server.client().get_user(&user("a/b?c#d%e")).await.unwrap();
    assert_eq!(found.unwrap().id.as_str(), "a/b?c#d%e");
    let (path, _, _) = server.api.last.lock().unwrap().clone().unwrap();
    assert_eq!(path, "/prod/users/a%2Fb%3Fc%23d%25e");
}

#[tokio::test]
async fn an_unknown_user_is_none() {
    let server = start().await;
    assert_eq!(
        server.client().get_user(&user("nobody")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_404_for_an_unknown_route_is_an_error_not_an_unknown_user() {
    let server = start().await;
    let client =
        PermissionsClient::new(ClientConfig::new(&format!("{}/wrong-stage", server.base)).unwrap())
            .unwrap();
    let err = client.get_user(&user("alice")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Status { status: 404, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn check_sends_the_reference_shape_and_reads_the_decision() {
    let server = start().await;
    let client = server.client();
    let decision = client
        .check(
            &user("alice"),
            Some(&CompanyId::parse("1111").unwrap()),
            Some(&RoleRequirement::AtLeast("Manager".into())),
            Consistency::MinimizeLatency,
        )
        .await
        .unwrap();
    assert!(decision.allowed);
    assert_eq!(decision.code, "allowed");
    let (path, headers, body) = server.api.last.lock().unwrap().clone().unwrap();
    assert_eq!(path, "/prod/check");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        json!({"user": "alice", "company": "1111", "role": "Manager", "atLeast": true})
    );

    let decision = client
        .check(&user("bob"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap();
    assert!(!decision.allowed);
    let (_, _, body) = server.api.last.lock().unwrap().clone().unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body, json!({"user": "bob", "atLeast": false}));
}

#[tokio::test]
async fn batch_get_sends_chunks_of_100_and_fills_the_cache() {
    let server = start().await;
    for i in 0..120 {
        server.api.add_user(&format!("u{i}"), &["1111"], "Standard");
    }
    let ids: Vec<UserId> = (0..150).map(|i| user(&format!("u{i}"))).collect();
    let client = server.client();
    let answer = client.batch_get(&ids).await.unwrap();
    assert_eq!(answer.users.len(), 120);
    assert_eq!(answer.missing.len(), 30);
    assert_eq!(answer.missing[0].as_str(), "u120");
    assert_eq!(server.api.requests(), 2);
}

// ---------------------------------------------------------------------------------------------
// The cache.

/// The client behind the one read-through cache (`CachedSource`), as `source::env` builds it.
fn cached(client: PermissionsClient, negative_ttl: Duration) -> CachedSource<PermissionsClient> {
    CachedSource::new(
        client,
        CacheSettings {
            ttl: Duration::from_secs(10),
            negative_ttl,
            capacity: 100,
            ..CacheSettings::default()
        },
    )
}

#[tokio::test]
async fn a_second_read_is_answered_from_the_cache() {
    let server = start().await;
    let source = cached(server.client(), Duration::from_secs(2));
    source.permissions(&user("alice")).await.unwrap();
    source.permissions(&user("alice")).await.unwrap();
    assert_eq!(server.api.requests(), 1);
    let stats = source.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[tokio::test]
async fn an_unknown_user_is_cached_briefly() {
    let server = start().await;
    let source = cached(server.client(), Duration::from_millis(300));
    assert!(source.permissions(&user("nobody")).await.unwrap().is_none());
    assert!(source.permissions(&user("nobody")).await.unwrap().is_none());
    assert_eq!(server.api.requests(), 1);

    server.api.add_user("nobody", &[], "Standard");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(source.permissions(&user("nobody")).await.unwrap().is_some());
    assert_eq!(server.api.requests(), 2);
}

#[tokio::test]
async fn concurrent_misses_for_one_user_share_one_request() {
    let server = start().await;
    server.api.delay_ms.store(100, Ordering::SeqCst);
    let source = cached(server.client(), Duration::from_secs(2));
    let id = user("alice");
    let answers = futures::future::join_all((0..20).map(|_| source.permissions(&id))).await;
    assert!(answers.iter().all(|a| matches!(a, Ok(Some(_)))));
    assert_eq!(server.api.requests(), 1);
}

#[tokio::test]
async fn errors_are_never_cached() {
    let server = start().await;
    let mut config = server.config();
    config.max_attempts = 1;
    let source = cached(
        PermissionsClient::new(config).unwrap(),
        Duration::from_secs(2),
    );
    server.api.script(&[500]);
    assert!(source.permissions(&user("alice")).await.is_err());
    assert!(source.permissions(&user("alice")).await.unwrap().is_some());
    assert_eq!(server.api.requests(), 2);
}

#[tokio::test]
async fn invalidate_drops_a_cached_user() {
    let server = start().await;
    let source = cached(server.client(), Duration::from_secs(2));
    source.permissions(&user("alice")).await.unwrap();
    source.invalidate(&user("alice")).await;
    source.permissions(&user("alice")).await.unwrap();
    assert_eq!(server.api.requests(), 2);
}

#[tokio::test]
async fn the_client_alone_keeps_no_cache() {
    let server = start().await;
    let client = server.client();
    client.get_user(&user("alice")).await.unwrap();
    client.get_user(&user("alice")).await.unwrap();
    assert_eq!(server.api.requests(), 2);
}

// ---------------------------------------------------------------------------------------------
// Retries and timeouts.

#[tokio::test]
async fn a_503_is_retried_until_it_succeeds() {
    let server = start().await;
    server.api.script(&[503, 503]);
    let client = server.client();
    let alice = client.get_user(&user("alice")).await.unwrap();
    assert!(alice.is_some());
    assert_eq!(server.api.requests(), 3);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn retries_stop_after_max_attempts() {
    let server = start().await;
    server.api.script(&[503, 502, 500, 200]);
    let client = server.client();
    let err = client
        .check(&user("alice"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("scripted 500"), "{err}");
    assert_eq!(server.api.requests(), 3);
}

#[tokio::test]
async fn a_400_or_a_403_is_never_retried() {
    for status in [400, 403, 409, 429] {
        let server = start().await;
        server.api.script(&[status]);
        let err = server
            .client()
            .check(&user("alice"), None, None, Consistency::MinimizeLatency)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Status { status: s, .. } if s == status),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(server.api.requests(), 1, "{status}");
    }
}

#[tokio::test]
async fn the_total_timeout_bounds_a_server_that_never_answers() {
    let server = start().await;
    server.api.hang.store(true, Ordering::SeqCst);
    let mut config = server.config();
    config.attempt_timeout = Duration::from_millis(150);
    config.total_timeout = Duration::from_millis(400);
    config.max_attempts = 10;
    let client = PermissionsClient::new(config).unwrap();
    let started = Instant::now();
    let err = client.get_user(&user("alice")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(700), "{elapsed:?}");
    // Each attempt gave up on time and the next one was made.
    assert!(server.api.requests() >= 2, "{}", server.api.requests());
}

#[tokio::test]
async fn the_default_timeouts_answer_well_inside_a_cognito_trigger_budget() {
    let server = start().await;
    server.api.hang.store(true, Ordering::SeqCst);
    let client = server.client();
    let started = Instant::now();
    let err = client.get_user(&user("alice")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2_300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_failures_are_retried_and_reported() {
    // A port that was free a moment ago: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client =
        PermissionsClient::new(ClientConfig::new(&format!("http://{addr}")).unwrap()).unwrap();
    let err = client.get_user(&user("alice")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Transport { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(client.stats().attempts, 3);
}

// ---------------------------------------------------------------------------------------------
// OAuth2 client credentials.

#[tokio::test]
async fn fifty_concurrent_calls_cause_exactly_one_token_fetch() {
    let server = start().await;
    server.api.token_delay_ms.store(100, Ordering::SeqCst);
    let client = server.client_with_token();
    let id = user("alice");
    let answers = futures::future::join_all(
        (0..50).map(|_| client.check(&id, None, None, Consistency::MinimizeLatency)),
    )
    .await;
    assert!(
        answers.iter().all(Result::is_ok),
        "{:?}",
        answers.iter().find(|a| a.is_err())
    );
    assert_eq!(server.api.token_requests(), 1);
    assert_eq!(client.stats().token_fetches, 1);
    assert_eq!(server.api.requests(), 50);

    // Cognito's form: Basic client authentication, client_credentials grant, scopes.
    let (authorization, form) = server
        .api
        .last_token_request
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert!(authorization.starts_with("Basic "));
    assert_eq!(
        form,
        "grant_type=client_credentials&scope=clearance%2Fread+clearance%2Fcheck"
    );
    let (_, headers, _) = server.api.last.lock().unwrap().clone().unwrap();
    assert_eq!(headers["authorization"], "Bearer token-1");
}

#[tokio::test]
async fn the_token_is_renewed_before_it_expires() {
    let server = start().await;
    server.api.expires_in.store(2, Ordering::SeqCst);
    let client = server.client_with_token();
    let id = user("alice");
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(4_500) {
        client
            .check(&id, None, None, Consistency::MinimizeLatency)
            .await
            .expect("every call goes out with a valid token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.api.expired_uses.load(Ordering::SeqCst), 0);
    let fetches = server.api.token_requests();
    assert!(
        (3..=4).contains(&fetches),
        "{fetches} token fetches in 4.5 s"
    );
}

#[tokio::test]
async fn a_refused_token_request_is_reported_and_not_retried() {
    let server = start().await;
    server.api.require_token.store(true, Ordering::SeqCst);
    let client =
        PermissionsClient::new(server.config().with_auth(server.credentials("wrong"))).unwrap();
    let err = client.get_user(&user("alice")).await.unwrap_err();
    match &err {
        ClientError::Token(TokenError::Refused { status: 401, error }) => {
            assert_eq!(error.as_deref(), Some("invalid_client"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.api.token_requests(), 1);
    assert_eq!(server.api.requests(), 0);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wrong"), "{shown}");
}

#[tokio::test]
async fn a_token_endpoint_failure_is_retried_like_the_api() {
    let server = start().await;
    // A token endpoint that stalls past the attempt timeout once, then answers.
    server.api.token_delay_ms.store(700, Ordering::SeqCst);
    let client = server.client_with_token();
    let id = user("alice");
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_user(&id).await }
    });
    tokio::time::sleep(Duration::from_millis(550)).await;
    server.api.token_delay_ms.store(0, Ordering::SeqCst);
    assert!(call.await.unwrap().unwrap().is_some());
    assert!(server.api.token_requests() >= 2);
}

#[tokio::test]
async fn a_401_from_the_api_drops_the_cached_token() {
    let server = start().await;
    let client = server.client_with_token();
    client
        .check(&user("alice"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap();
    // The API stops accepting the token (revoked): one 401, then a new token.
    server.api.issued.lock().unwrap().clear();
    let err = client
        .check(&user("alice"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Status { status: 401, .. }),
        "{err:?}"
    );
    client
        .check(&user("alice"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap();
    assert_eq!(server.api.token_requests(), 2);
}

#[tokio::test]
async fn debug_output_never_shows_the_secret_or_the_token() {
    let server = start().await;
    let config = server.config().with_auth(server.credentials(CLIENT_SECRET));
    let shown = format!("{config:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let client = server.client_with_token();
    client
        .check(&user("alice"), None, None, Consistency::MinimizeLatency)
        .await
        .unwrap();
    let shown = format!("{client:?} {:?}", client.stats());
    assert!(
        !shown.contains("token-1") && !shown.contains(CLIENT_SECRET),
        "{shown}"
    );
}

#[test]
fn a_token_endpoint_over_plain_http_to_another_host_is_refused() {
    let err = ClientCredentials::new(
        "http://auth.example.com/oauth2/token",
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        vec![],
    )
    .unwrap_err();
    assert!(err.to_string().contains("token_url"), "{err}");
    assert!(!err.to_string().contains(CLIENT_SECRET));
}

// ---------------------------------------------------------------------------------------------
// SigV4.

fn sigv4_client(server: &Server, session_token: Option<&str>) -> PermissionsClient {
    let credentials = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token.map(str::to_owned),
        None,
        "test",
    );
    let auth = Auth::SigV4(SigV4::new("eu-west-1").with_credentials(credentials));
    PermissionsClient::new(server.config().with_auth(auth)).unwrap()
}

#[tokio::test]
async fn sigv4_adds_a_well_formed_authorization_header() {
    let server = start().await;
    let client = sigv4_client(&server, Some("session-token-value"));
    client.get_user(&user("alice")).await.unwrap();
    let (_, headers, _) = server.api.last.lock().unwrap().clone().unwrap();

    let date = headers["x-amz-date"].to_str().unwrap();
    assert_eq!(date.len(), 16, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[8] == b'T', "{date}");
    assert_eq!(headers["x-amz-security-token"], "session-token-value");

    let authorization = headers["authorization"].to_str().unwrap();
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("{authorization}"));
    let parts: HashMap<&str, &str> = rest
        .split(", ")
        .map(|p| p.split_once('=').unwrap())
        .collect();
    assert_eq!(
        parts["Credential"],
        format!(
            "AKIDEXAMPLE/{}/eu-west-1/execute-api/aws4_request",
            &date[..8]
        )
    );
    let signed: Vec<&str> = parts["SignedHeaders"].split(';').collect();
    for header in ["host", "x-amz-date", "x-amz-security-token"] {
        assert!(signed.contains(&header), "{signed:?}");
    }
    let signature = parts["Signature"];
    assert_eq!(signature.len(), 64);
    assert!(
        signature
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(!authorization.contains("wJalrXUtnFEMI"));
}

#[tokio::test]
async fn the_sigv4_signature_verifies_when_recomputed() {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};

    let server = start().await;
    let client = sigv4_client(&server, None);
    client
        .check(
            &user("alice"),
            Some(&CompanyId::parse("1111").unwrap()),
            None,
            Consistency::MinimizeLatency,
        )
        .await
        .unwrap();
    let (path, headers, body) = server.api.last.lock().unwrap().clone().unwrap();

    // Sign the request the server received again, at the time it says it was signed.
    let date = headers["x-amz-date"].to_str().unwrap();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at: SystemTime = time::PrimitiveDateTime::parse(date, &format)
        .unwrap()
        .assume_utc()
        .into();
    let identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("execute-api")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("{}{path}", server.base);
    let content_type = headers["content-type"].to_str().unwrap();
    let request = SignableRequest::new(
        "POST",
        url,
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(&body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let expected: HashMap<&str, &str> = instructions.headers().collect();
    assert_eq!(
        expected["authorization"],
        headers["authorization"].to_str().unwrap()
    );
}
