//! The file reader: several issuers from a TOML or JSON file ([`VerifierConfig::from_file`]),
//! whose keys mirror the environment variables of one issuer.

use crate::env::SettingError;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::issuer::{CognitoUserPool, IssuerConfig, TokenUse};
use super::{ConfigError, VerifierConfig, parse_algorithms, parse_client_ids};

impl VerifierConfig {
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

    pub(super) fn from_file_setting(setting: &str, path: &Path) -> Result<Self, ConfigError> {
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
                return Err(SettingError::invalid(
                    setting,
                    format!("{shown:?} must end in .toml or .json"),
                )
                .into());
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
            ConfigError::Setting(err) => {
                ConfigError::Setting(err.renamed(|s| format!("{setting} {s}")))
            }
            other => other,
        })?;
        Ok(config)
    }
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
            .map_err(|e| SettingError::invalid(key("token_use"), e))?;
        let mut issuer = match (self.cognito_user_pool_id, self.issuer) {
            (Some(_), Some(_)) => {
                return Err(SettingError::invalid(
                    at,
                    "set either cognito_user_pool_id or issuer, not both",
                )
                .into());
            }
            (None, None) => {
                return Err(SettingError::missing(at, "set cognito_user_pool_id or issuer").into());
            }
            (Some(pool), None) => {
                let pool = CognitoUserPool::parse_setting(&key("cognito_user_pool_id"), &pool)?;
                if let Some(region) = self.cognito_region
                    && region != pool.region()
                {
                    return Err(SettingError::invalid(
                        key("cognito_region"),
                        format!("is {region}, but the user pool is in {}", pool.region()),
                    )
                    .into());
                }
                let token_use = token_use.ok_or(SettingError::missing(
                    key("token_use"),
                    "set id, access or any: the Cognito tokens to accept",
                ))?;
                IssuerConfig::cognito(pool, token_use)
            }
            (None, Some(iss)) => {
                if token_use.is_some() || self.cognito_region.is_some() {
                    return Err(SettingError::invalid(
                        at,
                        "token_use and cognito_region apply to Cognito issuers only",
                    )
                    .into());
                }
                IssuerConfig::oidc_setting(&key("issuer"), &iss)?
            }
        };
        if let Some(url) = self.jwks_url {
            issuer = issuer.with_jwks_url_setting(&key("jwks_url"), &url)?;
        }
        let ids = self.client_ids.ok_or(SettingError::missing(
            key("client_ids"),
            "list the app client ids accepted, or [\"*\"] for any",
        ))?;
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
