//! Settings, read once at start-up from flags and environment variables (each flag names its
//! variable in `--help`). A bad value stops the process with a message naming the setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};
use clearance_core::cache::CacheSettings;
use clearance_core::domain::RoleOrder;

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
    /// Address to listen on. A non-loopback address needs --insecure-allow-remote while the API
    /// runs without authentication.
    #[arg(long, env = "CLEARANCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Allow listening on a non-loopback address without authentication (logs a warning).
    #[arg(long, env = "CLEARANCE_INSECURE_ALLOW_REMOTE")]
    pub insecure_allow_remote: bool,

    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "CLEARANCE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Load the sample users from seed/data/users.json when the embedded store is empty.
    #[arg(long, env = "CLEARANCE_SAMPLE_DATA", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub sample_data: bool,

    /// How long a user's permissions are served from the cache, counted from the store read
    /// (e.g. 30s, 500ms; 0s turns the cache off).
    #[arg(long, env = "CLEARANCE_CACHE_TTL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub cache_ttl: Duration,

    /// How long "no such user" is served from the cache.
    #[arg(long, env = "CLEARANCE_CACHE_NEGATIVE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub cache_negative_ttl: Duration,

    /// The most users the cache holds.
    #[arg(long, env = "CLEARANCE_CACHE_CAPACITY", default_value_t = 100_000)]
    pub cache_capacity: u64,

    /// The roles, lowest first, comma-separated (case-sensitive).
    #[arg(long, env = "CLEARANCE_ROLES", default_value = "Standard,Manager,Admin", value_parser = parse_roles)]
    pub roles: RoleOrder,

    /// Log format (default: json on Lambda, text elsewhere).
    #[arg(long, env = "CLEARANCE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

fn parse_roles(list: &str) -> Result<RoleOrder, String> {
    RoleOrder::parse_list(list).map_err(|e| e.to_string())
}

impl Settings {
    /// Settings for tests and embedding: defaults, with the embedded store in `data_dir`, listening
    /// on a free loopback port.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut settings = Self::parse_from(["clearance-service"]);
        settings.data_dir = data_dir.into();
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings
    }

    /// Whether the process runs inside AWS Lambda.
    pub fn on_lambda() -> bool {
        std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
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
        })
    }

    /// Refuses a listen address the current authentication does not allow.
    pub fn check_listen(&self) -> Result<(), String> {
        if self.listen.ip().is_loopback() {
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
             or pass --insecure-allow-remote (CLEARANCE_INSECURE_ALLOW_REMOTE=true)",
            self.listen
        ))
    }
}
