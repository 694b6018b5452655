//! An issuer's JWKS: fetched over https, parsed and checked once, cached for the issuer's max age,
//! and fetched again when that has passed or when a token names a key id the cache does not hold.
//!
//! - **Max age.** Keys are trusted for the issuer's max age after their fetch
//!   ([`IssuerConfig::jwks_max_age`](super::IssuerConfig::jwks_max_age)); the first verification
//!   after it fetches the JWKS again, so a key the issuer removed stops verifying even if no token
//!   ever names an unknown key id. The new set replaces the old one whole: a key it lacks is gone.
//! - **Grace, then fail closed.** If that fetch fails, the keys held keep verifying for up to
//!   another max age (the issuer's keys did not stop being its keys because its JWKS host is
//!   down), while the fetch is retried at most once per [`JwksSettings::error_backoff`]. After
//!   that, tokens are refused with the fetch's error ([`JwtError::is_unavailable`]), never
//!   verified with keys older than twice the max age.
//! - **Single flight.** Concurrent verifications that need a fetch share one: the first takes the
//!   fetch lock, the others wait on it and then read what it stored. Only while a failing fetch is
//!   retried during the grace period do the others not wait, and use the keys held instead.
//! - **Penalty window.** After a fetch that lacked the key id asked for, no fetch for an unknown
//!   key id is made for [`JwksSettings::penalty`]: a flood of tokens with random key ids costs the
//!   issuer at most one fetch per window (besides the one per max age). After a failed fetch, the
//!   same error is given without a new fetch for [`JwksSettings::error_backoff`].
//! - **Only the configured URL.** Keys come from the issuer's configured JWKS URL and nowhere else:
//!   a token's `jku`, `x5u`, `x5c` or `jwk` header is never read, and redirects are not followed.
//!
//! Keys are parsed when the JWKS is fetched; whether a key fits a token (its `use`, `alg`, type,
//! curve and size) is checked per token by [`Jwk::decoding_key_for`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use reqwest::Url;
use serde_json::{Map, Value};

use super::config::{Algorithm, JwksSettings};
use super::error::{JwtError, clip};
use crate::fetched::Fetched;

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// One key of a JWKS, parsed.
pub(crate) struct Jwk {
    kid: String,
    kty: String,
    alg: Option<String>,
    key_use: Option<String>,
    crv: Option<String>,
    rsa_bits: Option<usize>,
    /// The key ready to verify with, or why its parameters are not valid.
    key: Result<DecodingKey, &'static str>,
}

impl Jwk {
    /// Whether the key may be used for signatures at all (`use` absent or `sig`).
    fn is_for_signing(&self) -> bool {
        self.key_use.as_deref().is_none_or(|u| u == "sig")
    }

    /// The key to verify a token signed with `alg`, after every check of the key against it.
    pub(crate) fn decoding_key_for(&self, alg: Algorithm) -> Result<&DecodingKey, JwtError> {
        let kid = || clip(&self.kid);
        if self.kty.is_empty() {
            // The key's basic fields did not parse; `key` says why.
            let reason = self
                .key
                .as_ref()
                .err()
                .copied()
                .unwrap_or("the key is not valid");
            return Err(JwtError::InvalidKey { kid: kid(), reason });
        }
        if let Some(key_use) = &self.key_use
            && key_use != "sig"
        {
            return Err(JwtError::KeyNotForSigning {
                kid: kid(),
                key_use: clip(key_use),
            });
        }
        if let Some(key_alg) = &self.alg
            && key_alg != alg.as_str()
        {
            return Err(JwtError::KeyAlgorithmMismatch {
                kid: kid(),
                key_alg: clip(key_alg),
                alg: alg.as_str(),
            });
        }
        if self.kty != alg.key_type() {
            return Err(JwtError::KeyTypeMismatch {
                kid: kid(),
                kty: clip(&self.kty),
                alg: alg.as_str(),
            });
        }
        if let Some(required) = alg.curve() {
            match &self.crv {
                Some(crv) if crv == required => {}
                Some(crv) => {
                    return Err(JwtError::CurveMismatch {
                        kid: kid(),
                        crv: clip(crv),
                        alg: alg.as_str(),
                    });
                }
                None => {
                    return Err(JwtError::InvalidKey {
                        kid: kid(),
                        reason: "the key has no curve (crv)",
                    });
                }
            }
        }
        if let Some(bits) = self.rsa_bits
            && bits < MIN_RSA_BITS
        {
            return Err(JwtError::WeakKey { kid: kid(), bits });
        }
        self.key
            .as_ref()
            .map_err(|reason| JwtError::InvalidKey { kid: kid(), reason })
    }
}

/// The keys of one JWKS, by key id (a key id may appear more than once, e.g. for `sig` and `enc`).
#[derive(Default)]
pub(crate) struct KeySet(HashMap<String, Vec<Jwk>>);

impl KeySet {
    /// The key to use for `kid`: the first with that id meant for signatures, or else the first
    /// with that id (which the checks will then refuse).
    pub(crate) fn get(&self, kid: &str) -> Option<&Jwk> {
        let keys = self.0.get(kid)?;
        keys.iter().find(|k| k.is_for_signing()).or(keys.first())
    }

    fn contains(&self, kid: &str) -> bool {
        self.0.contains_key(kid)
    }

    fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Parses a JWKS document. Keys without a `kid` are skipped (no token could select them); keys
    /// with bad parameters are kept, marked invalid, so that a token naming one is told why.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no \"keys\" array")?;
        let mut set = Self::default();
        for key in keys {
            let Some(key) = key.as_object() else {
                return Err("a key is not a JSON object".into());
            };
            let Some(Value::String(kid)) = key.get("kid") else {
                continue;
            };
            let jwk = parse_jwk(kid.clone(), key);
            set.0.entry(kid.clone()).or_default().push(jwk);
        }
        Ok(set)
    }
}

fn parse_jwk(kid: String, key: &Map<String, Value>) -> Jwk {
    let text = |name: &str| -> Result<Option<String>, &'static str> {
        match key.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err("a parameter that must be a string is not"),
        }
    };
    let mut jwk = Jwk {
        kid,
        kty: String::new(),
        alg: None,
        key_use: None,
        crv: None,
        rsa_bits: None,
        key: Err("the key is not valid"),
    };
    let fields = (|| {
        Ok::<_, &'static str>((
            text("kty")?.ok_or("the key has no type (kty)")?,
            text("alg")?,
            text("use")?,
            text("crv")?,
        ))
    })();
    let (kty, alg, key_use, crv) = match fields {
        Ok(fields) => fields,
        Err(reason) => {
            jwk.key = Err(reason);
            return jwk;
        }
    };
    jwk.kty = kty;
    jwk.alg = alg;
    jwk.key_use = key_use;
    jwk.crv = crv;
    jwk.key = match jwk.kty.as_str() {
        "RSA" => rsa_key(key, &mut jwk.rsa_bits),
        "EC" => ec_key(key, jwk.crv.as_deref()),
        "OKP" => okp_key(key, jwk.crv.as_deref()),
        _ => Err("the key type is not supported"),
    };
    jwk
}

/// A base64url parameter, decoded (trailing `=` padding tolerated).
fn param(key: &Map<String, Value>, name: &str) -> Result<Vec<u8>, &'static str> {
    let value = key
        .get(name)
        .and_then(Value::as_str)
        .ok_or("a required key parameter is missing or not a string")?;
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| "a key parameter is not base64url")
}

fn rsa_key(
    key: &Map<String, Value>,
    bits_out: &mut Option<usize>,
) -> Result<DecodingKey, &'static str> {
    let n = param(key, "n")?;
    let e = param(key, "e")?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let Some(first) = n.first() else {
        return Err("the RSA modulus is zero");
    };
    *bits_out = Some(n.len() * 8 - first.leading_zeros() as usize);
    if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b % 2 == 0) || e == [1] {
        return Err("the RSA exponent is not valid");
    }
    Ok(DecodingKey::from_rsa_raw_components(n, e))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn ec_key(key: &Map<String, Value>, crv: Option<&str>) -> Result<DecodingKey, &'static str> {
    let size = match crv {
        Some("P-256") => 32,
        Some("P-384") => 48,
        Some(_) => return Err("the curve is not supported"),
        None => return Err("the key has no curve (crv)"),
    };
    let x = param(key, "x")?;
    let y = param(key, "y")?;
    if x.len() != size || y.len() != size {
        return Err("the coordinates do not fit the curve");
    }
    DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y))
        .map_err(|_| "the EC key is not valid")
}

fn okp_key(key: &Map<String, Value>, crv: Option<&str>) -> Result<DecodingKey, &'static str> {
    match crv {
        Some("Ed25519") => {}
        Some(_) => return Err("the curve is not supported"),
        None => return Err("the key has no curve (crv)"),
    }
    let x = param(key, "x")?;
    if x.len() != 32 {
        return Err("the Ed25519 public key is not 32 bytes");
    }
    DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(x))
        .map_err(|_| "the Ed25519 key is not valid")
}

/// What the cache holds, behind a lock never held across an `await`.
#[derive(Default)]
struct State {
    keys: Arc<KeySet>,
    /// When `keys` were fetched; `None` until a fetch succeeds.
    fetched_at: Option<Instant>,
    /// Fetches attempted so far (successful or not): a waiter that sees it change knows a fetch
    /// ran while it waited.
    attempts: u64,
    /// When a fetch last lacked the key id it was made for.
    last_miss: Option<Instant>,
    /// The last fetch's failure, if it failed, and when.
    last_failure: Option<(Instant, JwtError)>,
}

/// How old the keys held are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Younger than the max age: trusted.
    Fresh,
    /// Past the max age but within the grace period: to be fetched again, and used only while
    /// fetching fails.
    Stale,
    /// Past the grace period, or never fetched: not used at all.
    Expired,
}

/// One issuer's JWKS cache.
pub(crate) struct JwksCache {
    url: Url,
    http: reqwest::Client,
    settings: JwksSettings,
    /// How long fetched keys are trusted; the grace period after it is as long again.
    max_age: Duration,
    /// The keys, with the turn to fetch them, so concurrent misses share one fetch.
    state: Fetched<State>,
}

impl JwksCache {
    pub(crate) fn new(
        url: Url,
        http: reqwest::Client,
        settings: JwksSettings,
        max_age: Duration,
    ) -> Self {
        Self {
            url,
            http,
            settings,
            max_age,
            state: Fetched::default(),
        }
    }

    /// Fetches made so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.state.fetches()
    }

    fn age(&self, state: &State) -> Age {
        match state.fetched_at.map(|at| at.elapsed()) {
            Some(age) if age < self.max_age => Age::Fresh,
            Some(age) if age < self.max_age.saturating_mul(2) => Age::Stale,
            _ => Age::Expired,
        }
    }

    /// Whether the keys held may verify a token naming `kid`: they hold it and are not expired.
    fn holds(&self, state: &State, kid: &str) -> bool {
        self.age(state) != Age::Expired && state.keys.contains(kid)
    }

    /// The answer from the cache as it is, unless a fetch is due and allowed now.
    fn cached_answer(&self, state: &State, kid: &str) -> Option<Result<Arc<KeySet>, JwtError>> {
        let age = self.age(state);
        let holds = self.holds(state, kid);
        if age == Age::Fresh && holds {
            return Some(Ok(state.keys.clone()));
        }
        // A fetch is due: the keys are past their max age, or lack `kid`.
        if let Some((at, err)) = &state.last_failure
            && at.elapsed() < self.settings.error_backoff
        {
            // The last fetch failed a moment ago: no new one yet. Keys within their grace period
            // still verify; anything else gets that failure.
            return Some(if holds {
                Ok(state.keys.clone())
            } else {
                Err(err.clone())
            });
        }
        // Unknown key ids fetch at most once per penalty window. Keys past their max age are
        // fetched whatever the key id (that fetch is due anyway, and makes them fresh again).
        if age == Age::Fresh
            && let Some(at) = state.last_miss
            && at.elapsed() < self.settings.penalty
        {
            return Some(Err(unknown_kid(kid)));
        }
        None
    }

    /// The answer after another caller's fetch: no second fetch for the same need.
    fn answer_after_fetch(&self, state: &State, kid: &str) -> Result<Arc<KeySet>, JwtError> {
        if self.holds(state, kid) {
            return Ok(state.keys.clone());
        }
        Err(match &state.last_failure {
            Some((_, err)) => err.clone(),
            None => unknown_kid(kid),
        })
    }

    /// The key set holding `kid`: the keys held while younger than the max age, else fetched
    /// again (once for all concurrent callers); for an unknown `kid`, fetched again at most once
    /// per penalty window.
    pub(crate) async fn keys_with(&self, kid: &str) -> Result<Arc<KeySet>, JwtError> {
        let (seen, retrying_with) = {
            let state = self.state.read();
            if let Some(answer) = self.cached_answer(&state, kid) {
                return answer;
            }
            // A fetch after the max age failed before, and the keys held are in their grace
            // period: these keys are what a caller falls back on.
            let retrying_with = (state.last_failure.is_some()
                && self.age(&state) == Age::Stale
                && state.keys.contains(kid))
            .then(|| state.keys.clone());
            (state.attempts, retrying_with)
        };
        let _fetching = match retrying_with {
            // While the issuer is failing, a retry can take up to the whole timeout: callers that
            // have keys to fall back on do not queue behind another caller's retry.
            Some(keys) => match self.state.try_turn() {
                Some(turn) => turn,
                None => return Ok(keys),
            },
            None => self.state.turn().await,
        };
        {
            let state = self.state.read();
            if state.attempts != seen {
                // Another caller fetched while this one waited: take its answer.
                return self.answer_after_fetch(&state, kid);
            }
            if let Some(answer) = self.cached_answer(&state, kid) {
                return answer;
            }
        }
        let fetched = self.fetch().await;
        let mut state = self.state.write();
        match self.record(&mut state, fetched) {
            Ok(()) if state.keys.contains(kid) => Ok(state.keys.clone()),
            Ok(()) => {
                state.last_miss = Some(Instant::now());
                Err(unknown_kid(kid))
            }
            Err(_) if self.holds(&state, kid) => Ok(state.keys.clone()),
            Err(err) => Err(err),
        }
    }

    /// Stores what a fetch gave: new keys replace the old ones whole (a key the issuer removed is
    /// gone at once); a failure is kept for the back-off, and the old keys kept for their grace.
    fn record(&self, state: &mut State, fetched: Result<KeySet, JwtError>) -> Result<(), JwtError> {
        state.attempts += 1;
        let now = Instant::now();
        match fetched {
            Ok(keys) => {
                state.keys = Arc::new(keys);
                state.fetched_at = Some(now);
                state.last_failure = None;
                Ok(())
            }
            Err(err) => {
                if self.age(state) == Age::Stale
                    && let Some(fetched_at) = state.fetched_at
                {
                    let grace_end = fetched_at + self.max_age.saturating_mul(2);
                    tracing::warn!(
                        url = %self.url,
                        age_secs = fetched_at.elapsed().as_secs(),
                        grace_left_secs = grace_end.saturating_duration_since(now).as_secs(),
                        "the JWKS is past its max age and could not be fetched again: the keys \
                         held are used until the grace period ends"
                    );
                }
                state.last_failure = Some((now, err.clone()));
                Err(err)
            }
        }
    }

    /// Fetches the JWKS now, unless the keys held are younger than the max age (to warm the cache
    /// at start-up).
    pub(crate) async fn prefetch(&self) -> Result<(), JwtError> {
        let _fetching = self.state.turn().await;
        if self.age(&self.state.read()) == Age::Fresh {
            return Ok(());
        }
        let fetched = self.fetch().await;
        self.record(&mut self.state.write(), fetched)
    }

    async fn fetch(&self) -> Result<KeySet, JwtError> {
        self.state.count_fetch();
        let started = Instant::now();
        let result = self.fetch_once().await;
        crate::metrics::jwks_fetched(result.is_ok());
        match &result {
            Ok(keys) => tracing::info!(
                url = %self.url,
                keys = keys.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "fetched JWKS"
            ),
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, code = err.code(), "JWKS fetch failed")
            }
        }
        result
    }

    async fn fetch_once(&self) -> Result<KeySet, JwtError> {
        let unavailable = |source: reqwest::Error| JwtError::JwksUnavailable {
            url: self.url.to_string(),
            source: Arc::new(source),
        };
        let invalid = |reason: String| JwtError::JwksInvalid {
            url: self.url.to_string(),
            reason,
        };
        let mut response = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > self.settings.max_bytes {
                return Err(invalid(format!(
                    "larger than {} bytes",
                    self.settings.max_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        KeySet::parse(&body).map_err(invalid)
    }
}

fn unknown_kid(kid: &str) -> JwtError {
    JwtError::UnknownKid { kid: clip(kid) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(bits: usize) -> Value {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0x80;
        json!({"kid": "r", "kty": "RSA", "n": b64(&n), "e": b64(&[1, 0, 1])})
    }

    fn set(keys: Value) -> KeySet {
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    /// Why the key `kid` of `keys` cannot verify RS256.
    fn rs256_refusal(keys: &KeySet, kid: &str) -> JwtError {
        let key = keys.get(kid).unwrap();
        key.decoding_key_for(Algorithm::RS256).err().unwrap()
    }

    #[test]
    fn rsa_modulus_length_is_counted_in_bits() {
        let keys = set(json!([rsa(2048)]));
        assert!(
            keys.get("r")
                .unwrap()
                .decoding_key_for(Algorithm::RS256)
                .is_ok()
        );
        let keys = set(json!([rsa(1024)]));
        let err = rs256_refusal(&keys, "r");
        assert!(
            matches!(err, JwtError::WeakKey { bits: 1024, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_leading_zero_byte_does_not_count() {
        let mut n = vec![0u8];
        n.extend(vec![0x7fu8; 256]);
        let keys = set(json!([{"kid": "r", "kty": "RSA", "n": b64(&n), "e": "AQAB"}]));
        let err = rs256_refusal(&keys, "r");
        assert!(
            matches!(err, JwtError::WeakKey { bits: 2047, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn keys_without_kid_are_skipped_and_sig_keys_preferred() {
        let mut enc = rsa(2048);
        enc["use"] = json!("enc");
        let mut sig = rsa(2048);
        sig["use"] = json!("sig");
        let mut anonymous = rsa(2048);
        anonymous.as_object_mut().unwrap().remove("kid");
        let keys = set(json!([anonymous, enc, sig]));
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.get("r").unwrap().key_use.as_deref(), Some("sig"));
    }

    #[test]
    fn malformed_documents_are_refused() {
        assert!(KeySet::parse(b"nope").is_err());
        assert!(KeySet::parse(b"{}").is_err());
        assert!(KeySet::parse(br#"{"keys": [1]}"#).is_err());
    }

    #[test]
    fn bad_parameters_make_the_key_invalid_not_the_set() {
        let keys = set(json!([
            {"kid": "e", "kty": "EC", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[1; 32])},
            {"kid": "o", "kty": "OKP", "crv": "Ed25519", "x": "!!"},
            {"kid": "t", "kty": 7},
        ]));
        for (kid, alg) in [("e", Algorithm::ES256), ("o", Algorithm::EdDSA)] {
            let err = keys.get(kid).unwrap().decoding_key_for(alg).err().unwrap();
            assert_eq!(err.code(), "jwk-invalid", "{kid}: {err}");
        }
        let err = rs256_refusal(&keys, "t");
        assert_eq!(err.code(), "jwk-invalid", "{err}");
    }
}
