//! The authorizer's settings, from environment variables (a Lambda has no flags).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `AUTHORIZER_RULES` | — | the route rules as JSON (see [`crate::rules`]) |
//! | `AUTHORIZER_RULES_FILE` | — | or a file holding them (one of the two is required) |
//! | `AUTHORIZER_TOKEN_HEADER` | `Authorization` | the header carrying `Bearer <token>` in REQUEST events |
//! | `AUTHORIZER_HTTP_RESPONSE` | `iam` | HTTP API answers: `iam` (a policy scoped to the route ARN) or `simple` (`{isAuthorized, context}`, which names no route: see [`AuthorizerConfig::cross_route_risk`]) |
//! | `AUTHORIZER_PERMISSIONS_TIMEOUT` | `2s` | the most time spent reading permissions before denying (a duration such as `500ms` or `2s`) |
//! | `CLEARANCE_ROLES` | `Standard,Manager,Admin` | roles, lowest first |
//! | `CLAIM_PERM_VER` | `perm_ver` | the claim holding the permission version the trigger minted the token at |
//! | `CHECK_PERM_VER` | `true` | refuse (401 `stale-permissions`) a token whose permission version is below the user's current one; `false` turns the check off |
//!
//! `AUTHORIZER_PERMISSIONS_TIMEOUT_MS` (a number of milliseconds), the former name of
//! `AUTHORIZER_PERMISSIONS_TIMEOUT`, still works and logs a deprecation warning; setting both is
//! an error. Variables are read through [`clearance_core::env`]: trimmed, empty as unset.
//!
//! Token verification reads `COGNITO_USER_POOL_ID` / `JWT_ISSUER` / ... (`clearance_core::jwt`);
//! the permissions source reads `PERMISSIONS_SOURCE` / `PERMISSIONS_API_URL` / `TABLE_NAME` / ...
//! (`clearance_core::source::env`).

use std::time::Duration;

use clearance_core::env::{Env, Unit};

use crate::handler::AuthorizerConfig;
use crate::policy::HttpResponseFormat;
use crate::rules::Rules;

/// A setting that cannot be used, naming the variable (the one error of every Lambda's settings).
pub use clearance_core::env::ConfigError;

/// The most time spent reading permissions before denying (a duration).
pub const PERMISSIONS_TIMEOUT: &str = "AUTHORIZER_PERMISSIONS_TIMEOUT";
/// The former name of [`PERMISSIONS_TIMEOUT`], in milliseconds; deprecated.
pub const PERMISSIONS_TIMEOUT_MS: &str = "AUTHORIZER_PERMISSIONS_TIMEOUT_MS";

/// The claim the trigger writes the permission version into, unless `CLAIM_PERM_VER` names
/// another.
pub const DEFAULT_PERM_VER_CLAIM: &str = "perm_ver";

impl AuthorizerConfig {
    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let rules_json = match (
            env.get("AUTHORIZER_RULES"),
            env.get("AUTHORIZER_RULES_FILE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::bad(
                    "AUTHORIZER_RULES",
                    "set AUTHORIZER_RULES or AUTHORIZER_RULES_FILE, not both",
                ));
            }
            (Some(json), None) => json,
            (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::bad("AUTHORIZER_RULES_FILE", format!("cannot read {path}: {e}"))
            })?,
            (None, None) => {
                return Err(ConfigError::bad(
                    "AUTHORIZER_RULES",
                    "no rules: set AUTHORIZER_RULES (JSON) or AUTHORIZER_RULES_FILE; without rules every request would be denied",
                ));
            }
        };
        let rules =
            Rules::from_json(&rules_json).map_err(|e| ConfigError::bad("AUTHORIZER_RULES", e))?;
        let roles = env.roles()?;
        for rule in &rules.rules {
            if let Some(role) = &rule.requirement.role
                && roles.rank_of(role).is_none()
            {
                return Err(ConfigError::bad(
                    "AUTHORIZER_RULES",
                    format!(
                        "rule {} {} requires role {role:?}, which is not one of the configured roles ({})",
                        rule.method,
                        rule.path,
                        roles.roles().join(", ")
                    ),
                ));
            }
        }
        let http_format = match env.get("AUTHORIZER_HTTP_RESPONSE").as_deref() {
            None | Some("iam") => HttpResponseFormat::Iam,
            Some("simple") => HttpResponseFormat::Simple,
            Some(other) => {
                return Err(ConfigError::bad(
                    "AUTHORIZER_HTTP_RESPONSE",
                    format!("must be simple or iam, got {other:?}"),
                ));
            }
        };
        let permissions_timeout = env
            .duration_or_deprecated(PERMISSIONS_TIMEOUT, PERMISSIONS_TIMEOUT_MS, Unit::Millis)?
            .map_or(Duration::from_secs(2), |found| found.value);
        let perm_ver_claim = match env.bool("CHECK_PERM_VER")?.unwrap_or(true) {
            true => Some(
                env.get("CLAIM_PERM_VER")
                    .unwrap_or_else(|| DEFAULT_PERM_VER_CLAIM.into()),
            ),
            false => None,
        };
        let token_cache = env
            .number::<u64>("AUTHORIZER_TOKEN_CACHE")?
            .unwrap_or(crate::handler::DEFAULT_TOKEN_CACHE);
        Ok(Self {
            token_cache,
            perm_ver_claim,
            token_header: env
                .get("AUTHORIZER_TOKEN_HEADER")
                .unwrap_or_else(|| "Authorization".into()),
            rules,
            roles,
            http_format,
            permissions_timeout,
        })
    }
}

impl AuthorizerConfig {
    /// When HTTP API answers are simple (`{"isAuthorized": true}`, chosen explicitly), API Gateway
    /// reuses a cached answer for every route of the API: the warning to log at start-up, unless
    /// the rules make every decision route-independent.
    pub fn cross_route_risk(&self) -> Option<String> {
        (self.http_format == HttpResponseFormat::Simple && !self.rules.route_independent()).then(|| {
            "AUTHORIZER_HTTP_RESPONSE=simple: a simple answer names no route, so with an authorizer result TTL above 0 API Gateway reuses one caller's Allow for every route of the API, including routes these rules deny; use iam (the default), or set the HTTP API authorizer's result TTL to 0, or add the route ($context.routeKey) to its identity sources".to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<AuthorizerConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthorizerConfig::from_lookup(|k| map.get(k).cloned())
    }

    const RULES: &str = r#"{"rules": [{"method": "GET", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true}]}"#;

    #[test]
    fn rules_are_required_and_checked_against_the_roles() {
        assert_eq!(from(&[]).unwrap_err().variable, "AUTHORIZER_RULES");
        let config = from(&[("AUTHORIZER_RULES", RULES)]).unwrap();
        assert_eq!(config.rules.rules.len(), 1);
        assert_eq!(config.token_header, "Authorization");
        assert_eq!(config.http_format, HttpResponseFormat::Iam);
        assert!(config.cross_route_risk().is_none());
        let err = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("CLEARANCE_ROLES", "Viewer,Owner"),
        ])
        .unwrap_err();
        assert!(err.problem.contains("\"Standard\""), "{err}");
        assert_eq!(
            from(&[
                ("AUTHORIZER_RULES", RULES),
                ("AUTHORIZER_HTTP_RESPONSE", "xml")
            ])
            .unwrap_err()
            .variable,
            "AUTHORIZER_HTTP_RESPONSE"
        );
        let simple = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("AUTHORIZER_HTTP_RESPONSE", "simple"),
        ])
        .unwrap();
        assert_eq!(simple.http_format, HttpResponseFormat::Simple);
        assert!(
            simple
                .cross_route_risk()
                .unwrap()
                .contains("every route of the API")
        );
        assert_eq!(
            from(&[("AUTHORIZER_RULES_FILE", "/nonexistent/rules.json")])
                .unwrap_err()
                .variable,
            "AUTHORIZER_RULES_FILE"
        );
    }

    #[test]
    fn the_permissions_timeout_takes_a_duration_or_its_former_millisecond_name() {
        let default = from(&[("AUTHORIZER_RULES", RULES)]).unwrap();
        assert_eq!(default.permissions_timeout, Duration::from_secs(2));
        let new = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("AUTHORIZER_PERMISSIONS_TIMEOUT", "750ms"),
        ])
        .unwrap();
        assert_eq!(new.permissions_timeout, Duration::from_millis(750));
        let old = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("AUTHORIZER_PERMISSIONS_TIMEOUT_MS", "1500"),
        ])
        .unwrap();
        assert_eq!(old.permissions_timeout, Duration::from_millis(1500));
        let both = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("AUTHORIZER_PERMISSIONS_TIMEOUT", "1s"),
            ("AUTHORIZER_PERMISSIONS_TIMEOUT_MS", "1000"),
        ])
        .unwrap_err();
        assert_eq!(both.variable, "AUTHORIZER_PERMISSIONS_TIMEOUT");
        assert!(
            both.problem.contains("AUTHORIZER_PERMISSIONS_TIMEOUT_MS"),
            "{both}"
        );
        let bare = from(&[
            ("AUTHORIZER_RULES", RULES),
            ("AUTHORIZER_PERMISSIONS_TIMEOUT", "1500"),
        ])
        .unwrap_err();
        assert_eq!(bare.variable, "AUTHORIZER_PERMISSIONS_TIMEOUT");
    }
}
