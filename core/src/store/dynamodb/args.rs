//! The DynamoDB settings as command-line flags and environment variables, defined once for every
//! binary that opens the table (the permissions API and the seed CLI `#[command(flatten)]` them),
//! with the defaults each one needs: a server answers requests and gives up fast, a bulk tool
//! waits longer (see [`DynamoDefaults`]).

use std::time::Duration;

use super::DynamoSettings;
use crate::env::parse_positive_duration;

/// The DynamoDB table and how to reach it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DynamoArgs {
    /// The DynamoDB table (required with --store dynamodb).
    #[arg(long, env = "TABLE_NAME", value_name = "NAME", value_parser = parse_table_name)]
    pub table: Option<String>,

    /// The table's AWS region [default: the SDK's chain: AWS_REGION, then the profile's region].
    #[arg(long, env = "AWS_REGION", value_parser = parse_non_empty)]
    pub region: Option<String>,

    /// Another DynamoDB endpoint than AWS's, e.g. a local dynalite (http://127.0.0.1:4567).
    #[arg(long, env = "DYNAMODB_ENDPOINT_URL", value_name = "URL", value_parser = parse_endpoint_url)]
    pub dynamodb_endpoint_url: Option<String>,

    /// How long one DynamoDB attempt (connect, send, receive) may take before it is retried
    /// [default: 300ms in the permissions API, 10s in the seed CLI].
    #[arg(long, env = "CLEARANCE_DYNAMODB_ATTEMPT_TIMEOUT", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub dynamodb_attempt_timeout: Option<Duration>,

    /// How long one DynamoDB call may take in all, retries included; then the permissions API
    /// answers 503 with Retry-After [default: 1500ms in the permissions API, 30s in the seed CLI].
    #[arg(long, env = "CLEARANCE_DYNAMODB_TIMEOUT", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub dynamodb_timeout: Option<Duration>,

    /// How many times one DynamoDB call is tried in all, the first attempt included (1-10)
    /// [default: 3 in the permissions API, 5 in the seed CLI].
    #[arg(long, env = "CLEARANCE_DYNAMODB_MAX_ATTEMPTS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub dynamodb_max_attempts: Option<u32>,
}

/// The timeouts and attempts a binary uses unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoDefaults {
    /// One attempt's time.
    pub attempt_timeout: Duration,
    /// One call's time, retries included.
    pub total_timeout: Duration,
    /// Attempts per call.
    pub max_attempts: u32,
}

impl DynamoDefaults {
    /// A server answering requests: DynamoDB answers in milliseconds, so a slow attempt is better
    /// retried, and a call gives up well inside API Gateway's and the Lambda's limits.
    pub const SERVER: Self = Self {
        attempt_timeout: DynamoSettings::DEFAULT_ATTEMPT_TIMEOUT,
        total_timeout: DynamoSettings::DEFAULT_TOTAL_TIMEOUT,
        max_attempts: DynamoSettings::DEFAULT_MAX_ATTEMPTS,
    };

    /// A bulk tool: batches of 25 writes under throttling take longer, and nobody waits on one.
    pub const BULK: Self = Self {
        attempt_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(30),
        max_attempts: 5,
    };
}

impl DynamoArgs {
    /// The DynamoDB store's settings with `defaults` for what is not set, or which setting is
    /// missing or does not fit with the others.
    pub fn settings(&self, defaults: DynamoDefaults) -> Result<DynamoSettings, String> {
        let Some(table) = &self.table else {
            return Err(
                "the DynamoDB store needs a table: pass --table NAME or set TABLE_NAME".into(),
            );
        };
        let attempt_timeout = self
            .dynamodb_attempt_timeout
            .unwrap_or(defaults.attempt_timeout);
        let total_timeout = self.dynamodb_timeout.unwrap_or(defaults.total_timeout);
        if total_timeout < attempt_timeout {
            return Err(format!(
                "--dynamodb-timeout (CLEARANCE_DYNAMODB_TIMEOUT, {}) must be at least \
                 --dynamodb-attempt-timeout (CLEARANCE_DYNAMODB_ATTEMPT_TIMEOUT, {})",
                humantime::format_duration(total_timeout),
                humantime::format_duration(attempt_timeout),
            ));
        }
        Ok(DynamoSettings {
            table: table.clone(),
            region: self.region.clone(),
            endpoint_url: self.dynamodb_endpoint_url.clone(),
            max_attempts: self.dynamodb_max_attempts.unwrap_or(defaults.max_attempts),
            attempt_timeout,
            total_timeout,
        })
    }
}

fn parse_non_empty(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(value.to_owned())
}

/// A table name as DynamoDB accepts it (3-255 of `A-Za-z0-9_.-`), or a table ARN.
fn parse_table_name(value: &str) -> Result<String, String> {
    if value.starts_with("arn:") && value.len() <= 1024 {
        return Ok(value.to_owned());
    }
    if !(3..=255).contains(&value.len()) {
        return Err(format!(
            "a DynamoDB table name has 3 to 255 characters, {value:?} has {}",
            value.chars().count()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "a DynamoDB table name may contain only A-Z, a-z, 0-9 and _ . - (found {bad:?} in {value:?})"
        ));
    }
    Ok(value.to_owned())
}

fn parse_endpoint_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(value.to_owned()),
        _ => Err(format!(
            "must be an http:// or https:// URL such as http://127.0.0.1:4567, got {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn args(argv: &[&str]) -> DynamoArgs {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            dynamo: DynamoArgs,
        }
        let mut all = vec!["test"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all).expect("parses").dynamo
    }

    #[test]
    fn each_binary_gets_its_own_defaults_and_the_flags_win() {
        let unset = args(&["--table", "permissions"]);
        let server = unset.settings(DynamoDefaults::SERVER).unwrap();
        assert_eq!(server.attempt_timeout, Duration::from_millis(300));
        assert_eq!(server.max_attempts, 3);
        let bulk = unset.settings(DynamoDefaults::BULK).unwrap();
        assert_eq!(bulk.total_timeout, Duration::from_secs(30));
        let set = args(&[
            "--table",
            "permissions",
            "--dynamodb-attempt-timeout",
            "2s",
            "--dynamodb-timeout",
            "5s",
            "--dynamodb-max-attempts",
            "7",
        ]);
        for defaults in [DynamoDefaults::SERVER, DynamoDefaults::BULK] {
            let s = set.settings(defaults).unwrap();
            assert_eq!(
                (s.attempt_timeout, s.total_timeout, s.max_attempts),
                (Duration::from_secs(2), Duration::from_secs(5), 7)
            );
        }
    }

    #[test]
    fn missing_or_contradictory_settings_are_named() {
        let err = args(&[]).settings(DynamoDefaults::SERVER).unwrap_err();
        assert!(
            err.contains("--table") && err.contains("TABLE_NAME"),
            "{err}"
        );
        let err = args(&["--table", "tbl", "--dynamodb-timeout", "100ms"])
            .settings(DynamoDefaults::SERVER)
            .unwrap_err();
        assert!(err.contains("--dynamodb-timeout"), "{err}");
        assert!(parse_table_name("ab").is_err());
        assert!(parse_table_name("clearance-permissions_v1.0").is_ok());
        assert!(parse_table_name("arn:aws:dynamodb:eu-west-1:123456789012:table/p").is_ok());
        assert!(parse_endpoint_url("http://127.0.0.1:4567").is_ok());
        assert!(parse_positive_duration("250ms").is_ok());
        assert!(parse_table_name("a b c").is_err());
        assert!(parse_endpoint_url("localhost:4567").is_err());
        assert!(parse_positive_duration("0s").is_err());
    }
}
