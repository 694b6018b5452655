//! A test token issuer: an RSA key generated at start, its JWKS served over HTTP on a free
//! loopback port, and tokens signed with it, shaped like Cognito's (or any OIDC issuer's).
//!
//! Tokens are really signed and really verified against the JWKS fetched over a socket: nothing
//! in the verifier is bypassed.
//!
//! It also signs people in as an OIDC issuer does for a browser: an OIDC discovery document
//! (`/.well-known/openid-configuration`), an authorization endpoint (`/authorize`) that approves
//! at once as the user the test chose ([`TestIssuer::sign_in_as`]) and redirects back with a
//! one-time code, and a token endpoint (`/token`) that exchanges the code for a signed access
//! token only with the PKCE verifier whose S256 challenge came with the authorization request
//! (and the same client and redirect URI). It answers the token request with CORS allowed from
//! anywhere, as Cognito's does, so that a page on another origin can read the answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clearance_core::jwt::{Verifier, VerifierConfig};
use serde_json::{Value, json};

use crate::server::TestServer;

/// The key id of the issuer's signing key.
pub const KID: &str = "test-key-1";

/// A running issuer.
pub struct TestIssuer {
    key: Arc<RsaKeyPair>,
    fetches: Arc<AtomicUsize>,
    sign_in: Arc<SignInState>,
    /// Serves the JWKS; stops when the issuer is dropped.
    server: TestServer,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl TestIssuer {
    /// Generates a key and serves its JWKS at `/.well-known/jwks.json`.
    pub async fn start() -> Self {
        let key = Arc::new(
            RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("generate an RSA key"),
        );
        let public = key.public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        }]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let sign_in = Arc::new(SignInState::default());
        let app = axum::Router::new()
            .route(
                "/.well-known/jwks.json",
                get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let jwks = jwks.clone();
                    async move { axum::Json(jwks) }
                }),
            )
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(sign_in.clone());
        let server = TestServer::start(app).await;
        *lock(&sign_in.issuer) = server.url();
        *lock(&sign_in.key) = Some(key.clone());
        Self {
            key,
            fetches,
            sign_in,
            server,
        }
    }

    /// Who the authorization endpoint signs in from now on: user `sub`, through app client
    /// `client_id`, granted `scope` (space-separated).
    pub fn sign_in_as(&self, sub: &str, client_id: &str, scope: &str) {
        *lock(&self.sign_in.user) = Some(SignInUser {
            sub: sub.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
        });
    }

    /// How many access tokens the token endpoint has issued for a code.
    pub fn tokens_issued(&self) -> usize {
        self.sign_in.issued.load(Ordering::SeqCst)
    }

    /// The issuer URL (`iss`): `http://127.0.0.1:{port}`.
    pub fn issuer(&self) -> String {
        self.server.url()
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer())
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Environment settings for a verifier that trusts this issuer's access tokens for `client_id`.
    pub fn verifier_env(&self, client_id: &str) -> Vec<(String, String)> {
        vec![
            ("JWT_ISSUER".into(), self.issuer()),
            ("JWT_JWKS_URL".into(), self.jwks_url()),
            ("JWT_CLIENT_IDS".into(), client_id.into()),
        ]
    }

    /// A verifier that trusts this issuer's access tokens for `client_ids` (comma-separated), built
    /// from [`TestIssuer::verifier_env`] as a Lambda builds its own from the environment.
    pub fn verifier(&self, client_ids: &str) -> Arc<Verifier> {
        let env: HashMap<String, String> = self.verifier_env(client_ids).into_iter().collect();
        let config = VerifierConfig::from_lookup(|k| env.get(k).cloned())
            .expect("the test issuer's verifier settings");
        Arc::new(Verifier::new(config).expect("a verifier for the test issuer"))
    }

    /// Like [`TestIssuer::verifier`], keeping up to `capacity` verified tokens
    /// (`Verifier::with_token_cache`), as the authorizer's Lambda builds it.
    pub fn caching_verifier(&self, client_ids: &str, capacity: u64) -> Arc<Verifier> {
        let env: HashMap<String, String> = self.verifier_env(client_ids).into_iter().collect();
        let config = VerifierConfig::from_lookup(|k| env.get(k).cloned())
            .expect("the test issuer's verifier settings");
        let verifier = Verifier::new(config).expect("a verifier for the test issuer");
        Arc::new(verifier.with_token_cache(capacity))
    }

    /// Signs `claims` with the issuer's key and `kid`.
    pub fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        sign_claims(&self.key, claims, kid)
    }

    /// Signs `claims` with the issuer's key.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(claims, KID)
    }

    /// The claims of a Cognito-style access token for user `sub`, issued to `client_id`.
    pub fn access_claims(&self, sub: &str, client_id: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer(), "sub": sub, "client_id": client_id, "token_use": "access",
            "scope": "openid email", "username": sub, "iat": now, "exp": now + 3600,
            "jti": format!("jti-{sub}-{now}"),
        })
    }

    /// A valid access token for user `sub`, issued to `client_id`.
    pub fn access_token(&self, sub: &str, client_id: &str) -> String {
        self.sign(&self.access_claims(sub, client_id))
    }

    /// A valid client-credentials (machine) token: `sub` and `client_id` are the app client.
    pub fn machine_token(&self, client_id: &str, scopes: &str) -> String {
        let mut claims = self.access_claims(client_id, client_id);
        claims["scope"] = json!(scopes);
        claims.as_object_mut().map(|c| c.remove("username"));
        self.sign(&claims)
    }
}

/// Who the authorization endpoint approves.
#[derive(Debug, Clone)]
struct SignInUser {
    sub: String,
    client_id: String,
    scope: String,
}

/// A code issued by the authorization endpoint, waiting to be exchanged.
#[derive(Debug, Clone)]
struct PendingCode {
    user: SignInUser,
    redirect_uri: String,
    challenge: String,
}

/// The sign-in endpoints' state.
#[derive(Default)]
struct SignInState {
    issuer: Mutex<String>,
    key: Mutex<Option<Arc<RsaKeyPair>>>,
    user: Mutex<Option<SignInUser>>,
    codes: Mutex<HashMap<String, PendingCode>>,
    issued: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

async fn discovery(State(state): State<Arc<SignInState>>) -> axum::Json<Value> {
    let issuer = lock(&state.issuer).clone();
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// Approves at once as the chosen user, for a request that asks for a code with an S256
/// challenge from that user's client; anything else is refused as an issuer would.
async fn authorize(
    State(state): State<Arc<SignInState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let Some(user) = lock(&state.user).clone() else {
        return (
            StatusCode::FORBIDDEN,
            "no one is signed in at the test issuer",
        )
            .into_response();
    };
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() < 43
        || get("client_id") != user.client_id
        || get("redirect_uri").is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            format!("invalid authorization request: {q:?}"),
        )
            .into_response();
    }
    let code = b64(&rand_bytes());
    lock(&state.codes).insert(
        code.clone(),
        PendingCode {
            user,
            redirect_uri: get("redirect_uri"),
            challenge: get("code_challenge"),
        },
    );
    let back = format!(
        "{}?code={code}&state={}",
        get("redirect_uri"),
        url_encode(&get("state"))
    );
    Redirect::to(&back).into_response()
}

/// Exchanges a code for an access token, once, only with the PKCE verifier of its challenge.
async fn token(State(state): State<Arc<SignInState>>, body: String) -> Response {
    // The form body parsed by the URL crate's form decoder (axum's `Form` needs a feature the
    // workspace does not build).
    let f: HashMap<String, String> = reqwest::Url::parse(&format!("http://form.invalid/?{body}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let pending = lock(&state.codes).remove(&get("code"));
    let cors = || [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            cors(),
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    let Some(pending) = pending else {
        return refuse("unknown or used code");
    };
    let challenge = b64(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        get("code_verifier").as_bytes(),
    )
    .as_ref());
    if get("grant_type") != "authorization_code" {
        return refuse("grant_type must be authorization_code");
    }
    if challenge != pending.challenge {
        return refuse("the code_verifier does not match the code_challenge");
    }
    if get("client_id") != pending.user.client_id || get("redirect_uri") != pending.redirect_uri {
        return refuse("client_id or redirect_uri differ from the authorization request");
    }
    let issuer = lock(&state.issuer).clone();
    let Some(key) = lock(&state.key).clone() else {
        return refuse("no key");
    };
    let now = now();
    let claims = json!({
        "iss": issuer, "sub": pending.user.sub, "client_id": pending.user.client_id,
        "token_use": "access", "scope": pending.user.scope, "username": pending.user.sub,
        "iat": now, "exp": now + 3600, "jti": b64(&rand_bytes()),
    });
    let access_token = sign_claims(&key, &claims, KID);
    state.issued.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        cors(),
        axum::Json(json!({
            "access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
            "scope": pending.user.scope,
        })),
    )
        .into_response()
}

fn rand_bytes() -> [u8; 24] {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    bytes
}

/// Percent-encodes everything but unreserved characters.
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Signs `claims` with `key` as `kid` (RS256).
fn sign_claims(key: &RsaKeyPair, claims: &Value, kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!("{input}.{}", b64(&signature))
}
