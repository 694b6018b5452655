//! The issuer model: one issuer a verifier accepts ([`IssuerConfig`]) and the values it is made
//! of (a Cognito user pool, the algorithms, the token use, the client ids), each checked when it is
//! set.
//!
//! The `*_setting` builders take the name of the setting being read (an environment variable, a
//! key of the configuration file) so that the environment and file readers can report errors
//! under the name the operator wrote; the public `with_*` methods name their own argument.

use crate::env::SettingError;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use super::ConfigError;

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
    /// Either; in a verified token's [`token_use`](crate::jwt::VerifiedToken::token_use) it never
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
            return Err(SettingError::invalid(
                "user_pool_id",
                format!("{id:?} is in region {}, not {region}", pool.region()),
            )
            .into());
        }
        Ok(pool)
    }

    pub(super) fn parse_setting(setting: &str, id: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| {
            SettingError::invalid(
                setting,
                format!("{id:?} is not a user pool id of the form {{region}}_{{id}} ({why})"),
            )
            .into()
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
pub(super) fn parse_jwks_url(setting: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| SettingError::invalid(setting, format!("{value:?} is not a URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if url.host_str().is_some_and(crate::net::is_loopback_host) => Ok(url),
        "http" => Err(SettingError::invalid(
            setting,
            format!(
                "{value:?} uses http to a host that is not loopback; JWKS must come over https \
                 (http is allowed only to 127.0.0.0/8, ::1 or localhost)"
            ),
        )
        .into()),
        other => Err(SettingError::invalid(
            setting,
            format!("{value:?} has scheme {other:?}; JWKS must come over https"),
        )
        .into()),
    }
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
    pub(super) issuer: String,
    kind: IssuerKind,
    jwks_url: Url,
    pub(super) client_ids: Option<ClientIds>,
    pub(super) required_scopes: Vec<String>,
    pub(super) required_groups: Vec<String>,
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

    pub(super) fn oidc_setting(setting: &str, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(SettingError::invalid(setting, "must not be empty").into());
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

    pub(super) fn with_jwks_url_setting(
        mut self,
        setting: &str,
        url: &str,
    ) -> Result<Self, ConfigError> {
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

    pub(super) fn with_leeway_setting(
        mut self,
        setting: &str,
        leeway: Duration,
    ) -> Result<Self, ConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(SettingError::invalid(
                setting,
                format!("must be at most {} seconds", MAX_LEEWAY.as_secs()),
            )
            .into());
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Accepts only these algorithms (at least one).
    pub fn with_algorithms(self, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        self.with_algorithms_setting("algorithms", algorithms)
    }

    pub(super) fn with_algorithms_setting(
        mut self,
        setting: &str,
        algorithms: &[Algorithm],
    ) -> Result<Self, ConfigError> {
        if algorithms.is_empty() {
            return Err(SettingError::invalid(setting, "must name at least one algorithm").into());
        }
        self.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// Trusts a fetched JWKS for `max_age` (more than zero, at most [`MAX_JWKS_MAX_AGE`]; default
    /// [`DEFAULT_JWKS_MAX_AGE`]); the first verification after it fetches the JWKS again. If that
    /// fetch fails, the keys already held are used for up to another `max_age` while the fetch is
    /// retried, and after that tokens are refused as
    /// [`JwksUnavailable`](crate::jwt::JwtError::JwksUnavailable).
    pub fn with_jwks_max_age(self, max_age: Duration) -> Result<Self, ConfigError> {
        self.with_jwks_max_age_setting("jwks_max_age", max_age)
    }

    pub(super) fn with_jwks_max_age_setting(
        mut self,
        setting: &str,
        max_age: Duration,
    ) -> Result<Self, ConfigError> {
        if max_age.is_zero() {
            return Err(SettingError::invalid(
                setting,
                "must be more than 0 (a JWKS fetched for every token would let each token cost \
                 the issuer a request)",
            )
            .into());
        }
        if max_age > MAX_JWKS_MAX_AGE {
            return Err(SettingError::invalid(
                setting,
                format!("must be at most {} seconds", MAX_JWKS_MAX_AGE.as_secs()),
            )
            .into());
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

    pub(super) fn with_required_typ_setting(
        mut self,
        setting: &str,
        typ: &str,
    ) -> Result<Self, ConfigError> {
        if let IssuerKind::Cognito { .. } = self.kind {
            return Err(SettingError::invalid(
                setting,
                "cannot be used with a Cognito user pool: Cognito tokens carry no typ such as \
                 at+jwt, so every token would be refused (Cognito's token_use tells ID and access \
                 tokens apart)",
            )
            .into());
        }
        let typ = typ.trim();
        if typ.is_empty() || !typ.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SettingError::invalid(
                setting,
                format!("{typ:?} is not a media type such as at+jwt"),
            )
            .into());
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn typ_values_compare_without_case_and_application_prefix() {
        assert_eq!(normalize_typ("at+jwt"), "at+jwt");
        assert_eq!(normalize_typ("application/at+jwt"), "at+jwt");
        assert_eq!(normalize_typ("AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("JWT"), "jwt");
        // Another top-level type keeps its prefix; only application/ may be left out.
        assert_eq!(normalize_typ("text/at+jwt"), "text/at+jwt");
        assert_eq!(normalize_typ("application/a/b"), "application/a/b");
    }
}
