//! A test token issuer: an RSA key generated at start, its JWKS served over HTTP on a free
//! loopback port, and tokens signed with it, shaped like Cognito's (or any OIDC issuer's).
//!
//! Tokens are really signed and really verified against the JWKS fetched over a socket: nothing
//! in the verifier is bypassed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use axum::routing::get;
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
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        Self {
            key,
            fetches,
            server: TestServer::start(app).await,
        }
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

    /// Signs `claims` with the issuer's key and `kid`.
    pub fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("sign");
        format!("{input}.{}", b64(&signature))
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
