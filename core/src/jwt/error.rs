//! Why a token was refused, and why a verifier could not be configured.
//!
//! [`JwtError`] has one variant per check, each with a stable [`JwtError::code`] that an authorizer
//! can put in a deny reason and a log line. No variant ever holds the token or its claim set; the
//! few values copied from an unverified token (an issuer, a key id, an algorithm name) are clipped
//! so that a hostile token cannot fill a log line.

use std::sync::Arc;

/// The most characters of a value taken from an unverified token that an error keeps.
const CLIP: usize = 100;

/// Keeps at most [`CLIP`] characters of a value taken from an unverified token.
pub(crate) fn clip(value: &str) -> String {
    match value.char_indices().nth(CLIP) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

/// Why a token was refused.
///
/// `Clone`, so that one failed JWKS fetch can be handed to every caller that waited on it; the
/// source of a fetch failure is kept behind an `Arc` rather than flattened into text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is not three base64url parts holding a JSON header and a JSON claim set.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not one the issuer allows (`none` and HMAC never are).
    #[error("algorithm {alg:?} is not allowed")]
    AlgorithmNotAllowed {
        /// The algorithm the header named.
        alg: String,
    },
    /// The header lists critical extensions (`crit`), none of which are supported.
    #[error("the header lists critical extensions (crit), which are not supported")]
    UnsupportedCritical,
    /// The header has no key id (`kid`): the key cannot be chosen from the issuer's JWKS.
    #[error("the header has no key id (kid)")]
    MissingKid,
    /// The token's `iss` is not one of the configured issuers.
    #[error("issuer {iss:?} is not configured")]
    WrongIssuer {
        /// The issuer the token named.
        iss: String,
    },
    /// The issuer's JWKS has no key with the header's `kid` (even after fetching it again, or while
    /// the penalty window after such a fetch lasts).
    #[error("key {kid:?} is not in the issuer's JWKS")]
    UnknownKid {
        /// The key id the header named.
        kid: String,
    },
    /// The issuer's JWKS could not be fetched (connection, timeout or an HTTP error status).
    #[error("could not fetch the JWKS from {url}")]
    JwksUnavailable {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The issuer's JWKS was fetched but is not a JWK set.
    #[error("the JWKS from {url} is invalid: {reason}")]
    JwksInvalid {
        /// The JWKS URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key's `use` is not `sig`.
    #[error("key {kid:?} is for use {key_use:?}, not for signatures")]
    KeyNotForSigning {
        /// The key id.
        kid: String,
        /// The key's `use`.
        key_use: String,
    },
    /// The key's `alg` differs from the header's.
    #[error("key {kid:?} is for algorithm {key_alg:?}, but the header says {alg}")]
    KeyAlgorithmMismatch {
        /// The key id.
        kid: String,
        /// The key's `alg`.
        key_alg: String,
        /// The header's algorithm.
        alg: &'static str,
    },
    /// The key's type (`kty`) cannot verify the header's algorithm (e.g. an EC key for RS256).
    #[error("key {kid:?} has type {kty:?}, which cannot verify {alg}")]
    KeyTypeMismatch {
        /// The key id.
        kid: String,
        /// The key's `kty`.
        kty: String,
        /// The header's algorithm.
        alg: &'static str,
    },
    /// The key's curve (`crv`) does not fit the header's algorithm (e.g. P-384 for ES256).
    #[error("key {kid:?} is on curve {crv:?}, which does not fit {alg}")]
    CurveMismatch {
        /// The key id.
        kid: String,
        /// The key's `crv`.
        crv: String,
        /// The header's algorithm.
        alg: &'static str,
    },
    /// The key is an RSA key with a modulus shorter than 2048 bits.
    #[error("key {kid:?} is an RSA key of {bits} bits; at least 2048 are required")]
    WeakKey {
        /// The key id.
        kid: String,
        /// The modulus' length in bits.
        bits: usize,
    },
    /// The key's parameters are missing or not valid.
    #[error("key {kid:?} is invalid: {reason}")]
    InvalidKey {
        /// The key id.
        kid: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature does not verify with the issuer's key.
    #[error("the signature does not verify")]
    BadSignature,
    /// The header's `typ` is not the one the issuer requires (e.g. an ID token where `at+jwt`
    /// access tokens are required), or the header has none.
    #[error("{}, but {expected} is required", match found {
        Some(typ) => format!("the token's type (typ) is {typ:?}"),
        None => "the header has no type (typ)".to_owned(),
    })]
    WrongTyp {
        /// The header's `typ`, if it has one.
        found: Option<String>,
        /// The type required, lower-cased and without an `application/` prefix.
        expected: String,
    },
    /// A required claim is absent.
    #[error("claim {claim:?} is missing")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong JSON type (e.g. `exp` as a string, `scope` as an array).
    #[error("claim {claim:?} must be {expected}")]
    ClaimType {
        /// The claim's name.
        claim: &'static str,
        /// The type it must have, in words.
        expected: &'static str,
    },
    /// The token has expired (`exp`, with the leeway).
    #[error("the token expired at {exp} (seconds since the epoch)")]
    Expired {
        /// The token's `exp`.
        exp: i64,
    },
    /// The token is not valid yet (`nbf`, with the leeway).
    #[error("the token is not valid before {nbf} (seconds since the epoch)")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
    },
    /// Cognito's `token_use` is not the one the issuer accepts.
    #[error("token_use is {found:?}, but {expected} is required")]
    WrongTokenUse {
        /// The token's `token_use`.
        found: String,
        /// The token use required (`id`, `access`, or `id or access`).
        expected: &'static str,
    },
    /// The audience (`aud`) is none of the allowed client ids.
    #[error("the audience (aud) is not an allowed client id")]
    WrongAudience,
    /// The `client_id` of an access token is not an allowed client id.
    #[error("client_id is not an allowed client id")]
    WrongClientId,
    /// The `scope` claim lacks a required scope.
    #[error("the token lacks the required scope {scope:?}")]
    MissingScope {
        /// The scope missing.
        scope: String,
    },
    /// The token's groups (`cognito:groups`) include none of the required groups.
    #[error("the token is in none of the required groups")]
    NotInGroup,
}

impl JwtError {
    /// A stable, machine-readable code for the check that failed, for deny reasons, metrics and
    /// logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::AlgorithmNotAllowed { .. } => "alg-not-allowed",
            Self::UnsupportedCritical => "unsupported-crit",
            Self::MissingKid => "missing-kid",
            Self::WrongIssuer { .. } => "wrong-issuer",
            Self::UnknownKid { .. } => "unknown-kid",
            Self::JwksUnavailable { .. } => "jwks-unavailable",
            Self::JwksInvalid { .. } => "jwks-invalid",
            Self::KeyNotForSigning { .. } => "jwk-not-for-signing",
            Self::KeyAlgorithmMismatch { .. } => "jwk-alg-mismatch",
            Self::KeyTypeMismatch { .. } => "jwk-kty-mismatch",
            Self::CurveMismatch { .. } => "jwk-curve-mismatch",
            Self::WeakKey { .. } => "jwk-weak-key",
            Self::InvalidKey { .. } => "jwk-invalid",
            Self::BadSignature => "bad-signature",
            Self::WrongTyp { .. } => "wrong-typ",
            Self::MissingClaim { .. } => "missing-claim",
            Self::ClaimType { .. } => "claim-type",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not-yet-valid",
            Self::WrongTokenUse { .. } => "wrong-token-use",
            Self::WrongAudience => "wrong-audience",
            Self::WrongClientId => "wrong-client-id",
            Self::MissingScope { .. } => "missing-scope",
            Self::NotInGroup => "not-in-group",
        }
    }

    /// Whether the token could not be judged because the issuer's keys could not be had (the
    /// JWKS is unreachable or broken), rather than because the token is bad. An authorizer may
    /// answer such failures with a 5xx rather than a 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::JwksUnavailable { .. } | Self::JwksInvalid { .. }
        )
    }
}

/// Why a verifier could not be configured. The message names the setting (an environment
/// variable, a key of the configuration file, or a builder argument) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting is absent or cannot be used.
    #[error(transparent)]
    Setting(#[from] crate::env::SettingError),
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path} ({setting})")]
    ReadFile {
        /// The setting naming the file.
        setting: String,
        /// The file's path.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or JSON of the expected shape.
    #[error("the configuration file {path} ({setting}) is not valid: {message}")]
    ParseFile {
        /// The setting naming the file.
        setting: String,
        /// The file's path.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// The HTTP client for fetching JWKS could not be built.
    #[error("cannot build the HTTP client for JWKS")]
    HttpClient(#[source] reqwest::Error),
}

/// A variable the environment reader could not use, named.
impl From<crate::env::ConfigError> for ConfigError {
    fn from(err: crate::env::ConfigError) -> Self {
        Self::Setting(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_values_and_cuts_long_ones_on_a_char_boundary() {
        assert_eq!(clip("kid-1"), "kid-1");
        let long = "é".repeat(150);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), CLIP + 3);
        assert!(clipped.ends_with("..."));
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(JwtError::Expired { exp: 1 }.code(), "expired");
        assert_eq!(
            JwtError::WrongIssuer { iss: "x".into() }.code(),
            "wrong-issuer"
        );
        assert_eq!(
            JwtError::WrongTyp {
                found: None,
                expected: "at+jwt".into()
            }
            .code(),
            "wrong-typ"
        );
        assert!(!JwtError::BadSignature.is_unavailable());
    }
}
