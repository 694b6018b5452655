//! JWT verification against issuers' JWKS, with every check aws-jwt-verify makes.
//!
//! A [`Verifier`] accepts tokens from the issuers of its [`VerifierConfig`] (Cognito user pools and
//! any OIDC provider, several at once) and answers a [`VerifiedToken`] or a [`JwtError`] naming the
//! check that failed. In the order they are made:
//!
//! 1. **Shape.** Three base64url parts; a JSON object header and claim set; at most 16 KiB.
//! 2. **Algorithm.** The header's `alg` must be in the issuer's allow-list (drawn from RS256/384/512,
//!    ES256/384 and EdDSA). `none` and HMAC never are, so a token re-signed with HS256 and the
//!    public key as secret is refused. Critical header extensions (`crit`) are refused.
//! 3. **Issuer.** The `iss` claim picks the issuer configuration (exact match); an unknown issuer
//!    is refused before any key is fetched.
//! 4. **Key.** The header's `kid` (required) is looked up in that issuer's JWKS only, fetched from
//!    its configured URL and cached for the issuer's max age
//!    ([`IssuerConfig::with_jwks_max_age`], 1 h), after which the next verification fetches it
//!    again, so a key the issuer removed stops verifying. It is also fetched again for an unknown
//!    `kid`, once for all concurrent callers and at most once per penalty window
//!    ([`JwksSettings::penalty`], 10 s). If a fetch after the max age fails, the keys held are used
//!    for up to another max age while it is retried; then tokens are refused as unavailable.
//!    `jku`, `x5u`, `x5c` and `jwk` headers are never read. The key must be for signatures (`use`), for this
//!    algorithm (`alg`, if it names one), of the right type and curve, and RSA keys at least 2048
//!    bits long.
//! 5. **Signature**, with that key and the header's (allowed) algorithm.
//! 6. **Type**, if the issuer requires one ([`IssuerConfig::with_required_typ`], e.g. `at+jwt` of
//!    RFC 9068, so an ID token cannot pass as an access token): the header's `typ`, compared
//!    without regard to case and with or without `application/`.
//! 7. **Claims** (after the signature only): `exp` required, `nbf` if present, with the issuer's
//!    leeway (default 0 s); Cognito's `token_use`; the client id against `aud` (ID tokens, OIDC) or
//!    `client_id` (Cognito access tokens, and OIDC access tokens with no `aud`); every required
//!    scope; at least one required group; and the JSON type of every claim read.
//!
//! A verifier may keep the tokens it verified ([`Verifier::with_token_cache`]): a repeated token
//! is then answered without the signature check, keyed by the whole token and never past its
//! `exp` (see the [`verified`] module for every guarantee).
//!
//! Tokens are never logged, nor are claim sets: errors hold only short, clipped values.
//!
//! Configuration comes from code ([`IssuerConfig`]), the environment
//! ([`VerifierConfig::from_env`]: `COGNITO_USER_POOL_ID` or `JWT_ISSUER`, `JWT_JWKS_URL`,
//! `JWT_TOKEN_USE`, `JWT_CLIENT_IDS`, `JWT_REQUIRED_SCOPES`, `JWT_REQUIRED_GROUPS`,
//! `JWT_LEEWAY`, `JWT_ALGORITHMS`, `JWT_JWKS_MAX_AGE`, `JWT_REQUIRED_TYP`; durations such as `30s`,
//! with the former `JWT_LEEWAY_SECS` and `JWT_JWKS_MAX_AGE_SECS` still read) or a TOML/JSON file
//! named by `CLEARANCE_CONFIG`.

mod claims;
mod config;
mod error;
mod jwks;
pub mod verified;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

pub use claims::VerifiedToken;
pub use config::{
    Algorithm, ClientIds, CognitoUserPool, DEFAULT_JWKS_MAX_AGE, DEFAULT_LEEWAY,
    ENV_CLEARANCE_CONFIG, ENV_COGNITO_REGION, ENV_COGNITO_USER_POOL_ID, ENV_JWT_ALGORITHMS,
    ENV_JWT_CLIENT_IDS, ENV_JWT_ISSUER, ENV_JWT_JWKS_MAX_AGE, ENV_JWT_JWKS_MAX_AGE_SECS,
    ENV_JWT_JWKS_URL, ENV_JWT_LEEWAY, ENV_JWT_LEEWAY_SECS, ENV_JWT_REQUIRED_GROUPS,
    ENV_JWT_REQUIRED_SCOPES, ENV_JWT_REQUIRED_TYP, ENV_JWT_TOKEN_USE, IssuerConfig, IssuerKind,
    JwksSettings, MAX_JWKS_MAX_AGE, MAX_LEEWAY, TokenUse, VerifierConfig,
};
pub use error::{ConfigError, JwtError};

use error::clip;
use jwks::JwksCache;
use verified::VerifiedTokens;

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// One configured issuer with its JWKS cache.
struct Issuer {
    config: IssuerConfig,
    jwks: JwksCache,
}

/// Verifies JWTs from the configured issuers. Build one at start-up and share it (it is `Send +
/// Sync`; its JWKS caches live as long as it does).
pub struct Verifier {
    issuers: HashMap<String, Issuer>,
    verified: Option<VerifiedTokens>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// A verifier for `config`'s issuers. Nothing is fetched yet (see
    /// [`prefetch_jwks`](Self::prefetch_jwks)).
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.jwks.connect_timeout)
            .timeout(config.jwks.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::HttpClient)?;
        let issuers = config
            .issuers
            .into_iter()
            .map(|issuer| {
                let jwks = JwksCache::new(
                    issuer.jwks_url().clone(),
                    http.clone(),
                    config.jwks,
                    issuer.jwks_max_age(),
                );
                (
                    issuer.issuer().to_owned(),
                    Issuer {
                        config: issuer,
                        jwks,
                    },
                )
            })
            .collect();
        Ok(Self {
            issuers,
            verified: None,
        })
    }

    /// This verifier keeping up to `capacity` tokens it verified, so [`verify`](Self::verify)
    /// answers a repeated token without checking its signature again: keyed by the SHA-256 of the
    /// whole token, served only before the token's `exp`, each kept at most
    /// [`verified::MAX_ENTRY_AGE`]; refusals are never kept. For callers that see the same
    /// tokens again and again (an authorizer); they must still make their decision every time.
    pub fn with_token_cache(mut self, capacity: u64) -> Self {
        self.verified = (capacity > 0).then(|| VerifiedTokens::new(capacity));
        self
    }

    /// A verifier configured from the environment ([`VerifierConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(VerifierConfig::from_env()?)
    }

    /// Fetches every issuer's JWKS now, so the first tokens do not wait for it (e.g. during a
    /// Lambda's init phase). Fails with the first issuer whose JWKS cannot be had.
    pub async fn prefetch_jwks(&self) -> Result<(), JwtError> {
        for issuer in self.issuers.values() {
            issuer.jwks.prefetch().await?;
        }
        Ok(())
    }

    /// JWKS fetches made so far, over all issuers (for metrics).
    pub fn jwks_fetches(&self) -> u64 {
        self.issuers.values().map(|i| i.jwks.fetches()).sum()
    }

    /// Verifies `token` (without any `Bearer ` prefix) now.
    /// With a token cache ([`with_token_cache`](Self::with_token_cache)), a token verified
    /// before and not yet expired is answered from it.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        self.verify_shared(token).await.map(Arc::unwrap_or_clone)
    }

    /// [`verify`](Self::verify), answering a token from the token cache without copying it: the
    /// caller shares the cache's entry (a cached token's claims are not cloned per request).
    pub async fn verify_shared(&self, token: &str) -> Result<Arc<VerifiedToken>, JwtError> {
        let now = SystemTime::now();
        let Some(cache) = &self.verified else {
            return Box::pin(self.verify_at(token, now)).await.map(Arc::new);
        };
        let key = VerifiedTokens::key(token);
        if let Some(found) = cache.get(&key, now).await {
            return Ok(found);
        }
        // Boxed: the full check (a JWKS fetch among its steps) is a large future, which would
        // otherwise make every caller's future as large, copied on each request even on a hit.
        let verified = Arc::new(Box::pin(self.verify_at(token, now)).await?);
        cache.insert(key, &verified, now).await;
        Ok(verified)
    }

    /// Verifies `token` as if the time were `now` (for tests and replay tools), always in full
    /// (never from the token cache). A refusal is counted under its code ([`crate::metrics::JWT_REFUSALS`]).
    pub async fn verify_at(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, JwtError> {
        self.check(token, now)
            .await
            .inspect_err(|err| crate::metrics::jwt_refused(err.code()))
    }

    async fn check(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, JwtError> {
        let parts = Parts::split(token)?;

        let alg = match parts.header.get("alg") {
            Some(Value::String(name)) => Algorithm::from_name(name)
                .ok_or_else(|| JwtError::AlgorithmNotAllowed { alg: clip(name) })?,
            Some(_) => return Err(JwtError::Malformed("the header's alg is not a string")),
            None => return Err(JwtError::Malformed("the header has no alg")),
        };
        if parts.header.contains_key("crit") {
            return Err(JwtError::UnsupportedCritical);
        }
        let kid = match parts.header.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => kid.as_str(),
            Some(Value::String(_)) | None => return Err(JwtError::MissingKid),
            Some(_) => return Err(JwtError::Malformed("the header's kid is not a string")),
        };

        let iss = match parts.claims.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => {
                return Err(JwtError::ClaimType {
                    claim: "iss",
                    expected: "a string",
                });
            }
            None => return Err(JwtError::MissingClaim { claim: "iss" }),
        };
        let issuer = self
            .issuers
            .get(iss)
            .ok_or_else(|| JwtError::WrongIssuer { iss: clip(iss) })?;
        if !issuer.config.algorithms().contains(&alg) {
            return Err(JwtError::AlgorithmNotAllowed {
                alg: alg.as_str().to_owned(),
            });
        }

        let keys = issuer.jwks.keys_with(kid).await?;
        let jwk = keys
            .get(kid)
            .ok_or_else(|| JwtError::UnknownKid { kid: clip(kid) })?;
        let key = jwk.decoding_key_for(alg)?;
        let valid = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            key,
            alg.to_jsonwebtoken(),
        )
        .unwrap_or(false);
        if !valid {
            return Err(JwtError::BadSignature);
        }
        if let Some(required) = issuer.config.required_typ() {
            check_typ(&parts.header, required)?;
        }

        claims::check(&issuer.config, parts.claims, now)
    }
}

/// A token cut into its parts, the header and claims decoded (but nothing verified yet).
struct Parts<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `header.payload`, as signed.
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Parts<'a> {
    fn split(token: &'a str) -> Result<Self, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed("the token is larger than 16 KiB"));
        }
        let (signing_input, signature) = token
            .rsplit_once('.')
            .ok_or(JwtError::Malformed("not three dot-separated parts"))?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(JwtError::Malformed("not three dot-separated parts"))?;
        if payload.contains('.') {
            return Err(JwtError::Malformed("not three dot-separated parts"));
        }
        Ok(Self {
            header: json_object(header, "the header is not a base64url JSON object")?,
            claims: json_object(payload, "the claims are not a base64url JSON object")?,
            signing_input,
            signature,
        })
    }
}

/// Checks the header's `typ` against the `required` one (already normalized).
fn check_typ(header: &Map<String, Value>, required: &str) -> Result<(), JwtError> {
    let wrong = |found: Option<String>| JwtError::WrongTyp {
        found,
        expected: required.to_owned(),
    };
    match header.get("typ") {
        Some(Value::String(typ)) if config::normalize_typ(typ) == required => Ok(()),
        Some(Value::String(typ)) => Err(wrong(Some(clip(typ)))),
        Some(_) => Err(JwtError::Malformed("the header's typ is not a string")),
        None => Err(wrong(None)),
    }
}

fn json_object(part: &str, problem: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(problem))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(problem)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &str) -> String {
        URL_SAFE_NO_PAD.encode(value)
    }

    #[test]
    fn tokens_must_have_exactly_three_parts() {
        let h = encode(r#"{"alg":"RS256"}"#);
        let c = encode(r#"{"iss":"x"}"#);
        assert!(Parts::split(&format!("{h}.{c}.sig")).is_ok());
        for bad in [
            String::new(),
            format!("{h}.{c}"),
            format!("{h}.{c}.sig.more"),
            format!("{h}.{c}.a.b.c"),
            format!("{h}.!!.sig"),
            format!("{}.{c}.sig", encode("[1]")),
            "x".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            let err = Parts::split(&bad).err().expect("should be refused");
            assert_eq!(err.code(), "malformed");
        }
    }
}
