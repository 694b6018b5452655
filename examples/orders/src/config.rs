//! Settings, read once at start-up.
//!
//! Flags (each also an environment variable) say where to listen and which roles exist. The
//! verifier and the permissions source read their own environment variables, as the Lambdas do:
//!
//! - verifier: `JWT_ISSUER` (any OIDC issuer) or `COGNITO_USER_POOL_ID`, with `JWT_CLIENT_IDS`,
//!   `JWT_TOKEN_USE`, `JWT_JWKS_URL`, ... (see `clearance_core::jwt`);
//! - permissions source: `PERMISSIONS_SOURCE` (`api`, the default, or `dynamodb`), then
//!   `PERMISSIONS_API_URL`, ... or `TABLE_NAME`, ... (see `clearance_core::source::env`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use clearance_core::domain::RoleOrder;

/// The variable Lambda sets for its runtime API: when present, the service runs under
/// `lambda_http`.
pub const LAMBDA_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// How long a request waits for the caller's permissions unless told otherwise.
pub const DEFAULT_PERMISSIONS_TIMEOUT: Duration = Duration::from_secs(3);

/// The variables that configure a token verifier; with none set, no bearer token is accepted.
const VERIFIER_SETTINGS: [&str; 3] = ["JWT_ISSUER", "COGNITO_USER_POOL_ID", "CLEARANCE_CONFIG"];

/// The orders API's settings.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "orders-api",
    version,
    about = "An example orders API protected by Clearance (a plain server, or AWS Lambda when AWS_LAMBDA_RUNTIME_API is set)"
)]
pub struct Settings {
    /// The address to listen on (plain server only).
    #[arg(long, env = "ORDERS_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// The roles, lowest first (as the permissions service's --roles).
    #[arg(
        long,
        env = "CLEARANCE_ROLES",
        default_value = "Standard,Manager,Admin",
        value_parser = clearance_core::env::parse_roles
    )]
    pub roles: RoleOrder,

    /// The longest wait for the caller's permissions before answering 503 (a duration such as
    /// `500ms` or `3s`) [default: 3s].
    #[arg(long, env = "ORDERS_PERMISSIONS_TIMEOUT", value_name = "DURATION", value_parser = clearance_core::env::parse_positive_duration, conflicts_with = "permissions_timeout_ms")]
    pub permissions_timeout: Option<Duration>,

    /// Deprecated: the former name of --permissions-timeout, a number of milliseconds.
    #[arg(long, env = "ORDERS_PERMISSIONS_TIMEOUT_MS", hide = true)]
    pub permissions_timeout_ms: Option<u64>,
}

impl Settings {
    /// The permissions timeout: as set, else [`DEFAULT_PERMISSIONS_TIMEOUT`]. The deprecated
    /// millisecond setting still works, with a warning naming its replacement.
    pub fn permissions_timeout(&self) -> Duration {
        if let Some(ms) = self.permissions_timeout_ms {
            tracing::warn!(
                "--permissions-timeout-ms (ORDERS_PERMISSIONS_TIMEOUT_MS) is deprecated: set \
                 --permissions-timeout (ORDERS_PERMISSIONS_TIMEOUT={ms}ms) instead"
            );
            return Duration::from_millis(ms.max(1));
        }
        self.permissions_timeout
            .unwrap_or(DEFAULT_PERMISSIONS_TIMEOUT)
    }
}

/// Whether the environment `lookup` gives is Lambda's.
pub fn on_lambda(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    clearance_core::telemetry::on_lambda(lookup)
}

/// Whether `lookup` configures a token verifier.
pub fn verifier_configured(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    VERIFIER_SETTINGS
        .iter()
        .any(|name| lookup(name).is_some_and(|v| !v.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_8081() {
        let settings = Settings::try_parse_from(["orders-api"]).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8081");
        assert_eq!(settings.roles, RoleOrder::default());
    }

    #[test]
    fn a_bad_role_list_names_the_flag() {
        let err = Settings::try_parse_from(["orders-api", "--roles", "A,A"]).unwrap_err();
        assert!(err.to_string().contains("--roles"), "{err}");
    }

    #[test]
    fn the_permissions_timeout_is_a_duration_defaulting_to_3s() {
        let default = Settings::try_parse_from(["orders-api"]).unwrap();
        assert_eq!(default.permissions_timeout(), Duration::from_secs(3));
        let set = Settings::try_parse_from(["orders-api", "--permissions-timeout", "750ms"]);
        assert_eq!(
            set.unwrap().permissions_timeout(),
            Duration::from_millis(750)
        );
        let zero = Settings::try_parse_from(["orders-api", "--permissions-timeout", "0s"]);
        assert!(zero.unwrap_err().to_string().contains("more than 0"));
    }

    #[test]
    fn the_former_millisecond_timeout_still_works_but_not_beside_the_new_one() {
        let old = Settings::try_parse_from(["orders-api", "--permissions-timeout-ms", "1500"]);
        assert_eq!(
            old.unwrap().permissions_timeout(),
            Duration::from_millis(1500)
        );
        let both = Settings::try_parse_from([
            "orders-api",
            "--permissions-timeout",
            "1s",
            "--permissions-timeout-ms",
            "1000",
        ]);
        assert!(both.is_err());
    }
}
