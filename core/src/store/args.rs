//! Which store to open, as command-line flags and environment variables: defined once for every
//! binary that opens the store (the permissions API and the seed CLI `#[command(flatten)]`
//! [`StoreLocation`] into their own store settings, beside
//! [`DynamoArgs`](super::dynamodb::args::DynamoArgs)).

use std::path::PathBuf;

/// Where permissions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// redb files in `--data-dir` (the default outside Lambda).
    Embedded,
    /// A DynamoDB table (the permissions API's default on Lambda).
    Dynamodb,
}

/// The kind of store and the embedded store's directory.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreLocation {
    /// Where permissions are kept [default: embedded; the permissions API on AWS Lambda:
    /// dynamodb].
    #[arg(long = "store", env = "CLEARANCE_STORE", value_enum)]
    pub store: Option<StoreKind>,

    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "CLEARANCE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl StoreLocation {
    /// The store chosen: as set, else `default`.
    pub fn kind_or(&self, default: StoreKind) -> StoreKind {
        self.store.unwrap_or(default)
    }
}
