//! Settings, read once at start-up from flags and environment variables (each flag names its
//! variable in `--help`). A bad value stops the process with a message naming the setting.
//!
//! [`StoreArgs`] says which store and how to reach it; its DynamoDB flags are the ones the seed CLI
//! takes too (`clearance_core::store::dynamodb::args`). Settings only describe: opening the store
//! and creating the table is start-up's work (`crate::startup::open_store`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};
use clearance_core::cache::CacheSettings;
use clearance_core::domain::RoleOrder;
use clearance_core::store::cursor::CursorKey;
use clearance_core::store::dynamodb::{DynamoSettings, ScanBound};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (the default on Lambda).
    Json,
}

/// The permissions API's settings.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "clearance-service",
    version,
    about = "Clearance permissions API: which companies a user may act for, and in what role.",
    long_about = "Clearance permissions API: which companies a user may act for, and in what role.\n\n\
Runs as an HTTP server (default 127.0.0.1:8080, embedded store in ./data), or as an AWS Lambda \
function behind API Gateway when AWS_LAMBDA_RUNTIME_API is set."
)]
pub struct Settings {
    /// Address to listen on. Without authentication (--auth none) a non-loopback address needs
    /// --insecure-allow-remote.
    #[arg(long, env = "CLEARANCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Allow listening on a non-loopback address without authentication (logs a warning).
    #[arg(long, env = "CLEARANCE_INSECURE_ALLOW_REMOTE")]
    pub insecure_allow_remote: bool,

    /// Which store, and how to reach it.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Who may call: the authentication mode and its issuers.
    #[command(flatten)]
    pub auth: crate::http::auth::AuthArgs,

    /// The admin page at /admin and how it signs in.
    #[command(flatten)]
    pub admin: crate::http::admin::AdminArgs,

    /// Load the sample users from seed/data/users.json when the embedded store is empty (never
    /// into DynamoDB).
    #[arg(long, env = "CLEARANCE_SAMPLE_DATA", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub sample_data: bool,

    /// How long a user's permissions are served from the cache, counted from the store read
    /// (e.g. 30s, 500ms; 0s turns the cache off).
    #[arg(long, env = "CLEARANCE_CACHE_TTL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub cache_ttl: Duration,

    /// How long "no such user" is served from the cache.
    #[arg(long, env = "CLEARANCE_CACHE_NEGATIVE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub cache_negative_ttl: Duration,

    /// Refresh-ahead: an entry older than this is still served while one background read
    /// replaces it, so a hot user is never much older than this (0s turns it off; at or above
    /// the TTL it never happens).
    #[arg(long, env = "CLEARANCE_CACHE_REFRESH_AFTER", default_value = "4s", value_parser = humantime::parse_duration)]
    pub cache_refresh_after: Duration,

    /// Stale-if-error: how long past its TTL a found user's entry may still be served while the
    /// store fails (never "no such user"; 0s turns it off).
    #[arg(long, env = "CLEARANCE_CACHE_STALE_IF_ERROR", default_value = "60s", value_parser = humantime::parse_duration)]
    pub cache_stale_if_error: Duration,

    /// The most users the cache holds.
    #[arg(long, env = "CLEARANCE_CACHE_CAPACITY", default_value_t = 100_000)]
    pub cache_capacity: u64,

    /// The roles, lowest first, comma-separated (case-sensitive).
    #[arg(long, env = "CLEARANCE_ROLES", default_value = "Standard,Manager,Admin", value_parser = clearance_core::env::parse_roles)]
    pub roles: RoleOrder,

    /// Log format (default: json on Lambda, text elsewhere).
    #[arg(long, env = "CLEARANCE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// The secret that signs pagination cursors (HMAC-SHA-256): at least 32 bytes, the same on
    /// every instance of a deployment (e.g. from `openssl rand -base64 32`); prefer the variable
    /// to the flag, which other local users can see in the process list. Without it cursors are
    /// tagged with a key built into Clearance: corruption is detected, but anyone can make a
    /// cursor (which grants nothing the caller could not list anyway). Never logged.
    #[arg(
        long,
        env = "CLEARANCE_CURSOR_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub cursor_secret: Option<CursorSecret>,
}

/// A cursor secret as given. Not checked when parsed (a parse error would print the value), and
/// kept out of `Debug`; [`Settings::cursor_key`] checks it.
#[derive(Clone)]
pub struct CursorSecret(String);

impl From<String> for CursorSecret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for CursorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSecret(<redacted>)")
    }
}

impl Settings {
    /// Settings for tests and embedding: defaults, with the embedded store in `data_dir`, listening
    /// on a free loopback port.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut settings = Self::parse_from(["clearance-service"]);
        settings.store.location.store = Some(StoreKind::Embedded);
        settings.store.location.data_dir = data_dir.into();
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings
    }

    /// Whether the process runs inside AWS Lambda.
    pub fn on_lambda() -> bool {
        clearance_core::telemetry::on_lambda(|k| std::env::var(k).ok())
    }

    /// The log format to use.
    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(if Self::on_lambda() {
            LogFormat::Json
        } else {
            LogFormat::Text
        })
    }

    /// The cache settings, or `None` when the cache is off.
    pub fn cache(&self) -> Option<CacheSettings> {
        (!self.cache_ttl.is_zero()).then_some(CacheSettings {
            ttl: self.cache_ttl,
            negative_ttl: self.cache_negative_ttl.min(self.cache_ttl),
            capacity: self.cache_capacity,
            refresh_after: self.cache_refresh_after,
            stale_if_error: self.cache_stale_if_error,
        })
    }

    /// The key for pagination cursors: from `--cursor-secret` when set (refused, naming the
    /// setting but never showing the value, when shorter than
    /// [`CursorKey::MIN_SECRET_LEN`] bytes), else the built-in key.
    pub fn cursor_key(&self) -> Result<CursorKey, SettingError> {
        match &self.cursor_secret {
            Some(CursorSecret(secret)) => CursorKey::from_secret(secret.as_bytes()).map_err(|e| {
                SettingError(format!("--cursor-secret (CLEARANCE_CURSOR_SECRET): {e}"))
            }),
            None => Ok(CursorKey::built_in()),
        }
    }

    /// Refuses a listen address the current authentication does not allow.
    pub fn check_listen(&self) -> Result<(), String> {
        if self.listen.ip().is_loopback() || self.auth.mode != crate::http::auth::AuthMode::None {
            return Ok(());
        }
        if self.insecure_allow_remote {
            tracing::warn!(
                listen = %self.listen,
                "listening on a non-loopback address WITHOUT authentication: anyone who can reach it can read and change permissions"
            );
            return Ok(());
        }
        Err(format!(
            "refusing to listen on {} without authentication: use a loopback address (127.0.0.1) \
             or turn authentication on (--auth jwt), or pass --insecure-allow-remote \
             (CLEARANCE_INSECURE_ALLOW_REMOTE=true)",
            self.listen
        ))
    }
}

pub use clearance_core::store::args::{StoreKind, StoreLocation};

/// Which store to use and how to reach it: the flags every Clearance binary that opens the store
/// shares (`#[command(flatten)]` it into the binary's own settings).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Store")]
pub struct StoreArgs {
    /// Which store, and the embedded store's directory.
    #[command(flatten)]
    pub location: StoreLocation,

    /// Create the table (key `id`, a string; on-demand billing) if it does not exist, and wait
    /// until it is active. For development: in production the table belongs to infrastructure
    /// as code.
    #[arg(long, env = "CLEARANCE_CREATE_TABLE")]
    pub create_table: bool,

    /// The DynamoDB table and how to reach it.
    #[command(flatten)]
    pub dynamo: DynamoStoreArgs,
}

/// The DynamoDB table and how to reach it (the flags every binary that opens the table shares,
/// `clearance_core::store::dynamodb::args`), and how much of it one listing may read.
#[derive(Debug, Clone, clap::Args)]
pub struct DynamoStoreArgs {
    /// The table and how to reach it.
    #[command(flatten)]
    pub connection: clearance_core::store::dynamodb::args::DynamoArgs,

    /// The most Scan requests one company listing (GET /companies/{company}/users) makes before
    /// it answers with what it found and a cursor to go on (1-100).
    #[arg(long, env = "CLEARANCE_DYNAMODB_LIST_SCAN_PAGES", default_value_t = ScanBound::DEFAULT_PAGES, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub dynamodb_list_scan_pages: u32,

    /// The most table items one of those Scan requests reads (its Limit; DynamoDB also stops at
    /// 1 MB). One listing request reads at most pages x items (1-100000).
    #[arg(long, env = "CLEARANCE_DYNAMODB_LIST_SCAN_PAGE_ITEMS", default_value_t = ScanBound::DEFAULT_PAGE_ITEMS, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub dynamodb_list_scan_page_items: u32,
}

impl DynamoStoreArgs {
    /// How much of the table one company listing may read.
    pub fn scan_bound(&self) -> ScanBound {
        ScanBound {
            pages: self.dynamodb_list_scan_pages,
            page_items: self.dynamodb_list_scan_page_items,
        }
    }

    /// The DynamoDB store's settings (the permissions API's defaults for what is not set), or
    /// which setting is missing or wrong.
    pub fn settings(&self) -> Result<DynamoSettings, SettingError> {
        self.connection
            .settings(clearance_core::store::dynamodb::args::DynamoDefaults::SERVER)
            .map_err(SettingError)
    }
}

/// A setting that is missing, or does not fit with the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

impl StoreArgs {
    /// The store to use: as set, or else DynamoDB on Lambda and the embedded store elsewhere.
    pub fn kind(&self) -> StoreKind {
        self.location.kind_or(if Settings::on_lambda() {
            StoreKind::Dynamodb
        } else {
            StoreKind::Embedded
        })
    }

    /// Refuses settings that do not fit together, naming them; warns about DynamoDB settings that
    /// an embedded store ignores.
    pub fn check(&self) -> Result<(), SettingError> {
        match self.kind() {
            StoreKind::Embedded => {
                if self.create_table {
                    return Err(SettingError(
                        "--create-table (CLEARANCE_CREATE_TABLE) needs --store dynamodb \
                         (CLEARANCE_STORE=dynamodb): the embedded store has no table to create"
                            .into(),
                    ));
                }
                if let Some(table) = &self.dynamo.connection.table {
                    tracing::warn!(
                        table,
                        "--table (TABLE_NAME) is set but the store is embedded: it is ignored \
                         (pass --store dynamodb to use the table)"
                    );
                }
                Ok(())
            }
            StoreKind::Dynamodb => self.dynamo_settings().map(drop),
        }
    }

    /// The DynamoDB store's settings, or which setting is missing or wrong.
    pub fn dynamo_settings(&self) -> Result<DynamoSettings, SettingError> {
        self.dynamo.settings().map_err(|err| {
            if self.location.store.is_none() && self.dynamo.connection.table.is_none() {
                SettingError(format!(
                    "{err} (DynamoDB is the default store on AWS Lambda; \
                     --store embedded / CLEARANCE_STORE=embedded chooses the other)"
                ))
            } else {
                err
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_args(args: &[&str]) -> StoreArgs {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            store: StoreArgs,
        }
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("parses").store
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        Settings::command().debug_assert();
    }

    #[test]
    fn the_dynamodb_settings_come_from_the_flags() {
        let args = store_args(&[
            "--store",
            "dynamodb",
            "--table",
            "permissions",
            "--region",
            "eu-west-1",
            "--dynamodb-endpoint-url",
            "http://127.0.0.1:4567",
            "--dynamodb-attempt-timeout",
            "200ms",
            "--dynamodb-timeout",
            "1s",
            "--dynamodb-max-attempts",
            "5",
        ]);
        assert_eq!(args.kind(), StoreKind::Dynamodb);
        assert_eq!(
            args.dynamo_settings().unwrap(),
            DynamoSettings {
                table: "permissions".into(),
                region: Some("eu-west-1".into()),
                endpoint_url: Some("http://127.0.0.1:4567".into()),
                max_attempts: 5,
                attempt_timeout: Duration::from_millis(200),
                total_timeout: Duration::from_secs(1),
            }
        );
    }

    #[test]
    fn the_listing_scan_bound_comes_from_the_flags_or_the_stores_defaults() {
        let args = store_args(&["--table", "permissions"]);
        assert_eq!(args.dynamo.scan_bound(), ScanBound::default());
        let args = store_args(&[
            "--table",
            "permissions",
            "--dynamodb-list-scan-pages",
            "2",
            "--dynamodb-list-scan-page-items",
            "250",
        ]);
        assert_eq!(
            args.dynamo.scan_bound(),
            ScanBound {
                pages: 2,
                page_items: 250
            }
        );
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            store: StoreArgs,
        }
        assert!(Cli::try_parse_from(["test", "--dynamodb-list-scan-pages", "0"]).is_err());
    }

    #[test]
    fn a_short_cursor_secret_is_refused_naming_the_setting_not_the_value() {
        let mut settings = Settings::for_data_dir("unused");
        assert!(!settings.cursor_key().unwrap().is_secret());
        settings.cursor_secret = Some(CursorSecret::from("too-short-s3cret".to_owned()));
        let err = settings.cursor_key().unwrap_err().to_string();
        assert!(
            err.contains("--cursor-secret") && err.contains("CLEARANCE_CURSOR_SECRET"),
            "{err}"
        );
        assert!(!err.contains("too-short-s3cret"), "{err}");
        assert!(!format!("{settings:?}").contains("too-short-s3cret"));
        settings.cursor_secret = Some(CursorSecret::from("x".repeat(32)));
        assert!(settings.cursor_key().unwrap().is_secret());
    }

    #[test]
    fn the_timeout_defaults_are_the_stores() {
        let args = store_args(&["--table", "permissions"]);
        let settings = args.dynamo_settings().unwrap();
        let defaults = DynamoSettings::new("permissions");
        assert_eq!(settings.attempt_timeout, defaults.attempt_timeout);
        assert_eq!(settings.total_timeout, defaults.total_timeout);
        assert_eq!(settings.max_attempts, defaults.max_attempts);
    }

    #[test]
    fn dynamodb_without_a_table_names_the_flag_and_the_variable() {
        let mut args = store_args(&["--store", "dynamodb"]);
        args.dynamo.connection.table = None;
        let err = args.check().unwrap_err().to_string();
        assert!(
            err.contains("--table") && err.contains("TABLE_NAME"),
            "{err}"
        );
    }

    #[test]
    fn create_table_needs_the_dynamodb_store() {
        let args = store_args(&["--store", "embedded", "--create-table"]);
        let err = args.check().unwrap_err().to_string();
        assert!(err.contains("--create-table"), "{err}");
    }
}
