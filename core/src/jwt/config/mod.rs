//! What a verifier accepts: issuers, algorithms, clients, scopes, groups, leeway, JWKS fetching.
//!
//! Built from explicit values ([`IssuerConfig::cognito`], [`IssuerConfig::oidc`] and the `with_`
//! methods), from environment variables ([`VerifierConfig::from_env`]) or from a TOML or JSON file
//! ([`VerifierConfig::from_file`]). Every value is checked when it is set, and the error names the
//! setting, so a Lambda with a bad setting fails at start-up rather than on its first token.
//!
//! - `issuer`: the issuer model ([`IssuerConfig`] and its parts) and the checks on each value.
//! - `env`: the environment reader (`COGNITO_USER_POOL_ID` / `JWT_ISSUER`, `JWT_*`,
//!   `CLEARANCE_CONFIG`).
//! - `file`: the file reader (`[[issuers]]` in TOML or JSON).
//!
//! This module holds what they share: [`VerifierConfig`], [`JwksSettings`], the checks across
//! issuers, and the parsing of lists.

mod env;
mod file;
mod issuer;

use std::collections::HashSet;
use std::time::Duration;

use super::error::ConfigError;
use crate::env::SettingError;
pub use env::{
    ENV_CLEARANCE_CONFIG, ENV_COGNITO_REGION, ENV_COGNITO_USER_POOL_ID, ENV_JWT_ALGORITHMS,
    ENV_JWT_CLIENT_IDS, ENV_JWT_ISSUER, ENV_JWT_JWKS_MAX_AGE, ENV_JWT_JWKS_MAX_AGE_SECS,
    ENV_JWT_JWKS_URL, ENV_JWT_LEEWAY, ENV_JWT_LEEWAY_SECS, ENV_JWT_REQUIRED_GROUPS,
    ENV_JWT_REQUIRED_SCOPES, ENV_JWT_REQUIRED_TYP, ENV_JWT_TOKEN_USE,
};
pub(crate) use issuer::normalize_typ;
pub use issuer::{
    Algorithm, ClientIds, CognitoUserPool, DEFAULT_JWKS_MAX_AGE, DEFAULT_LEEWAY, IssuerConfig,
    IssuerKind, MAX_JWKS_MAX_AGE, MAX_LEEWAY, TokenUse,
};

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
            return Err(SettingError::missing("issuers", "configure at least one issuer").into());
        }
        let mut seen = HashSet::new();
        for (i, issuer) in self.issuers.iter().enumerate() {
            if !seen.insert(issuer.issuer.as_str()) {
                return Err(SettingError::invalid(
                    format!("issuers[{i}]"),
                    format!("issuer {:?} is configured twice", issuer.issuer),
                )
                .into());
            }
            match &issuer.client_ids {
                None => {
                    return Err(SettingError::missing(
                        format!("issuers[{i}].client_ids"),
                        "list the app client ids accepted, or * to accept any client",
                    )
                    .into());
                }
                Some(ClientIds::OneOf(ids)) if ids.is_empty() => {
                    return Err(SettingError::invalid(
                        format!("issuers[{i}].client_ids"),
                        "must list at least one client id (or * for any)",
                    )
                    .into());
                }
                _ => {}
            }
        }
        Ok(())
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
            return Err(SettingError::invalid(
                setting,
                "* (any client) cannot be combined with client ids",
            )
            .into());
        }
        return Ok(ClientIds::Any);
    }
    if ids.is_empty() {
        return Err(SettingError::invalid(
            setting,
            "must list at least one client id (or * for any)",
        )
        .into());
    }
    Ok(ClientIds::OneOf(ids))
}

fn parse_algorithms(setting: &str, names: Vec<String>) -> Result<Vec<Algorithm>, ConfigError> {
    names
        .iter()
        .map(|n| n.parse::<Algorithm>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SettingError::invalid(setting, e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn setting_of(err: ConfigError) -> String {
        match err {
            ConfigError::Setting(err) => err.setting().to_owned(),
            other => panic!("unexpected error {other:?}"),
        }
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
