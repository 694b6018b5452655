//! What a verifier accepts: issuers, algorithms, clients, scopes, groups, leeway, JWKS fetching.
//!
//! Built from explicit values ([`IssuerConfig::cognito`], [`IssuerConfig::oidc`] and the `with_`
//! methods), from environment variables ([`VerifierConfig::from_env`]) or from a TOML or JSON file
//! ([`VerifierConfig::from_file`]). Every value is checked when it is set, and the error names the
//! setting, so a Lambda with a bad setting fails at start-up rather than on its first token.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::error::ConfigError;

/// The Cognito user pool of a Cognito issuer (`COGNITO_USER_POOL_ID`).
pub const ENV_COGNITO_USER_POOL_ID: &str = "COGNITO_USER_POOL_ID";
/// The region of the user pool, checked against the pool id's prefix if set (`COGNITO_REGION`).
pub const ENV_COGNITO_REGION: &str = "COGNITO_REGION";
/// The issuer of any OIDC provider (`JWT_ISSUER`).
pub const ENV_JWT_ISSUER: &str = "JWT_ISSUER";
/// The issuer's JWKS URL, if not `{issuer}/.well-known/jwks.json` (`JWT_JWKS_URL`).
pub const ENV_JWT_JWKS_URL: &str = "JWT_JWKS_URL";
/// `id`, `access` or `any`: the Cognito tokens accepted (`JWT_TOKEN_USE`).
pub const ENV_JWT_TOKEN_USE: &str = "JWT_TOKEN_USE";
/// Comma-separated app client ids accepted, or `*` for any (`JWT_CLIENT_IDS`).
pub const ENV_JWT_CLIENT_IDS: &str = "JWT_CLIENT_IDS";
/// Scopes a token must all hold, separated by spaces or commas (`JWT_REQUIRED_SCOPES`).
pub const ENV_JWT_REQUIRED_SCOPES: &str = "JWT_REQUIRED_SCOPES";
/// Comma-separated groups of which a token must hold at least one (`JWT_REQUIRED_GROUPS`).
pub const ENV_JWT_REQUIRED_GROUPS: &str = "JWT_REQUIRED_GROUPS";
/// Clock leeway for `exp` and `nbf`, in seconds (`JWT_LEEWAY_SECS`).
pub const ENV_JWT_LEEWAY_SECS: &str = "JWT_LEEWAY_SECS";
/// Comma-separated algorithms accepted (`JWT_ALGORITHMS`).
pub const ENV_JWT_ALGORITHMS: &str = "JWT_ALGORITHMS";
/// How long a fetched JWKS is trusted before it is fetched again, in seconds
/// (`JWT_JWKS_MAX_AGE_SECS`).
pub const ENV_JWT_JWKS_MAX_AGE_SECS: &str = "JWT_JWKS_MAX_AGE_SECS";
/// The JWT header `typ` every token must have, e.g. `at+jwt` (`JWT_REQUIRED_TYP`).
pub const ENV_JWT_REQUIRED_TYP: &str = "JWT_REQUIRED_TYP";
/// A TOML or JSON file (by extension) listing several issuers (`CLEARANCE_CONFIG`).
pub const ENV_CLEARANCE_CONFIG: &str = "CLEARANCE_CONFIG";

/// The default clock leeway: none, as in aws-jwt-verify. Cognito and Lambda both keep AWS time.
pub const DEFAULT_LEEWAY: Duration = Duration::ZERO;
/// The largest clock leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// How long a fetched JWKS is trusted by default before it is fetched again: an hour, so a key the
/// issuer removed stops verifying within the hour even if no token names an unknown key.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The longest JWKS max age accepted: a day.
pub const MAX_JWKS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// A signature algorithm a verifier may accept. HMAC (`HS*`) and `none` are not among them: a
/// verifier holds only public keys, and a token can never choose its own way to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Cognito's).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm a verifier can accept.
    pub const ALL: [Algorithm; 6] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The algorithm's JOSE name (`RS256`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The algorithm with this exact JOSE name, if it is one a verifier can accept.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The JWK key type (`kty`) that can verify this algorithm.
    pub(crate) fn key_type(self) -> &'static str {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 => "RSA",
            Self::ES256 | Self::ES384 => "EC",
            Self::EdDSA => "OKP",
        }
    }

    /// The JWK curve (`crv`) this algorithm needs, for EC and OKP keys.
    pub(crate) fn curve(self) -> Option<&'static str> {
        match self {
            Self::ES256 => Some("P-256"),
            Self::ES384 => Some("P-384"),
            Self::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::RS384 => jsonwebtoken::Algorithm::RS384,
            Self::RS512 => jsonwebtoken::Algorithm::RS512,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::ES384 => jsonwebtoken::Algorithm::ES384,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| {
            format!(
                "{s:?} is not an accepted algorithm (one of {})",
                Self::ALL.map(Self::as_str).join(", ")
            )
        })
    }
}

/// Which Cognito tokens an issuer accepts, read from the `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// ID tokens (`token_use: id`); the client id is checked against `aud`.
    Id,
    /// Access tokens (`token_use: access`); the client id is checked against `client_id`.
    Access,
    /// Either; in a verified token's [`token_use`](super::VerifiedToken::token_use) it never
    /// appears.
    Any,
}

impl TokenUse {
    /// `id`, `access` or `any`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Access => "access",
            Self::Any => "any",
        }
    }
}

impl FromStr for TokenUse {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "id" => Ok(Self::Id),
            "access" => Ok(Self::Access),
            "any" => Ok(Self::Any),
            other => Err(format!("must be id, access or any (got {other:?})")),
        }
    }
}

/// Which app clients' tokens an issuer accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIds {
    /// Any client of the issuer (the check is skipped: say so explicitly, with `*`).
    Any,
    /// Only these clients.
    OneOf(Vec<String>),
}

/// A Cognito user pool id (`{region}_{id}`, e.g. `eu-west-1_AbCdEf123`), with its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoUserPool {
    id: String,
    region_len: usize,
}

impl CognitoUserPool {
    /// Parses a user pool id; the region is its prefix.
    pub fn parse(id: &str) -> Result<Self, ConfigError> {
        Self::parse_setting("user_pool_id", id)
    }

    /// Parses a user pool id that must belong to `region`.
    pub fn parse_in_region(region: &str, id: &str) -> Result<Self, ConfigError> {
        let pool = Self::parse(id)?;
        if pool.region() != region {
            return Err(ConfigError::invalid(
                "user_pool_id",
                format!("{id:?} is in region {}, not {region}", pool.region()),
            ));
        }
        Ok(pool)
    }

    fn parse_setting(setting: &str, id: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| {
            ConfigError::invalid(
                setting,
                format!("{id:?} is not a user pool id of the form {{region}}_{{id}} ({why})"),
            )
        };
        let (region, suffix) = id.split_once('_').ok_or_else(|| bad("no underscore"))?;
        if !is_region(region) {
            return Err(bad("the prefix is not an AWS region"));
        }
        if suffix.is_empty()
            || suffix.len() > 55
            || !suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(bad(
                "the part after the region must be 1 to 55 letters and digits",
            ));
        }
        Ok(Self {
            id: id.to_owned(),
            region_len: region.len(),
        })
    }

    /// The user pool id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The pool's region (the id's prefix).
    pub fn region(&self) -> &str {
        &self.id[..self.region_len]
    }

    /// The issuer of the pool's tokens: `https://cognito-idp.{region}.amazonaws.com/{id}`.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.id
        )
    }
}

/// Whether `s` looks like an AWS region: `xx-name-N` or `xx-name-name-N` (`us-gov-west-1`).
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words[0].len() == 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a JWKS URL: https, or http to a loopback host only (a local test or proxy).
fn parse_jwks_url(setting: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| ConfigError::invalid(setting, format!("{value:?} is not a URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::invalid(
            setting,
            format!(
                "{value:?} uses http to a host that is not loopback; JWKS must come over https \
                 (http is allowed only to 127.0.0.0/8, ::1 or localhost)"
            ),
        )),
        other => Err(ConfigError::invalid(
            setting,
            format!("{value:?} has scheme {other:?}; JWKS must come over https"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What kind of issuer, with the settings only that kind has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerKind {
    /// A Cognito user pool: `token_use` is checked, and the client id against `aud` (ID tokens)
    /// or `client_id` (access tokens).
    Cognito {
        /// The pool.
        pool: CognitoUserPool,
        /// The tokens accepted.
        token_use: TokenUse,
    },
    /// Any OIDC provider: the client ids are checked against `aud` (a string or an array), or
    /// against `client_id` for an access token with no `aud`.
    Oidc,
}

/// One issuer a verifier accepts, with its own settings. The token's `iss` picks it (exact match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    issuer: String,
    kind: IssuerKind,
    jwks_url: Url,
    client_ids: Option<ClientIds>,
    required_scopes: Vec<String>,
    required_groups: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    jwks_max_age: Duration,
    /// Normalized (see [`normalize_typ`]).
    required_typ: Option<String>,
}

impl IssuerConfig {
    /// A Cognito user pool's issuer. Its JWKS is
    /// `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json` and only RS256 is
    /// accepted (Cognito signs with nothing else); the client ids must still be set.
    pub fn cognito(pool: CognitoUserPool, token_use: TokenUse) -> Self {
        let issuer = pool.issuer();
        let jwks_url = Url::parse(&format!("{issuer}/.well-known/jwks.json"))
            .expect("a pool id that parsed makes a valid URL");
        Self {
            issuer,
            kind: IssuerKind::Cognito { pool, token_use },
            jwks_url,
            client_ids: None,
            required_scopes: Vec::new(),
            required_groups: Vec::new(),
            algorithms: vec![Algorithm::RS256],
            leeway: DEFAULT_LEEWAY,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            required_typ: None,
        }
    }

    /// Any OIDC issuer. Its JWKS is `{issuer}/.well-known/jwks.json` unless set with
    /// [`with_jwks_url`](Self::with_jwks_url); every algorithm of [`Algorithm::ALL`] is accepted
    /// unless narrowed; the client ids must still be set.
    pub fn oidc(issuer: &str) -> Result<Self, ConfigError> {
        Self::oidc_setting("issuer", issuer)
    }

    fn oidc_setting(setting: &str, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::invalid(setting, "must not be empty"));
        }
        let default_jwks = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
        let jwks_url = parse_jwks_url(setting, &default_jwks)?;
        Ok(Self {
            issuer: issuer.to_owned(),
            kind: IssuerKind::Oidc,
            jwks_url,
            client_ids: None,
            required_scopes: Vec::new(),
            required_groups: Vec::new(),
            algorithms: Algorithm::ALL.to_vec(),
            leeway: DEFAULT_LEEWAY,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            required_typ: None,
        })
    }

    /// Fetches the JWKS from `url` instead: https, or http to a loopback host only.
    pub fn with_jwks_url(self, url: &str) -> Result<Self, ConfigError> {
        self.with_jwks_url_setting("jwks_url", url)
    }

    fn with_jwks_url_setting(mut self, setting: &str, url: &str) -> Result<Self, ConfigError> {
        self.jwks_url = parse_jwks_url(setting, url)?;
        Ok(self)
    }

    /// Accepts tokens of these app clients only.
    pub fn with_client_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_ids = Some(ClientIds::OneOf(ids.into_iter().map(Into::into).collect()));
        self
    }

    /// Accepts tokens of any app client of the issuer (no `aud` or `client_id` check).
    pub fn with_any_client(mut self) -> Self {
        self.client_ids = Some(ClientIds::Any);
        self
    }

    /// Requires every one of these scopes in the `scope` claim.
    pub fn with_required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Requires at least one of these groups in the `cognito:groups` claim.
    pub fn with_required_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts tokens up to `leeway` past `exp` or before `nbf` (at most [`MAX_LEEWAY`]).
    pub fn with_leeway(self, leeway: Duration) -> Result<Self, ConfigError> {
        self.with_leeway_setting("leeway", leeway)
    }

    fn with_leeway_setting(mut self, setting: &str, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid(
                setting,
                format!("must be at most {} seconds", MAX_LEEWAY.as_secs()),
            ));
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Accepts only these algorithms (at least one).
    pub fn with_algorithms(self, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        self.with_algorithms_setting("algorithms", algorithms)
    }

    fn with_algorithms_setting(
        mut self,
        setting: &str,
        algorithms: &[Algorithm],
    ) -> Result<Self, ConfigError> {
        if algorithms.is_empty() {
            return Err(ConfigError::invalid(
                setting,
                "must name at least one algorithm",
            ));
        }
        self.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// Trusts a fetched JWKS for `max_age` (more than zero, at most [`MAX_JWKS_MAX_AGE`]; default
    /// [`DEFAULT_JWKS_MAX_AGE`]); the first verification after it fetches the JWKS again. If that
    /// fetch fails, the keys already held are used for up to another `max_age` while the fetch is
    /// retried, and after that tokens are refused as
    /// [`JwksUnavailable`](super::JwtError::JwksUnavailable).
    pub fn with_jwks_max_age(self, max_age: Duration) -> Result<Self, ConfigError> {
        self.with_jwks_max_age_setting("jwks_max_age", max_age)
    }

    fn with_jwks_max_age_setting(
        mut self,
        setting: &str,
        max_age: Duration,
    ) -> Result<Self, ConfigError> {
        if max_age.is_zero() {
            return Err(ConfigError::invalid(
                setting,
                "must be more than 0 (a JWKS fetched for every token would let each token cost \
                 the issuer a request)",
            ));
        }
        if max_age > MAX_JWKS_MAX_AGE {
            return Err(ConfigError::invalid(
                setting,
                format!("must be at most {} seconds", MAX_JWKS_MAX_AGE.as_secs()),
            ));
        }
        self.jwks_max_age = max_age;
        Ok(self)
    }

    /// Requires the JWT header's `typ` to be `typ`, e.g. `at+jwt` for OAuth access tokens (RFC
    /// 9068), so that an ID token of the same issuer cannot pass as an access token. Compared
    /// without regard to case, and with or without the `application/` prefix (`at+jwt` and
    /// `application/at+jwt` are the same type). Refused for Cognito issuers: Cognito's tokens carry
    /// no such `typ` (their `token_use` claim tells ID and access tokens apart).
    pub fn with_required_typ(self, typ: &str) -> Result<Self, ConfigError> {
        self.with_required_typ_setting("required_typ", typ)
    }

    fn with_required_typ_setting(mut self, setting: &str, typ: &str) -> Result<Self, ConfigError> {
        if let IssuerKind::Cognito { .. } = self.kind {
            return Err(ConfigError::invalid(
                setting,
                "cannot be used with a Cognito user pool: Cognito tokens carry no typ such as \
                 at+jwt, so every token would be refused (Cognito's token_use tells ID and access \
                 tokens apart)",
            ));
        }
        let typ = typ.trim();
        if typ.is_empty() || !typ.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid(
                setting,
                format!("{typ:?} is not a media type such as at+jwt"),
            ));
        }
        self.required_typ = Some(normalize_typ(typ));
        Ok(self)
    }

    /// The issuer (`iss`) this configuration is for.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Cognito or any OIDC issuer.
    pub fn kind(&self) -> &IssuerKind {
        &self.kind
    }

    /// Where the issuer's keys are fetched from.
    pub fn jwks_url(&self) -> &Url {
        &self.jwks_url
    }

    /// The app clients accepted, if set.
    pub fn client_ids(&self) -> Option<&ClientIds> {
        self.client_ids.as_ref()
    }

    /// Scopes a token must all hold.
    pub fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }

    /// Groups of which a token must hold at least one (none: no group check).
    pub fn required_groups(&self) -> &[String] {
        &self.required_groups
    }

    /// The algorithms accepted.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The clock leeway for `exp` and `nbf`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// How long a fetched JWKS is trusted before it is fetched again.
    pub fn jwks_max_age(&self) -> Duration {
        self.jwks_max_age
    }

    /// The header `typ` every token must have, lower-cased and without an `application/` prefix;
    /// `None` when `typ` is not checked.
    pub fn required_typ(&self) -> Option<&str> {
        self.required_typ.as_deref()
    }
}

/// A media type as JWT headers compare it (RFC 7515, section 4.1.9): case-insensitive, and
/// `application/` may be left out when no other `/` follows.
pub(crate) fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => lower,
    }
}

/// How JWKS are fetched and re-fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksSettings {
    /// Longest wait to connect to the JWKS host (default 1 s).
    pub connect_timeout: Duration,
    /// Longest wait for a whole JWKS fetch (default 3 s).
    pub timeout: Duration,
    /// After a fetch that lacked a token's `kid`, no fetch for an unknown `kid` is made for this
    /// long (default 10 s): a flood of tokens with random key ids costs the issuer at most one
    /// fetch per window.
    pub penalty: Duration,
    /// After a failed fetch, callers get the same error without a new fetch for this long
    /// (default 1 s); keys past their max age but within their grace period keep verifying
    /// meanwhile. It is also how often a failing fetch is retried.
    pub error_backoff: Duration,
    /// The largest JWKS document accepted (default 512 KiB).
    pub max_bytes: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(3),
            penalty: Duration::from_secs(10),
            error_backoff: Duration::from_secs(1),
            max_bytes: 512 * 1024,
        }
    }
}

/// Everything a [`Verifier`](super::Verifier) needs: the issuers it accepts and how it fetches
/// their keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// The issuers accepted, each with its own settings.
    pub issuers: Vec<IssuerConfig>,
    /// How JWKS are fetched.
    pub jwks: JwksSettings,
}

impl VerifierConfig {
    /// A configuration for these issuers with the default JWKS settings.
    pub fn new(issuers: Vec<IssuerConfig>) -> Self {
        Self {
            issuers,
            jwks: JwksSettings::default(),
        }
    }

    /// Checks what the `with_` methods cannot: at least one issuer, no issuer twice, and the client
    /// ids decided for each.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::Missing {
                setting: "issuers".into(),
                hint: "configure at least one issuer",
            });
        }
        let mut seen = HashSet::new();
        for (i, issuer) in self.issuers.iter().enumerate() {
            if !seen.insert(issuer.issuer.as_str()) {
                return Err(ConfigError::invalid(
                    format!("issuers[{i}]"),
                    format!("issuer {:?} is configured twice", issuer.issuer),
                ));
            }
            match &issuer.client_ids {
                None => {
                    return Err(ConfigError::Missing {
                        setting: format!("issuers[{i}].client_ids"),
                        hint: "list the app client ids accepted, or * to accept any client",
                    });
                }
                Some(ClientIds::OneOf(ids)) if ids.is_empty() => {
                    return Err(ConfigError::invalid(
                        format!("issuers[{i}].client_ids"),
                        "must list at least one client id (or * for any)",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads the configuration from the process environment; see [`from_lookup`](Self::from_lookup).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration from the settings `lookup` gives (e.g. `|k| env::var(k).ok()`).
    ///
    /// One issuer, from environment variables:
    ///
    /// - `COGNITO_USER_POOL_ID` (e.g. `eu-west-1_AbCdEf123`) for a Cognito user pool, whose region
    ///   is the id's prefix (`COGNITO_REGION`, if set, must match it); or `JWT_ISSUER` for any
    ///   OIDC issuer, with `JWT_JWKS_URL` if its JWKS is not at `{issuer}/.well-known/jwks.json`
    ///   (`JWT_JWKS_URL` may also override a Cognito pool's).
    /// - `JWT_TOKEN_USE`: `id`, `access` or `any`; required for Cognito, refused otherwise.
    /// - `JWT_CLIENT_IDS`: comma-separated app client ids, or `*` for any (required).
    /// - `JWT_REQUIRED_SCOPES`: scopes a token must all hold (spaces or commas between them).
    /// - `JWT_REQUIRED_GROUPS`: comma-separated groups; a token must be in at least one.
    /// - `JWT_LEEWAY_SECS`: clock leeway for `exp` and `nbf` (default 0, at most 300).
    /// - `JWT_ALGORITHMS`: comma-separated algorithms accepted (default RS256 for Cognito, all of
    ///   [`Algorithm::ALL`] otherwise).
    /// - `JWT_JWKS_MAX_AGE_SECS`: how long a fetched JWKS is trusted before it is fetched again
    ///   (default 3600, at least 1, at most 86400); see [`IssuerConfig::with_jwks_max_age`].
    /// - `JWT_REQUIRED_TYP`: the header `typ` every token must have, e.g. `at+jwt` (RFC 9068); not
    ///   checked unless set, and refused for Cognito; see [`IssuerConfig::with_required_typ`].
    ///
    /// Several issuers: `CLEARANCE_CONFIG` names a TOML or JSON file (by its extension) read by
    /// [`from_file`](Self::from_file); none of the variables above may be set with it. Empty
    /// values count as unset.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let Some(path) = get(ENV_CLEARANCE_CONFIG) {
            for key in [
                ENV_COGNITO_USER_POOL_ID,
                ENV_COGNITO_REGION,
                ENV_JWT_ISSUER,
                ENV_JWT_JWKS_URL,
                ENV_JWT_TOKEN_USE,
                ENV_JWT_CLIENT_IDS,
                ENV_JWT_REQUIRED_SCOPES,
                ENV_JWT_REQUIRED_GROUPS,
                ENV_JWT_LEEWAY_SECS,
                ENV_JWT_ALGORITHMS,
                ENV_JWT_JWKS_MAX_AGE_SECS,
                ENV_JWT_REQUIRED_TYP,
            ] {
                if get(key).is_some() {
                    return Err(ConfigError::invalid(
                        key,
                        format!(
                            "cannot be combined with {ENV_CLEARANCE_CONFIG}: set it per issuer in \
                             the file"
                        ),
                    ));
                }
            }
            return Self::from_file_setting(ENV_CLEARANCE_CONFIG, Path::new(&path));
        }

        let token_use = get(ENV_JWT_TOKEN_USE)
            .map(|v| v.parse::<TokenUse>())
            .transpose()
            .map_err(|e| ConfigError::invalid(ENV_JWT_TOKEN_USE, e))?;
        let mut issuer = match (get(ENV_COGNITO_USER_POOL_ID), get(ENV_JWT_ISSUER)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    ENV_JWT_ISSUER,
                    format!(
                        "set either {ENV_COGNITO_USER_POOL_ID} or {ENV_JWT_ISSUER}, not both \
                         (use {ENV_CLEARANCE_CONFIG} for several issuers)"
                    ),
                ));
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    setting: format!("{ENV_COGNITO_USER_POOL_ID} or {ENV_JWT_ISSUER}"),
                    hint: "set a Cognito user pool id, an OIDC issuer, or CLEARANCE_CONFIG",
                });
            }
            (Some(pool), None) => {
                let pool = CognitoUserPool::parse_setting(ENV_COGNITO_USER_POOL_ID, &pool)?;
                if let Some(region) = get(ENV_COGNITO_REGION)
                    && region != pool.region()
                {
                    return Err(ConfigError::invalid(
                        ENV_COGNITO_REGION,
                        format!(
                            "is {region}, but the user pool {} is in {}",
                            pool.id(),
                            pool.region()
                        ),
                    ));
                }
                let token_use = token_use.ok_or(ConfigError::Missing {
                    setting: ENV_JWT_TOKEN_USE.into(),
                    hint: "set id, access or any: the Cognito tokens to accept",
                })?;
                IssuerConfig::cognito(pool, token_use)
            }
            (None, Some(iss)) => {
                if token_use.is_some() {
                    return Err(ConfigError::invalid(
                        ENV_JWT_TOKEN_USE,
                        format!("applies to Cognito issuers only ({ENV_COGNITO_USER_POOL_ID})"),
                    ));
                }
                if get(ENV_COGNITO_REGION).is_some() {
                    return Err(ConfigError::invalid(
                        ENV_COGNITO_REGION,
                        format!("applies to Cognito issuers only ({ENV_COGNITO_USER_POOL_ID})"),
                    ));
                }
                IssuerConfig::oidc_setting(ENV_JWT_ISSUER, &iss)?
            }
        };
        if let Some(url) = get(ENV_JWT_JWKS_URL) {
            issuer = issuer.with_jwks_url_setting(ENV_JWT_JWKS_URL, &url)?;
        }
        issuer.client_ids = Some(match get(ENV_JWT_CLIENT_IDS) {
            None => {
                return Err(ConfigError::Missing {
                    setting: ENV_JWT_CLIENT_IDS.into(),
                    hint: "list the app client ids accepted (comma-separated), or * for any",
                });
            }
            Some(v) => parse_client_ids(ENV_JWT_CLIENT_IDS, split_list(&v, &[',']))?,
        });
        if let Some(v) = get(ENV_JWT_REQUIRED_SCOPES) {
            issuer.required_scopes = split_list(&v, &[',', ' ']);
        }
        if let Some(v) = get(ENV_JWT_REQUIRED_GROUPS) {
            issuer.required_groups = split_list(&v, &[',']);
        }
        if let Some(v) = get(ENV_JWT_LEEWAY_SECS) {
            let secs: u64 = v.parse().map_err(|_| {
                ConfigError::invalid(
                    ENV_JWT_LEEWAY_SECS,
                    format!("{v:?} is not a whole number of seconds"),
                )
            })?;
            issuer = issuer.with_leeway_setting(ENV_JWT_LEEWAY_SECS, Duration::from_secs(secs))?;
        }
        if let Some(v) = get(ENV_JWT_ALGORITHMS) {
            let algorithms = parse_algorithms(ENV_JWT_ALGORITHMS, split_list(&v, &[',']))?;
            issuer = issuer.with_algorithms_setting(ENV_JWT_ALGORITHMS, &algorithms)?;
        }
        if let Some(v) = get(ENV_JWT_JWKS_MAX_AGE_SECS) {
            let secs: u64 = v.parse().map_err(|_| {
                ConfigError::invalid(
                    ENV_JWT_JWKS_MAX_AGE_SECS,
                    format!("{v:?} is not a whole number of seconds"),
                )
            })?;
            issuer = issuer
                .with_jwks_max_age_setting(ENV_JWT_JWKS_MAX_AGE_SECS, Duration::from_secs(secs))?;
        }
        if let Some(v) = get(ENV_JWT_REQUIRED_TYP) {
            issuer = issuer.with_required_typ_setting(ENV_JWT_REQUIRED_TYP, &v)?;
        }
        let config = Self::new(vec![issuer]);
        config.validate()?;
        Ok(config)
    }

    /// Reads several issuers from a TOML (`.toml`) or JSON (`.json`) file:
    ///
    /// ```toml
    /// [[issuers]]
    /// cognito_user_pool_id = "eu-west-1_AbCdEf123"
    /// token_use = "access"                 # id, access or any
    /// client_ids = ["1example23456789"]    # or ["*"] for any
    /// required_scopes = ["clearance/read"] # all of them
    ///
    /// [[issuers]]
    /// issuer = "https://login.example.com"
    /// jwks_url = "https://login.example.com/keys"  # default {issuer}/.well-known/jwks.json
    /// client_ids = ["api://clearance"]
    /// required_groups = ["admins", "ops"]  # at least one of them
    /// leeway_secs = 30
    /// algorithms = ["RS256", "ES256"]
    /// jwks_max_age_secs = 3600             # default; at least 1, at most 86400
    /// required_typ = "at+jwt"              # not for Cognito issuers
    /// ```
    ///
    /// Other top-level keys are ignored, so the file can hold other components' settings; unknown
    /// keys inside an issuer are refused.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_file_setting("config file", path)
    }

    fn from_file_setting(setting: &str, path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            setting: setting.into(),
            path: shown.clone(),
            source,
        })?;
        let parse_error = |message: String| ConfigError::ParseFile {
            setting: setting.into(),
            path: shown.clone(),
            message,
        };
        let file: FileConfig = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(&text).map_err(|e| parse_error(e.to_string()))?,
            Some("json") => serde_json::from_str(&text).map_err(|e| parse_error(e.to_string()))?,
            _ => {
                return Err(ConfigError::invalid(
                    setting,
                    format!("{shown:?} must end in .toml or .json"),
                ));
            }
        };
        if file.issuers.is_empty() {
            return Err(parse_error("lists no issuers ([[issuers]])".into()));
        }
        let issuers = file
            .issuers
            .into_iter()
            .enumerate()
            .map(|(i, entry)| entry.into_config(&format!("{setting} issuers[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let config = Self::new(issuers);
        config.validate().map_err(|e| match e {
            ConfigError::Invalid { setting: s, reason } => ConfigError::Invalid {
                setting: format!("{setting} {s}"),
                reason,
            },
            ConfigError::Missing { setting: s, hint } => ConfigError::Missing {
                setting: format!("{setting} {s}"),
                hint,
            },
            other => other,
        })?;
        Ok(config)
    }
}

/// Splits a list on any of `separators`, dropping empty items.
fn split_list(value: &str, separators: &[char]) -> Vec<String> {
    value
        .split(|c| separators.contains(&c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_client_ids(setting: &str, ids: Vec<String>) -> Result<ClientIds, ConfigError> {
    if ids.iter().any(|id| id == "*") {
        if ids.len() > 1 {
            return Err(ConfigError::invalid(
                setting,
                "* (any client) cannot be combined with client ids",
            ));
        }
        return Ok(ClientIds::Any);
    }
    if ids.is_empty() {
        return Err(ConfigError::invalid(
            setting,
            "must list at least one client id (or * for any)",
        ));
    }
    Ok(ClientIds::OneOf(ids))
}

fn parse_algorithms(setting: &str, names: Vec<String>) -> Result<Vec<Algorithm>, ConfigError> {
    names
        .iter()
        .map(|n| n.parse::<Algorithm>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::invalid(setting, e))
}

/// The configuration file: a list of issuers (other keys belong to other components).
#[derive(Debug, Deserialize)]
struct FileConfig {
    #[serde(default)]
    issuers: Vec<FileIssuer>,
}

/// One issuer in the configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIssuer {
    cognito_user_pool_id: Option<String>,
    cognito_region: Option<String>,
    issuer: Option<String>,
    jwks_url: Option<String>,
    token_use: Option<String>,
    client_ids: Option<Vec<String>>,
    #[serde(default)]
    required_scopes: Vec<String>,
    #[serde(default)]
    required_groups: Vec<String>,
    leeway_secs: Option<u64>,
    algorithms: Option<Vec<String>>,
    jwks_max_age_secs: Option<u64>,
    required_typ: Option<String>,
}

impl FileIssuer {
    fn into_config(self, at: &str) -> Result<IssuerConfig, ConfigError> {
        let key = |k: &str| format!("{at}.{k}");
        let token_use = self
            .token_use
            .map(|v| v.parse::<TokenUse>())
            .transpose()
            .map_err(|e| ConfigError::invalid(key("token_use"), e))?;
        let mut issuer = match (self.cognito_user_pool_id, self.issuer) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    at,
                    "set either cognito_user_pool_id or issuer, not both",
                ));
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    setting: at.into(),
                    hint: "set cognito_user_pool_id or issuer",
                });
            }
            (Some(pool), None) => {
                let pool = CognitoUserPool::parse_setting(&key("cognito_user_pool_id"), &pool)?;
                if let Some(region) = self.cognito_region
                    && region != pool.region()
                {
                    return Err(ConfigError::invalid(
                        key("cognito_region"),
                        format!("is {region}, but the user pool is in {}", pool.region()),
                    ));
                }
                let token_use = token_use.ok_or(ConfigError::Missing {
                    setting: key("token_use"),
                    hint: "set id, access or any: the Cognito tokens to accept",
                })?;
                IssuerConfig::cognito(pool, token_use)
            }
            (None, Some(iss)) => {
                if token_use.is_some() || self.cognito_region.is_some() {
                    return Err(ConfigError::invalid(
                        at,
                        "token_use and cognito_region apply to Cognito issuers only",
                    ));
                }
                IssuerConfig::oidc_setting(&key("issuer"), &iss)?
            }
        };
        if let Some(url) = self.jwks_url {
            issuer = issuer.with_jwks_url_setting(&key("jwks_url"), &url)?;
        }
        let ids = self.client_ids.ok_or(ConfigError::Missing {
            setting: key("client_ids"),
            hint: "list the app client ids accepted, or [\"*\"] for any",
        })?;
        issuer.client_ids = Some(parse_client_ids(&key("client_ids"), ids)?);
        issuer.required_scopes = self.required_scopes;
        issuer.required_groups = self.required_groups;
        if let Some(secs) = self.leeway_secs {
            issuer = issuer.with_leeway_setting(&key("leeway_secs"), Duration::from_secs(secs))?;
        }
        if let Some(names) = self.algorithms {
            let algorithms = parse_algorithms(&key("algorithms"), names)?;
            issuer = issuer.with_algorithms_setting(&key("algorithms"), &algorithms)?;
        }
        if let Some(secs) = self.jwks_max_age_secs {
            issuer = issuer
                .with_jwks_max_age_setting(&key("jwks_max_age_secs"), Duration::from_secs(secs))?;
        }
        if let Some(typ) = self.required_typ {
            issuer = issuer.with_required_typ_setting(&key("required_typ"), &typ)?;
        }
        Ok(issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn setting_of(err: ConfigError) -> String {
        match err {
            ConfigError::Missing { setting, .. } | ConfigError::Invalid { setting, .. } => setting,
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn pool_ids_carry_their_region() {
        let pool = CognitoUserPool::parse("eu-west-1_AbCdEf123").unwrap();
        assert_eq!(pool.region(), "eu-west-1");
        assert_eq!(
            pool.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
        );
        assert!(CognitoUserPool::parse("us-gov-west-1_abc").is_ok());
        for bad in [
            "",
            "eu-west-1",
            "eu-west-1_",
            "euwest1_abc",
            "eu-west-1_ab-c",
            "EU-west-1_abc",
            "eu-west-x_abc",
        ] {
            assert!(
                CognitoUserPool::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(CognitoUserPool::parse_in_region("eu-west-1", "eu-west-1_abc").is_ok());
        assert!(CognitoUserPool::parse_in_region("us-east-1", "eu-west-1_abc").is_err());
    }

    #[test]
    fn jwks_urls_must_be_https_or_loopback_http() {
        for ok in [
            "https://example.com/jwks.json",
            "http://127.0.0.1:8080/jwks",
            "http://127.1.2.3/jwks",
            "http://[::1]:9000/jwks",
            "http://localhost/jwks",
        ] {
            assert!(parse_jwks_url("x", ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://example.com/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.example.com/jwks",
            "ftp://example.com/jwks",
            "file:///etc/jwks.json",
            "not a url",
        ] {
            assert!(parse_jwks_url("x", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_cognito_issuer_from_env() {
        let config = VerifierConfig::from_lookup(lookup(&[
            ("COGNITO_USER_POOL_ID", "eu-west-1_AbC123"),
            ("JWT_TOKEN_USE", "access"),
            ("JWT_CLIENT_IDS", "client-a, client-b"),
            ("JWT_REQUIRED_SCOPES", "clearance/read clearance/write"),
            ("JWT_REQUIRED_GROUPS", "admins,ops"),
            ("JWT_LEEWAY_SECS", "30"),
            ("JWT_JWKS_URL", ""),
        ]))
        .unwrap();
        let issuer = &config.issuers[0];
        assert_eq!(
            issuer.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(
            issuer.jwks_url().as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json"
        );
        assert_eq!(
            issuer.client_ids(),
            Some(&ClientIds::OneOf(vec![
                "client-a".into(),
                "client-b".into()
            ]))
        );
        assert_eq!(
            issuer.required_scopes(),
            ["clearance/read", "clearance/write"]
        );
        assert_eq!(issuer.required_groups(), ["admins", "ops"]);
        assert_eq!(issuer.leeway(), Duration::from_secs(30));
        assert_eq!(issuer.algorithms(), [Algorithm::RS256]);
    }

    #[test]
    fn an_oidc_issuer_from_env() {
        let config = VerifierConfig::from_lookup(lookup(&[
            ("JWT_ISSUER", "https://login.example.com/"),
            ("JWT_CLIENT_IDS", "*"),
            ("JWT_ALGORITHMS", "ES256,EdDSA"),
        ]))
        .unwrap();
        let issuer = &config.issuers[0];
        assert_eq!(
            issuer.jwks_url().as_str(),
            "https://login.example.com/.well-known/jwks.json"
        );
        assert_eq!(issuer.client_ids(), Some(&ClientIds::Any));
        assert_eq!(issuer.algorithms(), [Algorithm::ES256, Algorithm::EdDSA]);
        assert_eq!(issuer.leeway(), DEFAULT_LEEWAY);
    }

    #[test]
    fn env_errors_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "COGNITO_USER_POOL_ID or JWT_ISSUER"),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "nope"),
                    ("JWT_TOKEN_USE", "id"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "COGNITO_USER_POOL_ID",
            ),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "JWT_TOKEN_USE",
            ),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                    ("JWT_TOKEN_USE", "both"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "JWT_TOKEN_USE",
            ),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                    ("JWT_TOKEN_USE", "id"),
                ],
                "JWT_CLIENT_IDS",
            ),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                    ("COGNITO_REGION", "us-east-1"),
                    ("JWT_TOKEN_USE", "id"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "COGNITO_REGION",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_LEEWAY_SECS", "soon"),
                ],
                "JWT_LEEWAY_SECS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_LEEWAY_SECS", "301"),
                ],
                "JWT_LEEWAY_SECS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_ALGORITHMS", "HS256"),
                ],
                "JWT_ALGORITHMS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_JWKS_URL", "http://keys.example.com/"),
                ],
                "JWT_JWKS_URL",
            ),
            (
                &[
                    ("JWT_ISSUER", "http://a.example.com"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "JWT_ISSUER",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_TOKEN_USE", "id"),
                ],
                "JWT_TOKEN_USE",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                ],
                "JWT_ISSUER",
            ),
            (
                &[("JWT_ISSUER", "https://a"), ("JWT_CLIENT_IDS", "*,c")],
                "JWT_CLIENT_IDS",
            ),
            (
                &[
                    ("CLEARANCE_CONFIG", "/nonexistent.toml"),
                    ("JWT_CLIENT_IDS", "c"),
                ],
                "JWT_CLIENT_IDS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_JWKS_MAX_AGE_SECS", "0"),
                ],
                "JWT_JWKS_MAX_AGE_SECS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_JWKS_MAX_AGE_SECS", "86401"),
                ],
                "JWT_JWKS_MAX_AGE_SECS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_JWKS_MAX_AGE_SECS", "1h"),
                ],
                "JWT_JWKS_MAX_AGE_SECS",
            ),
            (
                &[
                    ("JWT_ISSUER", "https://a"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_REQUIRED_TYP", "at jwt"),
                ],
                "JWT_REQUIRED_TYP",
            ),
            (
                &[
                    ("COGNITO_USER_POOL_ID", "eu-west-1_a"),
                    ("JWT_TOKEN_USE", "access"),
                    ("JWT_CLIENT_IDS", "c"),
                    ("JWT_REQUIRED_TYP", "at+jwt"),
                ],
                "JWT_REQUIRED_TYP",
            ),
            (
                &[
                    ("CLEARANCE_CONFIG", "/nonexistent.toml"),
                    ("JWT_REQUIRED_TYP", "at+jwt"),
                ],
                "JWT_REQUIRED_TYP",
            ),
        ];
        for (pairs, setting) in cases {
            let err = VerifierConfig::from_lookup(lookup(pairs)).unwrap_err();
            let message = err.to_string();
            assert_eq!(setting_of(err), *setting, "{pairs:?}: {message}");
        }
    }

    #[test]
    fn jwks_max_age_and_required_typ_from_env() {
        let config = VerifierConfig::from_lookup(lookup(&[
            ("JWT_ISSUER", "https://login.example.com"),
            ("JWT_CLIENT_IDS", "*"),
            ("JWT_JWKS_MAX_AGE_SECS", "600"),
            ("JWT_REQUIRED_TYP", "Application/AT+JWT"),
        ]))
        .unwrap();
        let issuer = &config.issuers[0];
        assert_eq!(issuer.jwks_max_age(), Duration::from_secs(600));
        assert_eq!(issuer.required_typ(), Some("at+jwt"));

        let defaults = IssuerConfig::oidc("https://login.example.com").unwrap();
        assert_eq!(defaults.jwks_max_age(), DEFAULT_JWKS_MAX_AGE);
        assert_eq!(defaults.required_typ(), None);
    }

    #[test]
    fn typ_values_compare_without_case_and_application_prefix() {
        assert_eq!(normalize_typ("at+jwt"), "at+jwt");
        assert_eq!(normalize_typ("application/at+jwt"), "at+jwt");
        assert_eq!(normalize_typ("AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("JWT"), "jwt");
        // Another top-level type keeps its prefix; only application/ may be left out.
        assert_eq!(normalize_typ("text/at+jwt"), "text/at+jwt");
        assert_eq!(normalize_typ("application/a/b"), "application/a/b");
    }

    #[test]
    fn builder_validation_requires_client_ids() {
        let issuer = IssuerConfig::oidc("https://login.example.com").unwrap();
        let err = VerifierConfig::new(vec![issuer.clone()])
            .validate()
            .unwrap_err();
        assert_eq!(setting_of(err), "issuers[0].client_ids");
        let err = VerifierConfig::new(vec![]).validate().unwrap_err();
        assert_eq!(setting_of(err), "issuers");
        let twice = issuer.with_any_client();
        let err = VerifierConfig::new(vec![twice.clone(), twice])
            .validate()
            .unwrap_err();
        assert_eq!(setting_of(err), "issuers[1]");
    }
}
