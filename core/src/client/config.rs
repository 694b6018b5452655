//! How the permissions client reaches the API: where, how it authenticates, how long it waits, how
//! often it retries and how long it caches.
//!
//! The defaults fit a Cognito trigger's 5-second budget with room to spare: 500 ms per attempt,
//! 2 s in total, 3 attempts; users cached 10 s, unknown users 2 s.

use std::time::Duration;

use reqwest::Url;

use super::error::ClientConfigError;
use crate::env::{Env, SettingError, Unit};

/// The permissions API's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`.
pub const ENV_API_URL: &str = "PERMISSIONS_API_URL";
/// `none`, `client-credentials` or `sigv4` (default: `client-credentials` if
/// `PERMISSIONS_TOKEN_URL` is set, else `none`).
pub const ENV_AUTH: &str = "PERMISSIONS_AUTH";
/// The OAuth2 token endpoint, e.g. `https://{domain}.auth.{region}.amazoncognito.com/oauth2/token`.
pub const ENV_TOKEN_URL: &str = "PERMISSIONS_TOKEN_URL";
/// The app client id for client credentials.
pub const ENV_CLIENT_ID: &str = "PERMISSIONS_CLIENT_ID";
/// The app client secret for client credentials.
pub const ENV_CLIENT_SECRET: &str = "PERMISSIONS_CLIENT_SECRET";
/// Scopes to ask for, separated by spaces or commas (default: none named, so the endpoint grants
/// the client's defaults).
pub const ENV_SCOPES: &str = "PERMISSIONS_SCOPES";
/// The region to sign for with SigV4 (default: `AWS_REGION`).
pub const ENV_SIGV4_REGION: &str = "PERMISSIONS_SIGV4_REGION";
/// The service to sign for with SigV4 (default `execute-api`; `lambda` for a function URL).
pub const ENV_SIGV4_SERVICE: &str = "PERMISSIONS_SIGV4_SERVICE";
/// The region Lambda runs in, the fallback for `PERMISSIONS_SIGV4_REGION`.
pub const ENV_AWS_REGION: &str = "AWS_REGION";
/// Longest wait for one attempt, a duration such as `500ms` (the default).
pub const ENV_ATTEMPT_TIMEOUT: &str = "PERMISSIONS_ATTEMPT_TIMEOUT";
/// Longest wait for a whole call, retries included, a duration such as `2s` (the default).
pub const ENV_TOTAL_TIMEOUT: &str = "PERMISSIONS_TOTAL_TIMEOUT";
/// Most attempts per call (default 3; 1 means no retries).
pub const ENV_MAX_ATTEMPTS: &str = "PERMISSIONS_MAX_ATTEMPTS";
/// How long a user read is cached in front of the source (`crate::cache::CachedSource`, built by
/// `source::env`), a duration such as `10s` (the default; `0s` turns the cache off).
pub const ENV_CACHE_TTL: &str = "PERMISSIONS_CACHE_TTL";
/// How long "no such user" is cached, a duration such as `2s` (the default).
pub const ENV_NEGATIVE_CACHE_TTL: &str = "PERMISSIONS_NEGATIVE_CACHE_TTL";
/// After how long a cached user is refreshed in the background while still served, a duration
/// such as `4s` (the default; `0s` turns refresh-ahead off).
pub const ENV_CACHE_REFRESH_AFTER: &str = "PERMISSIONS_CACHE_REFRESH_AFTER";
/// How long past its TTL a cached user may be served while the source fails, a duration such as
/// `60s` (the default; `0s` turns stale-if-error off).
pub const ENV_CACHE_STALE_IF_ERROR: &str = "PERMISSIONS_CACHE_STALE_IF_ERROR";
/// Deprecated: [`ENV_ATTEMPT_TIMEOUT`] in milliseconds.
pub const ENV_ATTEMPT_TIMEOUT_MS: &str = "PERMISSIONS_ATTEMPT_TIMEOUT_MS";
/// Deprecated: [`ENV_TOTAL_TIMEOUT`] in milliseconds.
pub const ENV_TOTAL_TIMEOUT_MS: &str = "PERMISSIONS_TOTAL_TIMEOUT_MS";
/// Deprecated: [`ENV_CACHE_TTL`] in seconds.
pub const ENV_CACHE_TTL_SECS: &str = "PERMISSIONS_CACHE_TTL_SECS";
/// Deprecated: [`ENV_NEGATIVE_CACHE_TTL`] in seconds.
pub const ENV_NEGATIVE_CACHE_TTL_SECS: &str = "PERMISSIONS_NEGATIVE_CACHE_TTL_SECS";

/// A secret (a client secret, an access token) whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: for the request that needs it, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// OAuth2 client credentials (Cognito's `/oauth2/token`): the token is fetched with HTTP Basic
/// client authentication, cached until shortly before it expires, and sent as a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The token endpoint: https, or http to a loopback host.
    pub token_url: Url,
    /// The app client id.
    pub client_id: String,
    /// The app client secret.
    pub client_secret: Secret,
    /// Scopes to ask for (none: the client's defaults).
    pub scopes: Vec<String>,
}

impl ClientCredentials {
    /// Client credentials for `token_url`, checked: https, or http to a loopback host only (the
    /// secret must not cross a network in clear).
    pub fn new(
        token_url: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
        scopes: Vec<String>,
    ) -> Result<Self, ClientConfigError> {
        Self::new_setting(
            "token_url",
            token_url,
            client_id.into(),
            client_secret,
            scopes,
        )
    }

    fn new_setting(
        setting: &str,
        token_url: &str,
        client_id: String,
        client_secret: Secret,
        scopes: Vec<String>,
    ) -> Result<Self, ClientConfigError> {
        let token_url = parse_url(setting, token_url)?;
        require_private_transport(setting, &token_url)?;
        Ok(Self {
            token_url,
            client_id,
            client_secret,
            scopes,
        })
    }
}

/// SigV4 signing, for an API Gateway (or a Lambda function URL) protected by IAM.
#[cfg(feature = "client-sigv4")]
#[derive(Clone)]
pub struct SigV4 {
    /// The region to sign for.
    pub region: String,
    /// The service to sign for: `execute-api` (API Gateway) or `lambda` (function URLs).
    pub service: String,
    /// Where credentials come from; `None`: the default AWS chain (environment, profile, container,
    /// instance metadata), loaded on first use.
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

#[cfg(feature = "client-sigv4")]
impl SigV4 {
    /// Signs for API Gateway (`execute-api`) in `region`, with the default credentials chain.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            service: "execute-api".into(),
            credentials: None,
        }
    }

    /// Signs with credentials from `provider` (e.g. static [`aws_credential_types::Credentials`]).
    pub fn with_credentials(
        mut self,
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Self {
        self.credentials =
            Some(aws_credential_types::provider::SharedCredentialsProvider::new(provider));
        self
    }
}

#[cfg(feature = "client-sigv4")]
impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("region", &self.region)
            .field("service", &self.service)
            .field(
                "credentials",
                &if self.credentials.is_some() {
                    "given"
                } else {
                    "default chain"
                },
            )
            .finish()
    }
}

/// How the client authenticates to the permissions API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication (a private network, or a local test).
    None,
    /// An OAuth2 bearer token from client credentials.
    ClientCredentials(ClientCredentials),
    /// SigV4 signatures (feature `client-sigv4`).
    #[cfg(feature = "client-sigv4")]
    SigV4(SigV4),
}

/// Everything a [`PermissionsClient`](super::PermissionsClient) needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API's base URL; paths (`/users/{id}`, `/check`, ...) are appended to its path.
    pub base_url: Url,
    /// How requests are authenticated.
    pub auth: Auth,
    /// Longest wait for one attempt (connect, token, answer).
    pub attempt_timeout: Duration,
    /// Longest wait for a whole call, retries and back-off included.
    pub total_timeout: Duration,
    /// Most attempts per call (at least 1).
    pub max_attempts: u32,
    /// The back-off before the first retry; it doubles for each further one, and each wait is
    /// drawn at random between half of it and all of it.
    pub backoff: Duration,
}

impl ClientConfig {
    /// A configuration for the API at `base_url` with no authentication and the default timeouts,
    /// retries and cache.
    pub fn new(base_url: &str) -> Result<Self, ClientConfigError> {
        Self::new_setting("base_url", base_url)
    }

    fn new_setting(setting: &str, base_url: &str) -> Result<Self, ClientConfigError> {
        let base_url = parse_url(setting, base_url)?;
        if base_url.cannot_be_a_base()
            || base_url.query().is_some()
            || base_url.fragment().is_some()
        {
            return Err(SettingError::invalid(
                setting,
                format!("{base_url} must be a base URL with no query or fragment"),
            )
            .into());
        }
        Ok(Self {
            base_url,
            auth: Auth::None,
            attempt_timeout: Duration::from_millis(500),
            total_timeout: Duration::from_secs(2),
            max_attempts: 3,
            backoff: Duration::from_millis(50),
        })
    }

    /// Authenticates with `auth`.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Checks the values together: timeouts above zero, at least one attempt, and no client
    /// secret or bearer token sent over http to a host other than loopback.
    pub fn validate(&self) -> Result<(), ClientConfigError> {
        if self.attempt_timeout.is_zero() {
            return Err(SettingError::invalid("attempt_timeout", "must be above zero").into());
        }
        if self.total_timeout.is_zero() {
            return Err(SettingError::invalid("total_timeout", "must be above zero").into());
        }
        if self.max_attempts == 0 {
            return Err(SettingError::invalid("max_attempts", "must be at least 1").into());
        }
        if let Auth::ClientCredentials(credentials) = &self.auth {
            require_private_transport("token_url", &credentials.token_url)?;
            require_private_transport("base_url", &self.base_url)?;
        }
        Ok(())
    }

    /// Reads the configuration from the process environment; see [`from_lookup`](Self::from_lookup).
    pub fn from_env() -> Result<Self, ClientConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration from the settings `lookup` gives (e.g. `|k| env::var(k).ok()`):
    ///
    /// - `PERMISSIONS_API_URL` (required): the API's base URL.
    /// - `PERMISSIONS_AUTH`: `none`, `client-credentials` or `sigv4`; by default
    ///   `client-credentials` if `PERMISSIONS_TOKEN_URL` is set, else `none`.
    /// - Client credentials: `PERMISSIONS_TOKEN_URL`, `PERMISSIONS_CLIENT_ID`,
    ///   `PERMISSIONS_CLIENT_SECRET` (all required), `PERMISSIONS_SCOPES` (optional, spaces or
    ///   commas between scopes).
    /// - SigV4 (feature `client-sigv4`): `PERMISSIONS_SIGV4_REGION` (default `AWS_REGION`),
    ///   `PERMISSIONS_SIGV4_SERVICE` (default `execute-api`); credentials from the default chain.
    /// - `PERMISSIONS_ATTEMPT_TIMEOUT` (`500ms`), `PERMISSIONS_TOTAL_TIMEOUT` (`2s`),
    ///   `PERMISSIONS_MAX_ATTEMPTS` (3).
    /// - `PERMISSIONS_CACHE_TTL` (`10s`; `0s` turns caching off),
    ///   `PERMISSIONS_NEGATIVE_CACHE_TTL` (`2s`).
    ///
    /// Durations are written such as `500ms`, `2s` or `1m`. The former names, which take a plain
    /// number (`PERMISSIONS_ATTEMPT_TIMEOUT_MS`, `PERMISSIONS_TOTAL_TIMEOUT_MS`,
    /// `PERMISSIONS_CACHE_TTL_SECS`, `PERMISSIONS_NEGATIVE_CACHE_TTL_SECS`), still work and log a
    /// deprecation warning; setting a name and its former name is an error. Values are read
    /// through [`crate::env`]: trimmed, empty as unset.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ClientConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = Env::new(lookup);
        let get = |key: &str| env.get(key);
        let required = |key: &str, hint: &'static str| {
            get(key).ok_or_else(|| SettingError::missing(key, hint))
        };
        let duration = |variable, deprecated, unit, default| {
            env.duration_or_deprecated(variable, deprecated, unit)
                .map(|found| {
                    found.unwrap_or(crate::env::Found {
                        value: default,
                        variable,
                    })
                })
        };

        let mut config = Self::new_setting(
            ENV_API_URL,
            &required(ENV_API_URL, "set the permissions API's base URL")?,
        )?;
        let token_url = get(ENV_TOKEN_URL);
        let auth = get(ENV_AUTH).unwrap_or_else(|| {
            if token_url.is_some() {
                "client-credentials".into()
            } else {
                "none".into()
            }
        });
        config.auth = match auth.as_str() {
            "none" => {
                if token_url.is_some() {
                    return Err(SettingError::invalid(
                        ENV_AUTH,
                        format!("is none, but {ENV_TOKEN_URL} is set: say client-credentials"),
                    )
                    .into());
                }
                Auth::None
            }
            "client-credentials" => {
                let token_url = token_url.ok_or(SettingError::missing(
                    ENV_TOKEN_URL,
                    "set the OAuth2 token endpoint (https://{domain}/oauth2/token)",
                ))?;
                Auth::ClientCredentials(ClientCredentials::new_setting(
                    ENV_TOKEN_URL,
                    &token_url,
                    required(ENV_CLIENT_ID, "set the app client id")?,
                    Secret::new(required(ENV_CLIENT_SECRET, "set the app client secret")?),
                    get(ENV_SCOPES)
                        .map(|s| {
                            s.split([' ', ','])
                                .filter(|s| !s.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                )?)
            }
            "sigv4" => sigv4_from(&get)?,
            other => {
                return Err(SettingError::invalid(
                    ENV_AUTH,
                    format!("must be none, client-credentials or sigv4 (got {other:?})"),
                )
                .into());
            }
        };
        let attempt_timeout = duration(
            ENV_ATTEMPT_TIMEOUT,
            ENV_ATTEMPT_TIMEOUT_MS,
            Unit::Millis,
            config.attempt_timeout,
        )?;
        let total_timeout = duration(
            ENV_TOTAL_TIMEOUT,
            ENV_TOTAL_TIMEOUT_MS,
            Unit::Millis,
            config.total_timeout,
        )?;
        config.attempt_timeout = attempt_timeout.value;
        config.total_timeout = total_timeout.value;
        if let Some(attempts) = env.number(ENV_MAX_ATTEMPTS)? {
            config.max_attempts = attempts;
        }
        // The variable behind a field that `validate` names: the one the operator set.
        let variable = |field: &str| match field {
            "attempt_timeout" => attempt_timeout.variable.to_owned(),
            "total_timeout" => total_timeout.variable.to_owned(),
            "max_attempts" => ENV_MAX_ATTEMPTS.to_owned(),
            "base_url" => ENV_API_URL.to_owned(),
            "token_url" => ENV_TOKEN_URL.to_owned(),
            other => other.to_owned(),
        };
        config.validate().map_err(|err| match err {
            ClientConfigError::Setting(err) => {
                ClientConfigError::Setting(err.renamed(|s| variable(&s)))
            }
            other => other,
        })?;
        Ok(config)
    }
}

#[cfg(feature = "client-sigv4")]
fn sigv4_from(get: &dyn Fn(&str) -> Option<String>) -> Result<Auth, ClientConfigError> {
    let region = get(ENV_SIGV4_REGION)
        .or_else(|| get(ENV_AWS_REGION))
        .ok_or(SettingError::missing(
            format!("{ENV_SIGV4_REGION} (or {ENV_AWS_REGION})"),
            "set the region of the API to sign for",
        ))?;
    let mut sigv4 = SigV4::new(region);
    if let Some(service) = get(ENV_SIGV4_SERVICE) {
        sigv4.service = service;
    }
    Ok(Auth::SigV4(sigv4))
}

#[cfg(not(feature = "client-sigv4"))]
fn sigv4_from(_: &dyn Fn(&str) -> Option<String>) -> Result<Auth, ClientConfigError> {
    Err(SettingError::invalid(
        ENV_AUTH,
        "is sigv4, but this build lacks the client-sigv4 feature",
    )
    .into())
}

fn parse_url(setting: &str, value: &str) -> Result<Url, ClientConfigError> {
    let url = Url::parse(value)
        .map_err(|e| SettingError::invalid(setting, format!("{value:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(
            SettingError::invalid(setting, format!("{value:?} must be an http(s) URL")).into(),
        );
    }
    Ok(url)
}

/// Refuses http to a host other than loopback for a URL that secrets or bearer tokens go to.
fn require_private_transport(setting: &str, url: &Url) -> Result<(), ClientConfigError> {
    if url.scheme() == "https" || url.host_str().is_some_and(crate::net::is_loopback_host) {
        return Ok(());
    }
    Err(SettingError::invalid(
        setting,
        format!(
            "{url} uses http to a host that is not loopback; secrets and tokens are sent over \
             https only"
        ),
    )
    .into())
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

    fn setting_of(err: ClientConfigError) -> String {
        match err {
            ClientConfigError::Setting(err) => err.setting().to_owned(),
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn defaults_fit_a_cognito_trigger() {
        let config = ClientConfig::from_lookup(lookup(&[(
            "PERMISSIONS_API_URL",
            "https://api.example.com/prod",
        )]))
        .unwrap();
        assert!(matches!(config.auth, Auth::None));
        assert_eq!(config.attempt_timeout, Duration::from_millis(500));
        assert_eq!(config.total_timeout, Duration::from_secs(2));
        assert_eq!(config.max_attempts, 3);
    }

    #[test]
    fn client_credentials_from_env_with_the_secret_redacted() {
        let config = ClientConfig::from_lookup(lookup(&[
            ("PERMISSIONS_API_URL", "https://api.example.com"),
            (
                "PERMISSIONS_TOKEN_URL",
                "https://auth.example.com/oauth2/token",
            ),
            ("PERMISSIONS_CLIENT_ID", "abc"),
            ("PERMISSIONS_CLIENT_SECRET", "s3cr3t-value"),
            ("PERMISSIONS_SCOPES", "clearance/read, clearance/check"),
            ("PERMISSIONS_CACHE_TTL_SECS", "30"),
        ]))
        .unwrap();
        let Auth::ClientCredentials(creds) = &config.auth else {
            panic!("expected client credentials");
        };
        assert_eq!(creds.scopes, ["clearance/read", "clearance/check"]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
    }

    #[test]
    fn env_errors_name_the_setting() {
        let api = ("PERMISSIONS_API_URL", "https://api.example.com");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "PERMISSIONS_API_URL"),
            (
                &[("PERMISSIONS_API_URL", "api.example.com")],
                "PERMISSIONS_API_URL",
            ),
            (&[api, ("PERMISSIONS_AUTH", "basic")], "PERMISSIONS_AUTH"),
            (
                &[api, ("PERMISSIONS_AUTH", "client-credentials")],
                "PERMISSIONS_TOKEN_URL",
            ),
            (
                &[
                    api,
                    ("PERMISSIONS_TOKEN_URL", "https://auth/token"),
                    ("PERMISSIONS_CLIENT_ID", "a"),
                ],
                "PERMISSIONS_CLIENT_SECRET",
            ),
            (
                &[
                    api,
                    ("PERMISSIONS_TOKEN_URL", "http://auth.example.com/token"),
                    ("PERMISSIONS_CLIENT_ID", "a"),
                    ("PERMISSIONS_CLIENT_SECRET", "b"),
                ],
                "PERMISSIONS_TOKEN_URL",
            ),
            (
                &[
                    ("PERMISSIONS_API_URL", "http://api.example.com"),
                    ("PERMISSIONS_TOKEN_URL", "https://auth.example.com/token"),
                    ("PERMISSIONS_CLIENT_ID", "a"),
                    ("PERMISSIONS_CLIENT_SECRET", "b"),
                ],
                "PERMISSIONS_API_URL",
            ),
            (
                &[
                    api,
                    ("PERMISSIONS_AUTH", "none"),
                    ("PERMISSIONS_TOKEN_URL", "https://a/t"),
                ],
                "PERMISSIONS_AUTH",
            ),
            (
                &[api, ("PERMISSIONS_ATTEMPT_TIMEOUT_MS", "fast")],
                "PERMISSIONS_ATTEMPT_TIMEOUT_MS",
            ),
            (
                &[api, ("PERMISSIONS_TOTAL_TIMEOUT_MS", "0")],
                "PERMISSIONS_TOTAL_TIMEOUT_MS",
            ),
            (
                &[api, ("PERMISSIONS_MAX_ATTEMPTS", "0")],
                "PERMISSIONS_MAX_ATTEMPTS",
            ),
        ];
        for (pairs, setting) in cases {
            let err = ClientConfig::from_lookup(lookup(pairs)).unwrap_err();
            let message = err.to_string();
            assert_eq!(setting_of(err), *setting, "{pairs:?}: {message}");
        }
    }

    #[test]
    fn durations_take_humantime_values_or_their_former_plain_number_names() {
        let api = ("PERMISSIONS_API_URL", "https://api.example.com");
        let config = ClientConfig::from_lookup(lookup(&[
            api,
            ("PERMISSIONS_ATTEMPT_TIMEOUT", "250ms"),
            ("PERMISSIONS_TOTAL_TIMEOUT", "1s"),
        ]))
        .unwrap();
        assert_eq!(config.attempt_timeout, Duration::from_millis(250));
        assert_eq!(config.total_timeout, Duration::from_secs(1));

        let former = ClientConfig::from_lookup(lookup(&[
            api,
            ("PERMISSIONS_ATTEMPT_TIMEOUT_MS", "250"),
            ("PERMISSIONS_TOTAL_TIMEOUT_MS", "1000"),
        ]))
        .unwrap();
        assert_eq!(former.attempt_timeout, config.attempt_timeout);
        assert_eq!(former.total_timeout, config.total_timeout);

        let cases: &[(&[(&str, &str)], &str)] = &[(
            &[api, ("PERMISSIONS_TOTAL_TIMEOUT", "0s")],
            "PERMISSIONS_TOTAL_TIMEOUT",
        )];
        for (pairs, setting) in cases {
            let err = ClientConfig::from_lookup(lookup(pairs)).unwrap_err();
            let message = err.to_string();
            assert_eq!(setting_of(err), *setting, "{pairs:?}: {message}");
        }
    }

    #[cfg(feature = "client-sigv4")]
    #[test]
    fn sigv4_takes_its_region_from_aws_region_by_default() {
        let config = ClientConfig::from_lookup(lookup(&[
            ("PERMISSIONS_API_URL", "https://api.example.com"),
            ("PERMISSIONS_AUTH", "sigv4"),
            ("AWS_REGION", "eu-west-1"),
        ]))
        .unwrap();
        let Auth::SigV4(sigv4) = &config.auth else {
            panic!("expected sigv4");
        };
        assert_eq!(sigv4.region, "eu-west-1");
        assert_eq!(sigv4.service, "execute-api");
        let err = ClientConfig::from_lookup(lookup(&[
            ("PERMISSIONS_API_URL", "https://api.example.com"),
            ("PERMISSIONS_AUTH", "sigv4"),
        ]))
        .unwrap_err();
        assert!(setting_of(err).starts_with("PERMISSIONS_SIGV4_REGION"));
    }
}
