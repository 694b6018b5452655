//! The trigger's settings, read once from environment variables (a Lambda has no flags).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `CLAIM_ROLE`, `CLAIM_COMPANIES`, `CLAIM_ID` | `role`, `companies`, `id` | claim names |
//! | `CLAIM_PERM_VER` | `perm_ver` | the claim holding the user's permission version (a string such as `"4"`), which the authorizer and the middleware compare with the current one |
//! | `ACCESS_TOKEN_CLAIMS` | `true` | versions 2 and 3: add the claims to the access token too |
//! | `ACCESS_TOKEN_COMPANIES` | `array` | in the access token, `companies` as a JSON array or as `json-string` like the ID token |
//! | `PERMISSION_SCOPES_PREFIX` | unset (off) | versions 2 and 3: add scopes `{prefix}company:{id}` and `{prefix}role:{role}` to the access token |
//! | `CLAIM_COMPANIES_OMITTED` | `companies_omitted` | the claim (`"true"`) that says `companies` was left out because it would make the tokens too large |
//! | `MAX_COMPANIES_CLAIM_BYTES` | `4096` | the most bytes the `companies` claim may take in a token; over it the claim (and the company scopes) are left out and consumers hydrate instead |
//! | `ON_MISSING_PERMISSIONS` | `no-claims` | a user with no permissions gets a token without permission claims (`no-claims`) or cannot sign in (`deny`) |
//! | `TRIGGER_BUDGET` | `3s` | the most time spent looking permissions up before refusing the sign-in (Cognito allows 5 s): a duration from `100ms` to `4500ms` |
//!
//! `TRIGGER_BUDGET_MS` (a number of milliseconds), the former name of `TRIGGER_BUDGET`, still
//! works and logs a deprecation warning; setting both is an error. Variables are read through
//! [`clearance_core::env`]: trimmed, empty as unset.
//!
//! A claim name that Cognito reserves is refused at start-up: the trigger never adds, overrides or
//! suppresses those.
//!
//! Users are always looked up by `sub`, as every other Clearance component identifies them (the
//! former `USER_ID_SOURCE=username` is refused at start-up: applied here alone, it made tokens
//! carry one user's permissions while the authorizer and middleware looked up another id).
//!
//! Token sizes: a user may hold up to 1,000 companies, and every Clearance verifier refuses a
//! token over 16 KiB. Past `MAX_COMPANIES_CLAIM_BYTES` the trigger leaves `companies` (and the
//! company scopes) out of the tokens and adds `companies_omitted: "true"`: the role and id stay,
//! and consumers read the companies from Clearance (the authorizer and the middleware always do).

use std::time::Duration;

use clearance_core::env::{Env, Unit};

/// A setting that cannot be used, naming the variable (the one error of every Lambda's settings).
pub use clearance_core::env::ConfigError;

/// The most time spent looking permissions up (a duration).
pub const BUDGET: &str = "TRIGGER_BUDGET";
/// The former name of [`BUDGET`], in milliseconds; deprecated.
pub const BUDGET_MS: &str = "TRIGGER_BUDGET_MS";
/// The shortest budget accepted.
pub const MIN_BUDGET: Duration = Duration::from_millis(100);
/// The longest budget accepted: room left inside Cognito's 5 s limit to answer.
pub const MAX_BUDGET: Duration = Duration::from_millis(4_500);

/// Claims the trigger must never add, override or suppress.
pub const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "at_hash",
    "auth_time",
    "azp",
    "cognito:username",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "sub",
    "token_use",
    "client_id",
    "scope",
    "username",
    "event_id",
    "version",
    "cognito:groups",
    "cognito:roles",
    "cognito:preferred_role",
];

/// How `companies` is written into a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompaniesFormat {
    /// A JSON array of strings: `["1111","2222"]`.
    Array,
    /// A string holding JSON: `"[\"1111\"]"` (what the reference design and its front ends read).
    JsonString,
}

/// What to do when the permissions store has nothing for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissing {
    /// Issue the token without permission claims.
    NoClaims,
    /// Refuse the sign-in.
    Deny,
}

/// The trigger's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerConfig {
    /// Claim name for the role.
    pub role_claim: String,
    /// Claim name for the companies.
    pub companies_claim: String,
    /// Claim name for the permissions' user id.
    pub id_claim: String,
    /// Claim name for the permission version the claims were read at.
    pub perm_ver_claim: String,
    /// Versions 2 and 3: add the claims to the access token.
    pub access_token_claims: bool,
    /// The access token's `companies` format (the ID token's is always a JSON string).
    pub access_token_companies: CompaniesFormat,
    /// Versions 2 and 3: the prefix of scopes derived from the permissions; `None` adds none.
    pub permission_scopes_prefix: Option<String>,
    /// Claim name for the marker that says `companies` was left out (too large for a token).
    pub companies_omitted_claim: String,
    /// The most bytes the `companies` claim may take in a token before it is left out.
    pub max_companies_claim_bytes: usize,
    /// What to do for a user without permissions.
    pub on_missing: OnMissing,
    /// The most time spent looking permissions up.
    pub budget: Duration,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        Self {
            role_claim: "role".into(),
            companies_claim: "companies".into(),
            id_claim: "id".into(),
            perm_ver_claim: "perm_ver".into(),
            access_token_claims: true,
            access_token_companies: CompaniesFormat::Array,
            permission_scopes_prefix: None,
            companies_omitted_claim: "companies_omitted".into(),
            max_companies_claim_bytes: 4096,
            on_missing: OnMissing::NoClaims,
            budget: Duration::from_millis(3_000),
        }
    }
}

impl TriggerConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        let env = Env::new(lookup);
        if let Some(v) = env.get("CLAIM_ROLE") {
            config.role_claim = v;
        }
        if let Some(v) = env.get("CLAIM_COMPANIES") {
            config.companies_claim = v;
        }
        if let Some(v) = env.get("CLAIM_ID") {
            config.id_claim = v;
        }
        if let Some(v) = env.get("CLAIM_PERM_VER") {
            config.perm_ver_claim = v;
        }
        if let Some(v) = env.bool("ACCESS_TOKEN_CLAIMS")? {
            config.access_token_claims = v;
        }
        if let Some(v) = env.get("ACCESS_TOKEN_COMPANIES") {
            config.access_token_companies = match v.as_str() {
                "array" => CompaniesFormat::Array,
                "json-string" => CompaniesFormat::JsonString,
                _ => {
                    return Err(ConfigError::bad(
                        "ACCESS_TOKEN_COMPANIES",
                        format!("must be array or json-string, got {v:?}"),
                    ));
                }
            };
        }
        if let Some(v) = env.get("PERMISSION_SCOPES_PREFIX") {
            if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::bad(
                    "PERMISSION_SCOPES_PREFIX",
                    "must not contain whitespace (scopes are space-separated)",
                ));
            }
            config.permission_scopes_prefix = Some(v);
        }
        if let Some(v) = env.get("USER_ID_SOURCE") {
            return Err(ConfigError::bad(
                "USER_ID_SOURCE",
                format!(
                    "is no longer supported (got {v:?}): every Clearance component identifies users by their sub; remove the variable and store permissions under each user's sub"
                ),
            ));
        }
        if let Some(v) = env.get("CLAIM_COMPANIES_OMITTED") {
            config.companies_omitted_claim = v;
        }
        if let Some(bytes) = env.number("MAX_COMPANIES_CLAIM_BYTES")? {
            config.max_companies_claim_bytes = bytes;
        }
        if let Some(v) = env.get("ON_MISSING_PERMISSIONS") {
            config.on_missing = match v.as_str() {
                "no-claims" => OnMissing::NoClaims,
                "deny" => OnMissing::Deny,
                _ => {
                    return Err(ConfigError::bad(
                        "ON_MISSING_PERMISSIONS",
                        format!("must be no-claims or deny, got {v:?}"),
                    ));
                }
            };
        }
        if let Some(budget) = env.duration_or_deprecated(BUDGET, BUDGET_MS, Unit::Millis)? {
            if !(MIN_BUDGET..=MAX_BUDGET).contains(&budget.value) {
                return Err(ConfigError::bad(
                    budget.variable,
                    format!(
                        "must be 100ms to 4500ms so the trigger answers inside Cognito's 5 s limit, got {}ms",
                        budget.value.as_millis()
                    ),
                ));
            }
            config.budget = budget.value;
        }
        config.validate()?;
        Ok(config)
    }

    /// Refuses reserved, empty or repeated claim names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let names = [
            ("CLAIM_ROLE", &self.role_claim),
            ("CLAIM_COMPANIES", &self.companies_claim),
            ("CLAIM_ID", &self.id_claim),
            ("CLAIM_PERM_VER", &self.perm_ver_claim),
            ("CLAIM_COMPANIES_OMITTED", &self.companies_omitted_claim),
        ];
        for (variable, name) in names {
            if RESERVED_CLAIMS.contains(&name.as_str()) {
                return Err(ConfigError::bad(
                    variable,
                    format!(
                        "{name:?} is a claim Cognito reserves; the trigger never adds or overrides it: choose another name"
                    ),
                ));
            }
            if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::bad(
                    variable,
                    format!("{name:?} is not a usable claim name"),
                ));
            }
        }
        if names[0].1 == names[1].1 || names[0].1 == names[2].1 || names[1].1 == names[2].1 {
            return Err(ConfigError::bad(
                "CLAIM_ROLE",
                "CLAIM_ROLE, CLAIM_COMPANIES and CLAIM_ID must be three different names",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<TriggerConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TriggerConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_reference_design() {
        let config = from(&[]).unwrap();
        assert_eq!(config, TriggerConfig::default());
        assert_eq!(
            (
                config.role_claim.as_str(),
                config.companies_claim.as_str(),
                config.id_claim.as_str()
            ),
            ("role", "companies", "id")
        );
    }

    #[test]
    fn every_reserved_claim_name_is_refused() {
        for reserved in RESERVED_CLAIMS {
            for variable in ["CLAIM_ROLE", "CLAIM_COMPANIES", "CLAIM_ID"] {
                let err = from(&[(variable, reserved)]).unwrap_err();
                assert_eq!(err.variable, variable);
                assert!(err.problem.contains("reserves"), "{err}");
            }
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            from(&[("ON_MISSING_PERMISSIONS", "maybe")])
                .unwrap_err()
                .variable,
            "ON_MISSING_PERMISSIONS"
        );
        assert_eq!(
            from(&[("TRIGGER_BUDGET_MS", "6000")]).unwrap_err().variable,
            "TRIGGER_BUDGET_MS"
        );
        assert_eq!(
            from(&[("ACCESS_TOKEN_COMPANIES", "csv")])
                .unwrap_err()
                .variable,
            "ACCESS_TOKEN_COMPANIES"
        );
        for removed in ["username", "sub"] {
            let err = from(&[("USER_ID_SOURCE", removed)]).unwrap_err();
            assert_eq!(err.variable, "USER_ID_SOURCE");
            assert!(err.problem.contains("no longer supported"), "{err}");
        }
        assert_eq!(
            from(&[("PERMISSION_SCOPES_PREFIX", "a b")])
                .unwrap_err()
                .variable,
            "PERMISSION_SCOPES_PREFIX"
        );
        assert!(from(&[("CLAIM_ID", "role")]).is_err());
    }

    #[test]
    fn settings_are_read() {
        let config = from(&[
            ("CLAIM_ROLE", "custom:role"),
            ("ACCESS_TOKEN_COMPANIES", "json-string"),
            ("PERMISSION_SCOPES_PREFIX", "permissions/"),
            ("ON_MISSING_PERMISSIONS", "deny"),
            ("MAX_COMPANIES_CLAIM_BYTES", "2000"),
            ("TRIGGER_BUDGET_MS", "1500"),
        ])
        .unwrap();
        assert_eq!(config.role_claim, "custom:role");
        assert_eq!(config.access_token_companies, CompaniesFormat::JsonString);
        assert_eq!(
            config.permission_scopes_prefix.as_deref(),
            Some("permissions/")
        );
        assert_eq!(config.on_missing, OnMissing::Deny);
        assert_eq!(config.max_companies_claim_bytes, 2000);
        assert_eq!(config.budget, Duration::from_millis(1500));
    }

    #[test]
    fn the_budget_takes_a_duration_or_its_former_millisecond_name() {
        assert_eq!(
            from(&[("TRIGGER_BUDGET", "2s")]).unwrap().budget,
            Duration::from_secs(2)
        );
        assert_eq!(
            from(&[("TRIGGER_BUDGET_MS", "2000")]).unwrap().budget,
            Duration::from_secs(2)
        );
        let too_long = from(&[("TRIGGER_BUDGET", "5s")]).unwrap_err();
        assert_eq!(too_long.variable, "TRIGGER_BUDGET");
        assert!(too_long.problem.contains("5000ms"), "{too_long}");
        let both = from(&[("TRIGGER_BUDGET", "2s"), ("TRIGGER_BUDGET_MS", "2000")]).unwrap_err();
        assert_eq!(both.variable, "TRIGGER_BUDGET");
        assert!(both.problem.contains("TRIGGER_BUDGET_MS"), "{both}");
        assert_eq!(
            from(&[("ACCESS_TOKEN_CLAIMS", "sometimes")])
                .unwrap_err()
                .variable,
            "ACCESS_TOKEN_CLAIMS"
        );
    }
}
