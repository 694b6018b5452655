//! JWT verification against a JWKS served over a real socket, with keys generated in the test.
//!
//! Each check has a token that fails that check only, and the test asserts the specific error.
//! The JWKS server counts its fetches, so caching, single flight and the penalty window are
//! measured where the issuer would see them.

mod support;

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RsaKeyPair,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clearance_core::jwt::{
    Algorithm, CognitoUserPool, IssuerConfig, JwksSettings, JwtError, TokenUse, Verifier,
    VerifierConfig,
};
use serde_json::{Value, json};

const POOL: &str = "eu-west-1_Test123";
const CLIENT: &str = "client-1";

// ---------------------------------------------------------------------------------------------
// Keys, generated once per test binary.

struct Keys {
    rsa: RsaKeyPair,
    rsa_other: RsaKeyPair,
    ec256: EcdsaKeyPair,
    ec384: EcdsaKeyPair,
    ed: Ed25519KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = || RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        Keys {
            rsa: rsa(),
            rsa_other: rsa(),
            ec256: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            ec384: EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap(),
            ed: Ed25519KeyPair::generate().unwrap(),
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_jwk(key: &RsaKeyPair, kid: &str) -> Value {
    let public = key.public_key();
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    })
}

fn ec_jwk(key: &EcdsaKeyPair, kid: &str, crv: &str) -> Value {
    let point = key.public_key().as_ref();
    let (x, y) = point[1..].split_at((point.len() - 1) / 2);
    json!({"kty": "EC", "kid": kid, "crv": crv, "x": b64(x), "y": b64(y)})
}

fn ed_jwk(key: &Ed25519KeyPair, kid: &str) -> Value {
    json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(key.public_key().as_ref())})
}

/// The issuer's JWKS: one key of each kind, plus keys that break one rule each.
fn standard_jwks() -> Value {
    let k = keys();
    let mut rsa384 = rsa_jwk(&k.rsa, "rsa-384-only");
    rsa384["alg"] = json!("RS384");
    let mut enc = rsa_jwk(&k.rsa, "rsa-enc");
    enc["use"] = json!("enc");
    let mut weak_n = vec![0xffu8; 128];
    weak_n[0] = 0xc1;
    json!({"keys": [
        rsa_jwk(&k.rsa, "rsa-1"),
        rsa384,
        enc,
        {"kty": "RSA", "kid": "rsa-weak", "n": b64(&weak_n), "e": "AQAB"},
        ec_jwk(&k.ec256, "ec-256", "P-256"),
        ec_jwk(&k.ec384, "ec-384", "P-384"),
        {"kty": "EC", "kid": "ec-broken", "crv": "P-256", "x": b64(&[7; 31]), "y": b64(&[7; 32])},
        ed_jwk(&k.ed, "ed-1"),
    ]})
}

// ---------------------------------------------------------------------------------------------
// Signing.

enum Signer<'a> {
    Rs256(&'a RsaKeyPair),
    Rs384(&'a RsaKeyPair),
    Ecdsa(&'a EcdsaKeyPair),
    Ed(&'a Ed25519KeyPair),
    Hs256(&'a [u8]),
    Unsigned,
}

fn sign(header: &Value, claims: &Value, signer: Signer<'_>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let rng = SystemRandom::new();
    let rsa = |key: &RsaKeyPair, enc: &'static dyn aws_lc_rs::signature::RsaEncoding| {
        let mut sig = vec![0; key.public_modulus_len()];
        key.sign(enc, &rng, input.as_bytes(), &mut sig).unwrap();
        sig
    };
    let signature = match signer {
        Signer::Rs256(key) => rsa(key, &RSA_PKCS1_SHA256),
        Signer::Rs384(key) => rsa(key, &RSA_PKCS1_SHA384),
        Signer::Ecdsa(key) => key.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        Signer::Ed(key) => key.sign(input.as_bytes()).as_ref().to_vec(),
        Signer::Hs256(secret) => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
            aws_lc_rs::hmac::sign(&key, input.as_bytes())
                .as_ref()
                .to_vec()
        }
        Signer::Unsigned => Vec::new(),
    };
    format!("{input}.{}", b64(&signature))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "JWT"})
}

fn cognito_issuer() -> String {
    CognitoUserPool::parse(POOL).unwrap().issuer()
}

/// A Cognito access token's claims that pass every check of [`Fixture::cognito`].
fn access_claims() -> Value {
    json!({
        "iss": cognito_issuer(),
        "sub": "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10",
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "openid clearance/read",
        "username": "alice@example.com",
        "cognito:groups": ["admins", "staff"],
        "iat": now(),
        "exp": now() + 300,
    })
}

/// A Cognito ID token's claims for the same pool.
fn id_claims() -> Value {
    json!({
        "iss": cognito_issuer(),
        "sub": "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10",
        "aud": CLIENT,
        "token_use": "id",
        "cognito:username": "alice",
        "iat": now(),
        "exp": now() + 300,
    })
}

fn rs256(claims: &Value) -> String {
    sign(
        &header("RS256", "rsa-1"),
        claims,
        Signer::Rs256(&keys().rsa),
    )
}

// ---------------------------------------------------------------------------------------------
// The issuer's JWKS server, and a server a token's jku would point at.

#[derive(Clone)]
struct JwksServer {
    base: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
    status: Arc<AtomicU16>,
}

impl JwksServer {
    async fn start(jwks: Value) -> Self {
        let mut server = Self {
            base: String::new(),
            jwks: Arc::new(Mutex::new(jwks)),
            fetches: Arc::new(AtomicUsize::new(0)),
            delay_ms: Arc::new(AtomicU64::new(0)),
            status: Arc::new(AtomicU16::new(200)),
        };
        let router = axum::Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .with_state(server.clone());
        server.base = format!("http://{}", support::serve(router).await);
        server
    }

    fn url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn set_jwks(&self, jwks: Value) {
        *self.jwks.lock().unwrap() = jwks;
    }
}

async fn serve_jwks(State(server): State<JwksServer>) -> Response {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = server.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(server.status.load(Ordering::SeqCst)).unwrap();
    if status != StatusCode::OK {
        return status.into_response();
    }
    let jwks = server.jwks.lock().unwrap().clone();
    Json(jwks).into_response()
}

/// A server that counts every request it gets, whatever the path.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Json(standard_jwks())
        }
    });
    (format!("http://{}", support::serve(router).await), hits)
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

struct Fixture {
    server: JwksServer,
    verifier: Verifier,
}

impl Fixture {
    /// A Cognito pool (access tokens of `client-1`, scope `clearance/read`, group `admins` or
    /// `ops`) and an OIDC issuer served by the same JWKS server (every algorithm, audience
    /// `api://clearance`).
    async fn cognito() -> Self {
        Self::with_settings(JwksSettings::default()).await
    }

    async fn with_settings(settings: JwksSettings) -> Self {
        let server = JwksServer::start(standard_jwks()).await;
        let cognito =
            IssuerConfig::cognito(CognitoUserPool::parse(POOL).unwrap(), TokenUse::Access)
                .with_jwks_url(&server.url())
                .unwrap()
                .with_client_ids([CLIENT])
                .with_required_scopes(["clearance/read"])
                .with_required_groups(["admins", "ops"]);
        let oidc = IssuerConfig::oidc(&server.base)
            .unwrap()
            .with_client_ids(["api://clearance"]);
        let mut config = VerifierConfig::new(vec![cognito, oidc]);
        config.jwks = settings;
        let verifier = Verifier::new(config).unwrap();
        Self { server, verifier }
    }

    async fn verify(&self, token: &str) -> Result<clearance_core::jwt::VerifiedToken, JwtError> {
        let result = self.verifier.verify(token).await;
        if let Err(err) = &result {
            // Errors never carry the token, nor its signature.
            let shown = format!("{err} {err:?}");
            let signature = token.rsplit('.').next().unwrap_or_default();
            assert!(signature.len() < 8 || !shown.contains(signature), "{shown}");
        }
        result
    }

    async fn refused(&self, token: &str) -> JwtError {
        match self.verify(token).await {
            Ok(verified) => panic!("token accepted: {verified:?}"),
            Err(err) => err,
        }
    }

    fn oidc_claims(&self) -> Value {
        json!({
            "iss": self.server.base,
            "sub": "machine-7",
            "aud": ["api://other", "api://clearance"],
            "iat": now(),
            "exp": now() + 300,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens that pass.

#[tokio::test]
async fn a_valid_cognito_access_token_verifies_with_its_claims() {
    let f = Fixture::cognito().await;
    let token = f.verify(&rs256(&access_claims())).await.unwrap();
    assert_eq!(token.iss, cognito_issuer());
    assert_eq!(
        token.sub.as_deref(),
        Some("3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10")
    );
    assert_eq!(token.client_id.as_deref(), Some(CLIENT));
    assert_eq!(token.username.as_deref(), Some("alice@example.com"));
    assert_eq!(token.token_use, Some(TokenUse::Access));
    assert_eq!(token.scopes, ["openid", "clearance/read"]);
    assert_eq!(token.groups, ["admins", "staff"]);
    assert!(token.exp > now());
    assert_eq!(token.claim("token_use"), Some(&json!("access")));
    assert_eq!(f.server.fetches(), 1);
}

#[tokio::test]
async fn the_jwks_is_cached_between_tokens() {
    let f = Fixture::cognito().await;
    for _ in 0..5 {
        f.verify(&rs256(&access_claims())).await.unwrap();
    }
    assert_eq!(f.server.fetches(), 1);
    assert_eq!(f.verifier.jwks_fetches(), 1);
}

#[tokio::test]
async fn the_debug_output_of_a_verified_token_hides_the_username_and_other_claims() {
    let f = Fixture::cognito().await;
    let mut claims = access_claims();
    claims["custom:secret"] = json!("do-not-log-me");
    let shown = format!("{:?}", f.verify(&rs256(&claims)).await.unwrap());
    assert!(!shown.contains("alice@example.com"), "{shown}");
    assert!(!shown.contains("do-not-log-me"), "{shown}");
    assert!(shown.contains("client-1"), "{shown}");
}

#[tokio::test]
async fn es256_es384_eddsa_and_rs384_tokens_verify_for_an_issuer_that_allows_them() {
    let f = Fixture::cognito().await;
    let k = keys();
    let claims = f.oidc_claims();
    for (alg, kid, signer) in [
        ("ES256", "ec-256", Signer::Ecdsa(&k.ec256)),
        ("ES384", "ec-384", Signer::Ecdsa(&k.ec384)),
        ("EdDSA", "ed-1", Signer::Ed(&k.ed)),
        ("RS384", "rsa-384-only", Signer::Rs384(&k.rsa)),
    ] {
        let token = sign(&header(alg, kid), &claims, signer);
        let verified = f
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.token_use, None);
        assert_eq!(verified.sub.as_deref(), Some("machine-7"));
    }
}

#[tokio::test]
async fn a_cognito_id_token_is_checked_against_aud() {
    let server = JwksServer::start(standard_jwks()).await;
    let issuer = IssuerConfig::cognito(CognitoUserPool::parse(POOL).unwrap(), TokenUse::Id)
        .with_jwks_url(&server.url())
        .unwrap()
        .with_client_ids([CLIENT]);
    let verifier = Verifier::new(VerifierConfig::new(vec![issuer])).unwrap();

    let token = verifier.verify(&rs256(&id_claims())).await.unwrap();
    assert_eq!(token.token_use, Some(TokenUse::Id));
    assert_eq!(token.client_id.as_deref(), Some(CLIENT));
    assert_eq!(token.username.as_deref(), Some("alice"));

    let mut claims = id_claims();
    claims["aud"] = json!("someone-else");
    let err = verifier.verify(&rs256(&claims)).await.unwrap_err();
    assert!(matches!(err, JwtError::WrongAudience), "{err:?}");

    let mut claims = id_claims();
    claims["aud"] = json!([CLIENT]);
    let err = verifier.verify(&rs256(&claims)).await.unwrap_err();
    assert!(
        matches!(err, JwtError::ClaimType { claim: "aud", .. }),
        "{err:?}"
    );

    let err = verifier.verify(&rs256(&access_claims())).await.unwrap_err();
    assert!(
        matches!(err, JwtError::WrongTokenUse { expected: "id", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_use_any_accepts_both_and_checks_each_against_its_own_claim() {
    let server = JwksServer::start(standard_jwks()).await;
    let issuer = IssuerConfig::cognito(CognitoUserPool::parse(POOL).unwrap(), TokenUse::Any)
        .with_jwks_url(&server.url())
        .unwrap()
        .with_client_ids([CLIENT]);
    let verifier = Verifier::new(VerifierConfig::new(vec![issuer])).unwrap();
    assert!(verifier.verify(&rs256(&id_claims())).await.is_ok());
    assert!(verifier.verify(&rs256(&access_claims())).await.is_ok());
    let mut claims = access_claims();
    claims["client_id"] = json!("other");
    claims["aud"] = json!(CLIENT);
    let err = verifier.verify(&rs256(&claims)).await.unwrap_err();
    assert!(matches!(err, JwtError::WrongClientId), "{err:?}");
    let mut claims = access_claims();
    claims["token_use"] = json!("refresh");
    let err = verifier.verify(&rs256(&claims)).await.unwrap_err();
    assert!(matches!(err, JwtError::WrongTokenUse { .. }), "{err:?}");
}

#[tokio::test]
async fn leeway_accepts_a_token_just_past_exp() {
    let server = JwksServer::start(standard_jwks()).await;
    let issuer = IssuerConfig::oidc(&server.base)
        .unwrap()
        .with_any_client()
        .with_leeway(Duration::from_secs(60))
        .unwrap();
    let verifier = Verifier::new(VerifierConfig::new(vec![issuer])).unwrap();
    let claims = |exp: i64, nbf: i64| json!({"iss": server.base, "exp": exp, "nbf": nbf});
    assert!(
        verifier
            .verify(&rs256(&claims(now() - 30, now() + 30)))
            .await
            .is_ok()
    );
    let err = verifier
        .verify(&rs256(&claims(now() - 90, now())))
        .await
        .unwrap_err();
    assert!(matches!(err, JwtError::Expired { .. }), "{err:?}");
    let err = verifier
        .verify(&rs256(&claims(now() + 300, now() + 90)))
        .await
        .unwrap_err();
    assert!(matches!(err, JwtError::NotYetValid { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// One token per check, failing that check only.

#[tokio::test]
async fn each_check_refuses_a_token_that_fails_only_that_check() {
    let f = Fixture::cognito().await;
    let k = keys();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut claims = access_claims();
        edit(&mut claims);
        claims
    };
    type Check = fn(&JwtError) -> bool;
    let cases: Vec<(&str, String, Check)> = vec![
        ("not a JWT", "not-a-jwt".into(), |e| {
            matches!(e, JwtError::Malformed(_))
        }),
        (
            "claims not JSON",
            format!(
                "{}.{}.c2ln",
                b64(header("RS256", "rsa-1").to_string().as_bytes()),
                b64(b"[]")
            ),
            |e| matches!(e, JwtError::Malformed(_)),
        ),
        (
            "alg none",
            sign(&header("none", "rsa-1"), &access_claims(), Signer::Unsigned),
            |e| matches!(e, JwtError::AlgorithmNotAllowed { alg } if alg == "none"),
        ),
        (
            "RS256 token re-signed as HS256 with the public key as secret",
            sign(
                &header("HS256", "rsa-1"),
                &access_claims(),
                Signer::Hs256(k.rsa.public_key().as_ref()),
            ),
            |e| matches!(e, JwtError::AlgorithmNotAllowed { alg } if alg == "HS256"),
        ),
        (
            "an algorithm the Cognito issuer does not allow",
            sign(
                &header("ES256", "ec-256"),
                &access_claims(),
                Signer::Ecdsa(&k.ec256),
            ),
            |e| matches!(e, JwtError::AlgorithmNotAllowed { alg } if alg == "ES256"),
        ),
        (
            "critical header extensions",
            sign(
                &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["b64"], "b64": false}),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::UnsupportedCritical),
        ),
        (
            "no kid",
            sign(
                &json!({"alg": "RS256"}),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::MissingKid),
        ),
        (
            "an unknown issuer",
            rs256(&with(&|c| c["iss"] = json!("https://evil.example.com"))),
            |e| matches!(e, JwtError::WrongIssuer { iss } if iss == "https://evil.example.com"),
        ),
        (
            "an issuer that differs only by a trailing slash",
            rs256(&with(&|c| {
                c["iss"] = json!(format!("{}/", cognito_issuer()))
            })),
            |e| matches!(e, JwtError::WrongIssuer { .. }),
        ),
        (
            "no iss",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("iss");
            })),
            |e| matches!(e, JwtError::MissingClaim { claim: "iss" }),
        ),
        (
            "a kid the JWKS lacks",
            sign(
                &header("RS256", "rsa-nope"),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::UnknownKid { kid } if kid == "rsa-nope"),
        ),
        (
            "a key whose use is enc",
            sign(
                &header("RS256", "rsa-enc"),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::KeyNotForSigning { key_use, .. } if key_use == "enc"),
        ),
        (
            "a key whose alg differs from the header's",
            sign(
                &header("RS256", "rsa-384-only"),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::KeyAlgorithmMismatch { alg: "RS256", .. }),
        ),
        (
            "an RSA key too short",
            sign(
                &header("RS256", "rsa-weak"),
                &access_claims(),
                Signer::Rs256(&k.rsa),
            ),
            |e| matches!(e, JwtError::WeakKey { bits: 1024, .. }),
        ),
        (
            "a signature by another key",
            sign(
                &header("RS256", "rsa-1"),
                &access_claims(),
                Signer::Rs256(&k.rsa_other),
            ),
            |e| matches!(e, JwtError::BadSignature),
        ),
        (
            "claims changed after signing",
            {
                let token = rs256(&access_claims());
                let parts: Vec<&str> = token.split('.').collect();
                let forged = with(&|c| c["client_id"] = json!("client-1 "));
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(forged.to_string().as_bytes()),
                    parts[2]
                )
            },
            |e| matches!(e, JwtError::BadSignature),
        ),
        (
            "an empty signature",
            {
                let token = rs256(&access_claims());
                token[..=token.rfind('.').unwrap()].to_owned()
            },
            |e| matches!(e, JwtError::BadSignature),
        ),
        (
            "expired",
            rs256(&with(&|c| c["exp"] = json!(now() - 1))),
            |e| matches!(e, JwtError::Expired { .. }),
        ),
        (
            "no exp",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            |e| matches!(e, JwtError::MissingClaim { claim: "exp" }),
        ),
        (
            "exp as a string",
            rs256(&with(&|c| c["exp"] = json!((now() + 300).to_string()))),
            |e| matches!(e, JwtError::ClaimType { claim: "exp", .. }),
        ),
        (
            "nbf in the future",
            rs256(&with(&|c| c["nbf"] = json!(now() + 120))),
            |e| matches!(e, JwtError::NotYetValid { .. }),
        ),
        (
            "nbf as a string",
            rs256(&with(&|c| c["nbf"] = json!("0"))),
            |e| matches!(e, JwtError::ClaimType { claim: "nbf", .. }),
        ),
        (
            "iat as a boolean",
            rs256(&with(&|c| c["iat"] = json!(true))),
            |e| matches!(e, JwtError::ClaimType { claim: "iat", .. }),
        ),
        (
            "an ID token where access tokens are required",
            rs256(&with(&|c| c["token_use"] = json!("id"))),
            |e| matches!(e, JwtError::WrongTokenUse { found, expected: "access" } if found == "id"),
        ),
        (
            "no token_use",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("token_use");
            })),
            |e| matches!(e, JwtError::MissingClaim { claim: "token_use" }),
        ),
        (
            "another client",
            rs256(&with(&|c| c["client_id"] = json!("client-2"))),
            |e| matches!(e, JwtError::WrongClientId),
        ),
        (
            "no client_id",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("client_id");
            })),
            |e| matches!(e, JwtError::MissingClaim { claim: "client_id" }),
        ),
        (
            "client_id as a number",
            rs256(&with(&|c| c["client_id"] = json!(1))),
            |e| {
                matches!(
                    e,
                    JwtError::ClaimType {
                        claim: "client_id",
                        ..
                    }
                )
            },
        ),
        (
            "a required scope missing",
            rs256(&with(&|c| c["scope"] = json!("openid clearance/write"))),
            |e| matches!(e, JwtError::MissingScope { scope } if scope == "clearance/read"),
        ),
        (
            "a scope that only starts like the required one",
            rs256(&with(&|c| c["scope"] = json!("clearance/readonly"))),
            |e| matches!(e, JwtError::MissingScope { .. }),
        ),
        (
            "scope as an array",
            rs256(&with(&|c| c["scope"] = json!(["clearance/read"]))),
            |e| matches!(e, JwtError::ClaimType { claim: "scope", .. }),
        ),
        (
            "in none of the required groups",
            rs256(&with(&|c| c["cognito:groups"] = json!(["staff"]))),
            |e| matches!(e, JwtError::NotInGroup),
        ),
        (
            "no groups at all",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("cognito:groups");
            })),
            |e| matches!(e, JwtError::NotInGroup),
        ),
        (
            "groups as a string",
            rs256(&with(&|c| c["cognito:groups"] = json!("admins"))),
            |e| {
                matches!(
                    e,
                    JwtError::ClaimType {
                        claim: "cognito:groups",
                        ..
                    }
                )
            },
        ),
        (
            "groups holding a number",
            rs256(&with(&|c| c["cognito:groups"] = json!(["admins", 7]))),
            |e| {
                matches!(
                    e,
                    JwtError::ClaimType {
                        claim: "cognito:groups",
                        ..
                    }
                )
            },
        ),
    ];
    for (what, token, expected) in cases {
        let err = f.refused(&token).await;
        assert!(expected(&err), "{what}: got {err:?} ({})", err.code());
    }
}

#[tokio::test]
async fn key_type_curve_and_parameter_checks_refuse_keys_that_do_not_fit_the_algorithm() {
    let f = Fixture::cognito().await;
    let k = keys();
    let claims = f.oidc_claims();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "an RSA key named by an ES256 token",
            sign(&header("ES256", "rsa-1"), &claims, Signer::Ecdsa(&k.ec256)),
            // rsa-1 says alg RS256, which is checked first.
            "jwk-alg-mismatch",
        ),
        (
            "an EC key named by an RS256 token",
            sign(&header("RS256", "ec-256"), &claims, Signer::Rs256(&k.rsa)),
            "jwk-kty-mismatch",
        ),
        (
            "a P-256 key named by an ES384 token",
            sign(&header("ES384", "ec-256"), &claims, Signer::Ecdsa(&k.ec384)),
            "jwk-curve-mismatch",
        ),
        (
            "an Ed25519 key named by an ES256 token",
            sign(&header("ES256", "ed-1"), &claims, Signer::Ecdsa(&k.ec256)),
            "jwk-kty-mismatch",
        ),
        (
            "an EC key with a short coordinate",
            sign(
                &header("ES256", "ec-broken"),
                &claims,
                Signer::Ecdsa(&k.ec256),
            ),
            "jwk-invalid",
        ),
        (
            "an ES256 signature by another key",
            sign(&header("ES256", "ec-256"), &claims, Signer::Ecdsa(&k.ec384)),
            "bad-signature",
        ),
    ];
    for (what, token, code) in cases {
        let err = f.refused(&token).await;
        assert_eq!(err.code(), code, "{what}: {err}");
    }
}

#[tokio::test]
async fn a_key_without_alg_of_the_wrong_type_is_refused_by_type() {
    let mut jwks = standard_jwks();
    let mut bare = rsa_jwk(&keys().rsa, "rsa-bare");
    bare.as_object_mut().unwrap().remove("alg");
    jwks["keys"].as_array_mut().unwrap().push(bare);
    let server = JwksServer::start(jwks).await;
    let issuer = IssuerConfig::oidc(&server.base).unwrap().with_any_client();
    let verifier = Verifier::new(VerifierConfig::new(vec![issuer])).unwrap();
    let claims = json!({"iss": server.base, "exp": now() + 60});
    let token = sign(
        &header("ES256", "rsa-bare"),
        &claims,
        Signer::Ecdsa(&keys().ec256),
    );
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(
        matches!(&err, JwtError::KeyTypeMismatch { kty, alg: "ES256", .. } if kty == "RSA"),
        "{err:?}"
    );
}

#[tokio::test]
async fn oidc_audiences_may_be_a_string_or_an_array() {
    let f = Fixture::cognito().await;
    let mut claims = f.oidc_claims();
    assert!(f.verify(&rs256(&claims)).await.is_ok());
    claims["aud"] = json!("api://clearance");
    assert!(f.verify(&rs256(&claims)).await.is_ok());
    claims["aud"] = json!(["api://other"]);
    assert!(matches!(
        f.refused(&rs256(&claims)).await,
        JwtError::WrongAudience
    ));
    claims["aud"] = json!(42);
    let err = f.refused(&rs256(&claims)).await;
    assert!(
        matches!(err, JwtError::ClaimType { claim: "aud", .. }),
        "{err:?}"
    );
    claims.as_object_mut().unwrap().remove("aud");
    let err = f.refused(&rs256(&claims)).await;
    assert!(
        matches!(err, JwtError::MissingClaim { claim: "aud" }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_oidc_access_token_without_aud_is_checked_by_client_id() {
    let f = Fixture::cognito().await;
    let mut claims = f.oidc_claims();
    claims.as_object_mut().unwrap().remove("aud");
    claims["client_id"] = json!("api://clearance");
    let verified = f.verify(&rs256(&claims)).await.unwrap();
    assert_eq!(verified.client_id.as_deref(), Some("api://clearance"));
    claims["client_id"] = json!("someone-else");
    assert!(matches!(
        f.refused(&rs256(&claims)).await,
        JwtError::WrongClientId
    ));
    // With an audience, the audience decides: a token for another API is refused.
    claims["client_id"] = json!("api://clearance");
    claims["aud"] = json!("api://other");
    assert!(matches!(
        f.refused(&rs256(&claims)).await,
        JwtError::WrongAudience
    ));
}

// ---------------------------------------------------------------------------------------------
// Keys come from the configured JWKS only.

#[tokio::test]
async fn jku_and_x5u_headers_are_never_fetched() {
    let f = Fixture::cognito().await;
    let (attacker, hits) = counting_server().await;
    let k = keys();
    // The attacker's key id is not in the issuer's JWKS: refused, and the attacker sees nothing.
    let forged = sign(
        &json!({"alg": "RS256", "kid": "attacker-key", "jku": format!("{attacker}/jwks.json"),
                "x5u": format!("{attacker}/cert.pem"), "x5c": ["MIIB"]}),
        &access_claims(),
        Signer::Rs256(&k.rsa_other),
    );
    let err = f.refused(&forged).await;
    assert!(matches!(err, JwtError::UnknownKid { .. }), "{err:?}");
    // A real key id with an attacker's jku: verified with the issuer's key, jku ignored.
    let genuine = sign(
        &json!({"alg": "RS256", "kid": "rsa-1", "jku": format!("{attacker}/jwks.json")}),
        &access_claims(),
        Signer::Rs256(&k.rsa),
    );
    assert!(f.verify(&genuine).await.is_ok());
    // And an attacker's key with a real key id does not verify.
    let swapped = sign(
        &json!({"alg": "RS256", "kid": "rsa-1", "jku": format!("{attacker}/jwks.json")}),
        &access_claims(),
        Signer::Rs256(&k.rsa_other),
    );
    assert!(matches!(f.refused(&swapped).await, JwtError::BadSignature));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn http_jwks_urls_to_hosts_other_than_loopback_are_refused_at_configuration() {
    assert!(IssuerConfig::oidc("http://login.example.com").is_err());
    let pool = CognitoUserPool::parse(POOL).unwrap();
    let err = IssuerConfig::cognito(pool.clone(), TokenUse::Access)
        .with_jwks_url("http://keys.example.com/jwks.json")
        .unwrap_err();
    assert!(err.to_string().contains("jwks_url"), "{err}");
    for ok in [
        "http://127.0.0.1:1/jwks",
        "http://[::1]:1/jwks",
        "http://localhost:1/jwks",
    ] {
        assert!(
            IssuerConfig::cognito(pool.clone(), TokenUse::Access)
                .with_jwks_url(ok)
                .is_ok(),
            "{ok}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fetching: single flight, penalty window, rotation, failures.

#[tokio::test]
async fn a_flood_of_random_kids_causes_at_most_one_fetch_per_penalty_window() {
    let f = Fixture::cognito().await;
    // Warm the cache with a real token first.
    f.verify(&rs256(&access_claims())).await.unwrap();
    assert_eq!(f.server.fetches(), 1);
    let claims = access_claims();
    let tokens: Vec<String> = (0..1000)
        .map(|_| {
            let kid = format!("random-{:016x}", fastrand::u64(..));
            // The signature is never checked: the key id is unknown.
            format!(
                "{}.{}.AAAA",
                b64(header("RS256", &kid).to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            )
        })
        .collect();
    // Half one after another, half at once.
    let (one_by_one, at_once) = tokens.split_at(500);
    for token in one_by_one {
        let err = f.verifier.verify(token).await.unwrap_err();
        assert!(matches!(err, JwtError::UnknownKid { .. }), "{err:?}");
    }
    let results = futures::future::join_all(at_once.iter().map(|t| f.verifier.verify(t))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(JwtError::UnknownKid { .. })))
    );
    // One fetch for the first unknown kid; the penalty window covers the other 999.
    assert_eq!(f.server.fetches(), 2);
    // Real tokens still verify from the cache meanwhile.
    f.verify(&rs256(&access_claims())).await.unwrap();
    assert_eq!(f.server.fetches(), 2);
}

#[tokio::test]
async fn concurrent_verifications_on_a_cold_cache_share_one_fetch() {
    let f = Fixture::cognito().await;
    f.server.delay_ms.store(200, Ordering::SeqCst);
    let token = rs256(&access_claims());
    let results = futures::future::join_all((0..50).map(|_| f.verifier.verify(&token))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(f.server.fetches(), 1);
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let f = Fixture::cognito().await;
    f.verify(&rs256(&access_claims())).await.unwrap();
    f.server.delay_ms.store(200, Ordering::SeqCst);
    let token = sign(
        &header("RS256", "rsa-next"),
        &access_claims(),
        Signer::Rs256(&keys().rsa),
    );
    let results = futures::future::join_all((0..50).map(|_| f.verifier.verify(&token))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(JwtError::UnknownKid { .. })))
    );
    assert_eq!(f.server.fetches(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_the_penalty_window() {
    let penalty = Duration::from_millis(300);
    let f = Fixture::with_settings(JwksSettings {
        penalty,
        ..JwksSettings::default()
    })
    .await;
    let k = keys();
    let rotated = sign(
        &header("RS256", "rsa-2"),
        &access_claims(),
        Signer::Rs256(&k.rsa_other),
    );

    // The new key is not published yet: one fetch, refused.
    assert!(matches!(
        f.refused(&rotated).await,
        JwtError::UnknownKid { .. }
    ));
    assert_eq!(f.server.fetches(), 1);

    // Published now, but within the penalty window: no fetch yet.
    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(rsa_jwk(&k.rsa_other, "rsa-2"));
    f.server.set_jwks(jwks);
    assert!(matches!(
        f.refused(&rotated).await,
        JwtError::UnknownKid { .. }
    ));
    assert_eq!(f.server.fetches(), 1);

    // After the window: fetched again and verified.
    tokio::time::sleep(penalty + Duration::from_millis(50)).await;
    let verified = f.verify(&rotated).await.unwrap();
    assert_eq!(verified.client_id.as_deref(), Some(CLIENT));
    assert_eq!(f.server.fetches(), 2);
    // The old key still verifies from the new set.
    f.verify(&rs256(&access_claims())).await.unwrap();
    assert_eq!(f.server.fetches(), 2);
}

#[tokio::test]
async fn an_unreachable_jwks_is_reported_as_unavailable_and_not_cached() {
    let f = Fixture::with_settings(JwksSettings {
        error_backoff: Duration::from_millis(100),
        ..JwksSettings::default()
    })
    .await;
    f.server.status.store(503, Ordering::SeqCst);
    let token = rs256(&access_claims());
    let err = f.refused(&token).await;
    assert!(matches!(err, JwtError::JwksUnavailable { .. }), "{err:?}");
    assert!(err.is_unavailable());
    assert!(std::error::Error::source(&err).is_some());
    // Within the back-off, the same answer without a new fetch.
    assert_eq!(f.refused(&token).await.code(), "jwks-unavailable");
    assert_eq!(f.server.fetches(), 1);
    // The issuer recovers: the next fetch after the back-off succeeds.
    f.server.status.store(200, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(f.verify(&token).await.is_ok());
    assert_eq!(f.server.fetches(), 2);
}

#[tokio::test]
async fn a_jwks_that_is_not_a_key_set_is_reported_as_invalid() {
    let f = Fixture::cognito().await;
    f.server.set_jwks(json!({"not": "keys"}));
    let err = f.refused(&rs256(&access_claims())).await;
    assert!(matches!(err, JwtError::JwksInvalid { .. }), "{err:?}");
}

#[tokio::test]
async fn prefetching_warms_every_issuer() {
    let f = Fixture::cognito().await;
    f.verifier.prefetch_jwks().await.unwrap();
    // Both issuers share the server: one fetch each.
    assert_eq!(f.server.fetches(), 2);
    f.verify(&rs256(&access_claims())).await.unwrap();
    assert_eq!(f.server.fetches(), 2);
}

// ---------------------------------------------------------------------------------------------
// Max age: keys the issuer removed or replaced stop verifying, and a failing issuer gets a grace.

const MAX_AGE: Duration = Duration::from_secs(1);

/// A verifier for one OIDC issuer served by `server` (any client), edited by `edit`.
fn oidc_verifier(
    server: &JwksServer,
    settings: JwksSettings,
    edit: impl FnOnce(IssuerConfig) -> IssuerConfig,
) -> Verifier {
    let issuer = edit(IssuerConfig::oidc(&server.base).unwrap().with_any_client());
    let mut config = VerifierConfig::new(vec![issuer]);
    config.jwks = settings;
    Verifier::new(config).unwrap()
}

fn with_max_age(issuer: IssuerConfig) -> IssuerConfig {
    issuer.with_jwks_max_age(MAX_AGE).unwrap()
}

/// An RS256 token of `server`'s issuer, naming `kid`, signed with `key`.
fn oidc_rs256(server: &JwksServer, kid: &str, key: &RsaKeyPair) -> String {
    let claims = json!({"iss": server.base, "sub": "user-1", "exp": now() + 60});
    sign(&header("RS256", kid), &claims, Signer::Rs256(key))
}

/// Waits until `since + after` has passed (at once if it has).
async fn sleep_until(since: std::time::Instant, after: Duration) {
    tokio::time::sleep((since + after).saturating_duration_since(std::time::Instant::now())).await;
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_after_the_max_age() {
    let k = keys();
    let server = JwksServer::start(json!({"keys": [
        rsa_jwk(&k.rsa, "rsa-1"),
        rsa_jwk(&k.rsa_other, "rsa-2"),
    ]}))
    .await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), with_max_age);
    let old = oidc_rs256(&server, "rsa-1", &k.rsa);
    let kept = oidc_rs256(&server, "rsa-2", &k.rsa_other);
    verifier.verify(&old).await.unwrap();
    let fetched = std::time::Instant::now();

    // The issuer drops rsa-1. Within the max age the cached set still holds it.
    server.set_jwks(json!({"keys": [rsa_jwk(&k.rsa_other, "rsa-2")]}));
    verifier.verify(&old).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // After the max age, the next verification fetches again, and rsa-1 is gone at once.
    sleep_until(fetched, MAX_AGE + Duration::from_millis(50)).await;
    let err = verifier.verify(&old).await.unwrap_err();
    assert!(
        matches!(&err, JwtError::UnknownKid { kid } if kid == "rsa-1"),
        "{err:?}"
    );
    assert_eq!(server.fetches(), 2);
    // The key still published verifies from the new set, without another fetch.
    verifier.verify(&kept).await.unwrap();
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_key_replaced_under_the_same_kid_is_picked_up_after_the_max_age() {
    let k = keys();
    let server = JwksServer::start(json!({"keys": [rsa_jwk(&k.rsa, "rsa-1")]})).await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), with_max_age);
    let old = oidc_rs256(&server, "rsa-1", &k.rsa);
    let new = oidc_rs256(&server, "rsa-1", &k.rsa_other);
    verifier.verify(&old).await.unwrap();
    let fetched = std::time::Instant::now();

    // The issuer rotates rsa-1 to a new key. A known kid never triggers a fetch by itself, so
    // until the max age the old key answers.
    server.set_jwks(json!({"keys": [rsa_jwk(&k.rsa_other, "rsa-1")]}));
    assert!(matches!(
        verifier.verify(&new).await.unwrap_err(),
        JwtError::BadSignature
    ));
    assert_eq!(server.fetches(), 1);

    sleep_until(fetched, MAX_AGE + Duration::from_millis(50)).await;
    verifier.verify(&new).await.unwrap();
    assert_eq!(server.fetches(), 2);
    assert!(matches!(
        verifier.verify(&old).await.unwrap_err(),
        JwtError::BadSignature
    ));
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn concurrent_verifications_after_the_max_age_share_one_fetch() {
    let server = JwksServer::start(standard_jwks()).await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), with_max_age);
    let token = oidc_rs256(&server, "rsa-1", &keys().rsa);
    verifier.verify(&token).await.unwrap();
    let fetched = std::time::Instant::now();

    sleep_until(fetched, MAX_AGE + Duration::from_millis(50)).await;
    server.delay_ms.store(200, Ordering::SeqCst);
    let results = futures::future::join_all((0..50).map(|_| verifier.verify(&token))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_failing_fetch_after_the_max_age_keeps_the_old_keys_for_the_grace_period_then_refuses() {
    let backoff = Duration::from_millis(200);
    let server = JwksServer::start(standard_jwks()).await;
    let verifier = oidc_verifier(
        &server,
        JwksSettings {
            error_backoff: backoff,
            ..JwksSettings::default()
        },
        with_max_age,
    );
    let token = oidc_rs256(&server, "rsa-1", &keys().rsa);
    let started = std::time::Instant::now();
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // Past the max age, the issuer fails: the fetch is tried, fails, and the old keys answer.
    sleep_until(started, MAX_AGE + Duration::from_millis(50)).await;
    server.status.store(503, Ordering::SeqCst);
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.fetches(), 2);
    // Within the back-off, no new fetch.
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.fetches(), 2);

    // After the back-off, one caller retries (slowly: the issuer now hangs before failing), and
    // another caller meanwhile answers from the old keys rather than queue behind the retry.
    tokio::time::sleep(backoff + Duration::from_millis(20)).await;
    server.delay_ms.store(400, Ordering::SeqCst);
    let (retry, meanwhile) = tokio::join!(verifier.verify(&token), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tokio::time::timeout(Duration::from_millis(200), verifier.verify(&token)).await
    });
    retry.unwrap();
    meanwhile
        .expect("a caller with keys in their grace period does not wait for the retry")
        .unwrap();
    assert_eq!(server.fetches(), 3);
    server.delay_ms.store(0, Ordering::SeqCst);

    // Past the grace period (another max age), tokens are refused as unavailable.
    sleep_until(started, MAX_AGE * 2 + Duration::from_millis(50)).await;
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, JwtError::JwksUnavailable { .. }), "{err:?}");
    assert!(err.is_unavailable());
    // Also within the back-off: the expired keys are never used again.
    assert_eq!(
        verifier.verify(&token).await.unwrap_err().code(),
        "jwks-unavailable"
    );
    assert_eq!(server.fetches(), 4);

    // The issuer recovers: after the back-off the keys are fetched again and verify.
    server.status.store(200, Ordering::SeqCst);
    tokio::time::sleep(backoff + Duration::from_millis(20)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.fetches(), 5);
}

#[tokio::test]
async fn a_flood_of_random_kids_makes_one_fetch_per_penalty_window_plus_one_per_max_age() {
    let server = JwksServer::start(standard_jwks()).await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), with_max_age);
    let token = oidc_rs256(&server, "rsa-1", &keys().rsa);
    let claims = json!({"iss": server.base, "exp": now() + 60});
    let flood = || {
        (0..300)
            .map(|_| {
                let kid = format!("random-{:016x}", fastrand::u64(..));
                format!(
                    "{}.{}.AAAA",
                    b64(header("RS256", &kid).to_string().as_bytes()),
                    b64(claims.to_string().as_bytes())
                )
            })
            .collect::<Vec<_>>()
    };
    verifier.verify(&token).await.unwrap();
    let fetched = std::time::Instant::now();
    for forged in flood() {
        let err = verifier.verify(&forged).await.unwrap_err();
        assert!(matches!(err, JwtError::UnknownKid { .. }), "{err:?}");
    }
    // The first unknown kid fetched; the penalty window (10 s) covers the rest.
    assert_eq!(server.fetches(), 2);

    // Past the max age, the refresh is due: the first caller, whatever its kid, makes it, once
    // for all concurrent callers; the penalty window still covers every other random kid.
    sleep_until(fetched, MAX_AGE + Duration::from_millis(50)).await;
    let forged = flood();
    let results = futures::future::join_all(
        forged
            .iter()
            .map(|t| verifier.verify(t))
            .chain([verifier.verify(&token)]),
    )
    .await;
    let (genuine, forged) = results.split_last().unwrap();
    assert!(genuine.is_ok(), "{genuine:?}");
    assert!(
        forged
            .iter()
            .all(|r| matches!(r, Err(JwtError::UnknownKid { .. })))
    );
    assert_eq!(server.fetches(), 3);
}

#[test]
fn a_jwks_max_age_of_zero_or_over_a_day_is_refused() {
    let issuer = || IssuerConfig::oidc("https://login.example.com").unwrap();
    for bad in [Duration::ZERO, Duration::from_secs(86_401)] {
        let err = issuer().with_jwks_max_age(bad).unwrap_err();
        assert!(err.to_string().contains("jwks_max_age"), "{err}");
    }
    assert!(issuer().with_jwks_max_age(Duration::from_secs(1)).is_ok());
    let env = [
        ("JWT_ISSUER", "https://login.example.com"),
        ("JWT_CLIENT_IDS", "*"),
        ("JWT_JWKS_MAX_AGE_SECS", "0"),
    ];
    let err = VerifierConfig::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap_err();
    assert!(err.to_string().contains("JWT_JWKS_MAX_AGE_SECS"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The header's typ (RFC 9068), for issuers that require one.

fn with_typ(typ: Option<&str>) -> Value {
    let mut header = json!({"alg": "RS256", "kid": "rsa-1"});
    if let Some(typ) = typ {
        header["typ"] = json!(typ);
    }
    header
}

#[tokio::test]
async fn a_required_at_jwt_typ_accepts_either_spelling_and_refuses_id_tokens_and_missing_typ() {
    let server = JwksServer::start(standard_jwks()).await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), |issuer| {
        issuer.with_required_typ("at+jwt").unwrap()
    });
    let claims = json!({"iss": server.base, "sub": "user-1", "exp": now() + 60});
    let token = |typ: Option<&str>| sign(&with_typ(typ), &claims, Signer::Rs256(&keys().rsa));

    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ] {
        let verified = verifier.verify(&token(Some(typ))).await;
        assert!(verified.is_ok(), "{typ}: {verified:?}");
    }
    for (typ, found) in [
        (Some("JWT"), Some("JWT")),
        (Some("application/jwt"), Some("application/jwt")),
        (Some("at+jwt-not"), Some("at+jwt-not")),
        (None, None),
    ] {
        let err = verifier.verify(&token(typ)).await.unwrap_err();
        assert_eq!(err.code(), "wrong-typ", "{typ:?}: {err}");
        let JwtError::WrongTyp { found: f, expected } = &err else {
            panic!("{typ:?}: {err:?}");
        };
        assert_eq!(f.as_deref(), found, "{typ:?}");
        assert_eq!(expected, "at+jwt");
    }
    let numeric = sign(
        &json!({"alg": "RS256", "kid": "rsa-1", "typ": 9068}),
        &claims,
        Signer::Rs256(&keys().rsa),
    );
    assert_eq!(
        verifier.verify(&numeric).await.unwrap_err().code(),
        "malformed"
    );
    // The signature is checked first: a forged token learns nothing about the typ check.
    let forged = sign(
        &with_typ(Some("JWT")),
        &claims,
        Signer::Rs256(&keys().rsa_other),
    );
    assert!(matches!(
        verifier.verify(&forged).await.unwrap_err(),
        JwtError::BadSignature
    ));
}

#[tokio::test]
async fn typ_is_not_checked_unless_required() {
    let server = JwksServer::start(standard_jwks()).await;
    let verifier = oidc_verifier(&server, JwksSettings::default(), |issuer| issuer);
    let claims = json!({"iss": server.base, "sub": "user-1", "exp": now() + 60});
    for typ in [Some("JWT"), Some("at+jwt"), Some("anything"), None] {
        let token = sign(&with_typ(typ), &claims, Signer::Rs256(&keys().rsa));
        let verified = verifier.verify(&token).await;
        assert!(verified.is_ok(), "{typ:?}: {verified:?}");
    }
}

#[test]
fn a_cognito_issuer_with_a_required_typ_is_refused_at_start_up() {
    let pool = CognitoUserPool::parse(POOL).unwrap();
    let err = IssuerConfig::cognito(pool, TokenUse::Access)
        .with_required_typ("at+jwt")
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("required_typ"), "{message}");
    assert!(message.contains("Cognito"), "{message}");

    let env = [
        ("COGNITO_USER_POOL_ID", POOL),
        ("JWT_TOKEN_USE", "access"),
        ("JWT_CLIENT_IDS", CLIENT),
        ("JWT_REQUIRED_TYP", "at+jwt"),
    ];
    let err = VerifierConfig::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("JWT_REQUIRED_TYP"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearance.toml");
    std::fs::write(
        &path,
        format!(
            r#"
            [[issuers]]
            issuer = "https://login.example.com"
            client_ids = ["*"]
            required_typ = "application/at+jwt"
            jwks_max_age_secs = 600

            [[issuers]]
            cognito_user_pool_id = "{POOL}"
            token_use = "access"
            client_ids = ["{CLIENT}"]
            required_typ = "at+jwt"
            "#
        ),
    )
    .unwrap();
    let err = VerifierConfig::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("issuers[1].required_typ"), "{err}");
}

#[test]
fn the_configuration_file_sets_the_max_age_and_typ_per_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearance.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"issuers": [
                {{"issuer": "https://login.example.com", "client_ids": ["*"],
                  "required_typ": "application/at+jwt", "jwks_max_age_secs": 600}},
                {{"cognito_user_pool_id": "{POOL}", "token_use": "access",
                  "client_ids": ["{CLIENT}"]}}
            ]}}"#
        ),
    )
    .unwrap();
    let config = VerifierConfig::from_file(&path).unwrap();
    assert_eq!(config.issuers[0].jwks_max_age(), Duration::from_secs(600));
    assert_eq!(config.issuers[0].required_typ(), Some("at+jwt"));
    assert_eq!(config.issuers[1].jwks_max_age(), Duration::from_secs(3600));
    assert_eq!(config.issuers[1].required_typ(), None);
}

// ---------------------------------------------------------------------------------------------
// Configuration from the environment and from a file.

#[tokio::test]
async fn several_issuers_from_a_configuration_file_each_apply_their_own_settings() {
    let server = JwksServer::start(standard_jwks()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearance.toml");
    std::fs::write(
        &path,
        format!(
            r#"
            [service]
            port = 8080   # another component's settings are ignored

            [[issuers]]
            cognito_user_pool_id = "{POOL}"
            jwks_url = "{url}"
            token_use = "access"
            client_ids = ["{CLIENT}"]
            required_scopes = ["clearance/read"]

            [[issuers]]
            issuer = "{base}"
            client_ids = ["*"]
            algorithms = ["EdDSA"]
            "#,
            url = server.url(),
            base = server.base,
        ),
    )
    .unwrap();
    let path_text = path.to_str().unwrap().to_owned();
    let config =
        VerifierConfig::from_lookup(|key| (key == "CLEARANCE_CONFIG").then(|| path_text.clone()))
            .unwrap();
    let verifier = Verifier::new(config).unwrap();

    assert!(verifier.verify(&rs256(&access_claims())).await.is_ok());
    let oidc = json!({"iss": server.base, "exp": now() + 60, "aud": "anyone"});
    let ed = sign(&header("EdDSA", "ed-1"), &oidc, Signer::Ed(&keys().ed));
    assert!(verifier.verify(&ed).await.is_ok());
    // RS256 is not among the second issuer's algorithms.
    let err = verifier.verify(&rs256(&oidc)).await.unwrap_err();
    assert!(
        matches!(err, JwtError::AlgorithmNotAllowed { .. }),
        "{err:?}"
    );
}

#[test]
fn a_json_configuration_file_works_too_and_its_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearance.json");
    std::fs::write(
        &path,
        r#"{"issuers": [{"issuer": "https://login.example.com", "client_ids": ["a"]},
                        {"cognito_user_pool_id": "eu-west-1_abc", "client_ids": ["b"]}]}"#,
    )
    .unwrap();
    let err = VerifierConfig::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("issuers[1].token_use"), "{err}");

    std::fs::write(
        &path,
        r#"{"issuers": [{"issuer": "https://a", "client_id": ["a"]}]}"#,
    )
    .unwrap();
    let err = VerifierConfig::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("client_id"), "{err}");

    let yaml = dir.path().join("clearance.yaml");
    std::fs::write(&yaml, "issuers: []").unwrap();
    assert!(VerifierConfig::from_file(&yaml).is_err());
}

#[test]
fn from_env_reads_a_single_cognito_issuer() {
    let env = [
        ("COGNITO_USER_POOL_ID", POOL),
        ("JWT_TOKEN_USE", "any"),
        ("JWT_CLIENT_IDS", "a,b"),
    ];
    let config = VerifierConfig::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    assert_eq!(config.issuers.len(), 1);
    assert_eq!(config.issuers[0].issuer(), cognito_issuer());
    assert_eq!(config.issuers[0].algorithms(), [Algorithm::RS256]);
}
