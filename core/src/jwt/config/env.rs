//! The environment reader: one issuer from `COGNITO_USER_POOL_ID` or `JWT_ISSUER` and the `JWT_*`
//! variables, or several from the file named by `CLEARANCE_CONFIG` ([`VerifierConfig::from_lookup`]).

use std::path::Path;

use super::issuer::{CognitoUserPool, IssuerConfig, TokenUse};
use super::{ConfigError, VerifierConfig, parse_algorithms, parse_client_ids, split_list};
use crate::env::{Env, SettingError, Unit};

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
/// Clock leeway for `exp` and `nbf`, a duration such as `30s` (`JWT_LEEWAY`).
pub const ENV_JWT_LEEWAY: &str = "JWT_LEEWAY";
/// Deprecated: [`ENV_JWT_LEEWAY`] in whole seconds (`JWT_LEEWAY_SECS`).
pub const ENV_JWT_LEEWAY_SECS: &str = "JWT_LEEWAY_SECS";
/// Comma-separated algorithms accepted (`JWT_ALGORITHMS`).
pub const ENV_JWT_ALGORITHMS: &str = "JWT_ALGORITHMS";
/// How long a fetched JWKS is trusted before it is fetched again, a duration such as `1h`
/// (`JWT_JWKS_MAX_AGE`).
pub const ENV_JWT_JWKS_MAX_AGE: &str = "JWT_JWKS_MAX_AGE";
/// Deprecated: [`ENV_JWT_JWKS_MAX_AGE`] in whole seconds (`JWT_JWKS_MAX_AGE_SECS`).
pub const ENV_JWT_JWKS_MAX_AGE_SECS: &str = "JWT_JWKS_MAX_AGE_SECS";
/// The JWT header `typ` every token must have, e.g. `at+jwt` (`JWT_REQUIRED_TYP`).
pub const ENV_JWT_REQUIRED_TYP: &str = "JWT_REQUIRED_TYP";
/// A TOML or JSON file (by extension) listing several issuers (`CLEARANCE_CONFIG`).
pub const ENV_CLEARANCE_CONFIG: &str = "CLEARANCE_CONFIG";

impl VerifierConfig {
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
    /// - `JWT_LEEWAY`: clock leeway for `exp` and `nbf`, a duration such as `30s` (default `0s`,
    ///   at most `5m`).
    /// - `JWT_ALGORITHMS`: comma-separated algorithms accepted (default RS256 for Cognito, all of
    ///   [`Algorithm::ALL`](super::Algorithm::ALL) otherwise).
    /// - `JWT_JWKS_MAX_AGE`: how long a fetched JWKS is trusted before it is fetched again, a
    ///   duration such as `1h` (the default; more than zero, at most `24h`); see
    ///   [`IssuerConfig::with_jwks_max_age`].
    /// - `JWT_REQUIRED_TYP`: the header `typ` every token must have, e.g. `at+jwt` (RFC 9068); not
    ///   checked unless set, and refused for Cognito; see [`IssuerConfig::with_required_typ`].
    ///
    /// Several issuers: `CLEARANCE_CONFIG` names a TOML or JSON file (by its extension) read by
    /// [`from_file`](Self::from_file); none of the variables above may be set with it. Values are
    /// read through [`crate::env`]: trimmed, empty as unset. `JWT_LEEWAY_SECS` and
    /// `JWT_JWKS_MAX_AGE_SECS` (whole seconds), the former names of `JWT_LEEWAY` and
    /// `JWT_JWKS_MAX_AGE`, still work and log a deprecation warning; setting a name and its former
    /// name is an error.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = Env::new(lookup);
        let get = |key: &str| env.get(key);
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
                ENV_JWT_LEEWAY,
                ENV_JWT_LEEWAY_SECS,
                ENV_JWT_ALGORITHMS,
                ENV_JWT_JWKS_MAX_AGE,
                ENV_JWT_JWKS_MAX_AGE_SECS,
                ENV_JWT_REQUIRED_TYP,
            ] {
                if get(key).is_some() {
                    return Err(SettingError::invalid(
                        key,
                        format!(
                            "cannot be combined with {ENV_CLEARANCE_CONFIG}: set it per issuer in \
                             the file"
                        ),
                    )
                    .into());
                }
            }
            return Self::from_file_setting(ENV_CLEARANCE_CONFIG, Path::new(&path));
        }

        let token_use = get(ENV_JWT_TOKEN_USE)
            .map(|v| v.parse::<TokenUse>())
            .transpose()
            .map_err(|e| SettingError::invalid(ENV_JWT_TOKEN_USE, e))?;
        let mut issuer = match (get(ENV_COGNITO_USER_POOL_ID), get(ENV_JWT_ISSUER)) {
            (Some(_), Some(_)) => {
                return Err(SettingError::invalid(
                    ENV_JWT_ISSUER,
                    format!(
                        "set either {ENV_COGNITO_USER_POOL_ID} or {ENV_JWT_ISSUER}, not both \
                         (use {ENV_CLEARANCE_CONFIG} for several issuers)"
                    ),
                )
                .into());
            }
            (None, None) => {
                return Err(SettingError::missing(
                    format!("{ENV_COGNITO_USER_POOL_ID} or {ENV_JWT_ISSUER}"),
                    "set a Cognito user pool id, an OIDC issuer, or CLEARANCE_CONFIG",
                )
                .into());
            }
            (Some(pool), None) => {
                let pool = CognitoUserPool::parse_setting(ENV_COGNITO_USER_POOL_ID, &pool)?;
                if let Some(region) = get(ENV_COGNITO_REGION)
                    && region != pool.region()
                {
                    return Err(SettingError::invalid(
                        ENV_COGNITO_REGION,
                        format!(
                            "is {region}, but the user pool {} is in {}",
                            pool.id(),
                            pool.region()
                        ),
                    )
                    .into());
                }
                let token_use = token_use.ok_or(SettingError::missing(
                    ENV_JWT_TOKEN_USE,
                    "set id, access or any: the Cognito tokens to accept",
                ))?;
                IssuerConfig::cognito(pool, token_use)
            }
            (None, Some(iss)) => {
                if token_use.is_some() {
                    return Err(SettingError::invalid(
                        ENV_JWT_TOKEN_USE,
                        format!("applies to Cognito issuers only ({ENV_COGNITO_USER_POOL_ID})"),
                    )
                    .into());
                }
                if get(ENV_COGNITO_REGION).is_some() {
                    return Err(SettingError::invalid(
                        ENV_COGNITO_REGION,
                        format!("applies to Cognito issuers only ({ENV_COGNITO_USER_POOL_ID})"),
                    )
                    .into());
                }
                IssuerConfig::oidc_setting(ENV_JWT_ISSUER, &iss)?
            }
        };
        if let Some(url) = get(ENV_JWT_JWKS_URL) {
            issuer = issuer.with_jwks_url_setting(ENV_JWT_JWKS_URL, &url)?;
        }
        issuer.client_ids = Some(match get(ENV_JWT_CLIENT_IDS) {
            None => {
                return Err(SettingError::missing(
                    ENV_JWT_CLIENT_IDS,
                    "list the app client ids accepted (comma-separated), or * for any",
                )
                .into());
            }
            Some(v) => parse_client_ids(ENV_JWT_CLIENT_IDS, split_list(&v, &[',']))?,
        });
        if let Some(v) = get(ENV_JWT_REQUIRED_SCOPES) {
            issuer.required_scopes = split_list(&v, &[',', ' ']);
        }
        if let Some(v) = get(ENV_JWT_REQUIRED_GROUPS) {
            issuer.required_groups = split_list(&v, &[',']);
        }
        if let Some(leeway) =
            env.duration_or_deprecated(ENV_JWT_LEEWAY, ENV_JWT_LEEWAY_SECS, Unit::Secs)?
        {
            issuer = issuer.with_leeway_setting(leeway.variable, leeway.value)?;
        }
        if let Some(v) = get(ENV_JWT_ALGORITHMS) {
            let algorithms = parse_algorithms(ENV_JWT_ALGORITHMS, split_list(&v, &[',']))?;
            issuer = issuer.with_algorithms_setting(ENV_JWT_ALGORITHMS, &algorithms)?;
        }
        if let Some(max_age) =
            env.duration_or_deprecated(ENV_JWT_JWKS_MAX_AGE, ENV_JWT_JWKS_MAX_AGE_SECS, Unit::Secs)?
        {
            issuer = issuer.with_jwks_max_age_setting(max_age.variable, max_age.value)?;
        }
        if let Some(v) = get(ENV_JWT_REQUIRED_TYP) {
            issuer = issuer.with_required_typ_setting(ENV_JWT_REQUIRED_TYP, &v)?;
        }
        let config = Self::new(vec![issuer]);
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::setting_of;
    use super::*;
    use crate::jwt::{Algorithm, ClientIds, DEFAULT_JWKS_MAX_AGE, DEFAULT_LEEWAY};

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
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
    fn leeway_and_jwks_max_age_take_durations_beside_their_former_names() {
        let oidc = [("JWT_ISSUER", "https://a"), ("JWT_CLIENT_IDS", "c")];
        let read = |extra: &[(&str, &str)]| {
            let pairs: Vec<_> = oidc.iter().chain(extra).copied().collect();
            VerifierConfig::from_lookup(lookup(&pairs))
        };
        let config = read(&[("JWT_LEEWAY", "30s"), ("JWT_JWKS_MAX_AGE", "10m")]).unwrap();
        assert_eq!(config.issuers[0].leeway(), Duration::from_secs(30));
        assert_eq!(config.issuers[0].jwks_max_age(), Duration::from_secs(600));

        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("JWT_LEEWAY", "6m")], "JWT_LEEWAY"),
            (&[("JWT_LEEWAY", "30")], "JWT_LEEWAY"),
            (
                &[("JWT_LEEWAY", "30s"), ("JWT_LEEWAY_SECS", "30")],
                "JWT_LEEWAY",
            ),
            (&[("JWT_JWKS_MAX_AGE", "0s")], "JWT_JWKS_MAX_AGE"),
            (&[("JWT_JWKS_MAX_AGE", "25h")], "JWT_JWKS_MAX_AGE"),
            (
                &[
                    ("JWT_JWKS_MAX_AGE", "1h"),
                    ("JWT_JWKS_MAX_AGE_SECS", "3600"),
                ],
                "JWT_JWKS_MAX_AGE",
            ),
        ];
        for (extra, setting) in cases {
            let err = read(extra).unwrap_err();
            let message = err.to_string();
            assert_eq!(setting_of(err), *setting, "{extra:?}: {message}");
        }
        let err = VerifierConfig::from_lookup(lookup(&[
            ("CLEARANCE_CONFIG", "/nonexistent.toml"),
            ("JWT_LEEWAY", "30s"),
        ]))
        .unwrap_err();
        assert_eq!(setting_of(err), "JWT_LEEWAY");
    }
}
