//! The command line: subcommands, options and their `--help` text (clap derive).
//!
//! The store options have the same flags and environment variables as the service's (`--store`,
//! `--data-dir`, `--table`, `--region`, `--dynamodb-endpoint-url`, the DynamoDB timeouts), so one
//! environment configures both; only the defaults of the timeouts differ, since bulk work needs
//! longer ones than an API request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clearance_core::domain::RoleOrder;

/// The exit statuses, as `--help` documents them.
pub mod exit {
    /// Everything was done and confirmed.
    pub const OK: u8 = 0;
    /// Nothing was written: invalid input or options, a refused confirmation, or a target that
    /// could not be opened.
    pub const NOTHING_WRITTEN: u8 = 1;
    /// Some writes failed or were not confirmed (the summary names the ids).
    pub const PARTIAL: u8 = 2;
    /// Stopped by Ctrl-C (the summary says what was written).
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0    everything was done and confirmed
  1    nothing was written: invalid input or options, a refused confirmation, or a target that
       could not be opened
  2    some writes failed or were not confirmed (the summary names the ids)
  130  stopped by Ctrl-C (the summary says what was written)";

const IMPORT_HELP: &str = "\
Formats (from --format, else from the file's extension: .json, .ndjson or .jsonl, .csv):
  json    one array of records: [{\"id\": \"u1\", \"companies\": [\"1111\"], \"role\": \"Manager\"}, ...]
  ndjson  one record (a JSON object) per line; blank lines are ignored
  csv     a header line naming the columns id, companies and role (in any order), then one record
          per line; companies are separated by ';' (a;b;c), an empty field is no companies, and
          spaces around fields are ignored
JSON records may also carry version, updatedAt and updatedBy (as `export` from the API would
show them): these are ignored, since the import sets them itself. Any other field is an error.

Validation: every record is checked with the service's rules (ids, companies, the configured roles)
before anything is written. Each invalid record is reported with its line number (in a JSON array,
the line its record starts on; in CSV, the physical line, the header being line 1). An id that
appears twice is an error naming both lines; the first occurrence is kept; a JSON record that
repeats its \"id\" field is invalid. Nothing is written unless every record is valid, or
--skip-invalid is given.

Modes:
  upsert       create or replace every user in the file (the default)
  insert-only  create the users that do not exist yet; existing ones are left untouched and listed
  replace-all  upsert, then delete every stored user whose id is not in the file; asks for
               confirmation on a terminal, or needs --yes. Deletions are only made when every
               write succeeded. A user the file names is never deleted, even by an invalid record
               (see below).

replace-all with --skip-invalid: each invalid record still protects the user it names, found as
well as it can be: the \"id\" of a JSON record whatever else is wrong with it (a number counts as
written: 7 is the user \"7\"); an \"id\": \"...\" pair in an NDJSON line that is not JSON, such as a
line cut short after its id; the id column of a CSV row whose other fields are bad or not UTF-8.
An id that breaks the id rules still counts. Such a user is neither written nor deleted: it is kept
as it is, and the summary lists it (\"kept\"). When the user of an invalid record cannot be told (no
id, an id cut short, an id that is not UTF-8, true, null, an object or an array, a CSV row whose
fields do not line up with the header), replace-all names each such line and refuses before
writing anything (exit status 1): fix those lines or remove them. upsert and insert-only delete
nothing: they write the valid records and skip the rest, as usual.

Targets:
  --store embedded  the redb store in --data-dir (the service must not be running on it),
                    written in id order, 100,000 records to a transaction, one at a time (one
                    fsynced commit each, all or nothing per transaction)
  --store dynamodb  the DynamoDB table: BatchWriteItem in chunks of 25, --concurrency requests in
                    flight; writes DynamoDB leaves unprocessed are sent again with jittered
                    exponential backoff until confirmed or --max-retry-time passes. Versions are
                    kept growing: each chunk's stored versions are read first (BatchGetItem) and
                    version + 1 is written (1 for a new user). That read and the write are not
                    atomic: a change made by another writer in between is overwritten, and
                    insert-only may overwrite a user created in between. BatchWriteItem replaces
                    whole items, so attributes other tools keep on an item are dropped.
  --api URL         the permissions API: PUT /users/{id} per record (If-None-Match: * for
                    insert-only); replace-all is refused, since the API cannot list every user.
Written items get updatedAt = now and updatedBy = seed-cli.

Progress: a progress bar with rate and ETA on a terminal; otherwise a plain line every few seconds.
At the end a summary: read, valid, written, skipped, failed, deleted and kept (replace-all), time
and rate. Ctrl-C stops sending new batches, waits for those in flight, reports what was written and
exits with 130 (a second Ctrl-C stops at once; the writes in flight are then not confirmed).

Examples:
  clearance-seed import seed/data/users.json
  clearance-seed import users.csv --store dynamodb --table permissions --concurrency 16
  clearance-seed import users.ndjson --mode insert-only --api https://perms.example.com
  clearance-seed import - --format ndjson --dry-run < users.ndjson";

const EXPORT_HELP: &str = "\
The output holds only id, companies and role (what `import` reads), one user per line, sorted by
id, with fixed formatting, so `export`, then `import` into an empty store, then `export` again gives
byte-identical files. version, updatedAt and updatedBy are not exported: an import sets them.

Formats (from --format, else from the output's extension; json when writing to standard output):
  json    [\\n  {\"id\": \"u1\", \"companies\": [\"1111\"], \"role\": \"Manager\"},\\n  ...\\n]
  ndjson  one {\"id\": ..., \"companies\": [...], \"role\": ...} per line
  csv     id,companies,role header; companies joined with ';'

The permissions API has no endpoint that lists every user, so export reads a store directly.

Examples:
  clearance-seed export -o users.json
  clearance-seed export --store dynamodb --table permissions --segments 8 -o users.csv";

/// Clearance's seed CLI.
#[derive(Debug, Parser)]
#[command(
    name = "clearance-seed",
    version,
    about = "Load users' permissions into Clearance, export them, and create the DynamoDB table.",
    after_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a file of users' permissions, then write it to a store or through the API.
    #[command(after_long_help = format!("{IMPORT_HELP}\n\n{EXIT_STATUS_HELP}"))]
    Import(ImportArgs),
    /// Write every user's permissions to a file (JSON, NDJSON or CSV), sorted by id.
    #[command(after_long_help = format!("{EXPORT_HELP}\n\n{EXIT_STATUS_HELP}"))]
    Export(ExportArgs),
    /// Create the DynamoDB table (key `id`, a string; on-demand billing) unless it exists, and wait
    /// until it is active. An existing table with another key schema is an error.
    #[command(after_help = EXIT_STATUS_HELP)]
    CreateTable(CreateTableArgs),
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON array of records.
    Json,
    /// One JSON record per line (also .jsonl).
    Ndjson,
    /// Comma-separated values with an `id,companies,role` header; companies joined with ';'.
    Csv,
}

impl Format {
    /// The format a file's extension names, if any.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Self::Json),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// How an import treats users that exist already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Create or replace every user in the file.
    Upsert,
    /// Create only the users that do not exist yet; leave existing ones untouched (and list them).
    InsertOnly,
    /// Upsert, then delete every stored user whose id is not in the file (needs --yes or a
    /// confirmation).
    ReplaceAll,
}

/// `import`'s options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read; `-` reads standard input (then --format is needed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The file's format [default: from the extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// What to do with users that exist already.
    #[arg(long, value_enum, default_value = "upsert")]
    pub mode: Mode,

    /// Do not ask before replace-all deletes users (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Write the valid records even if some are invalid (the invalid ones are listed, not
    /// written).
    #[arg(long)]
    pub skip_invalid: bool,

    /// Read and validate only: nothing is written. With replace-all, also list how many users
    /// would be deleted (this reads the target).
    #[arg(long)]
    pub dry_run: bool,

    /// No progress and no summary; invalid records and failures are still reported.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// How many batches are written at once (of 25 users for DynamoDB and the API; the embedded
    /// store writes one transaction of 100,000 at a time, whatever this says).
    #[arg(long, env = "CLEARANCE_SEED_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// How long one batch keeps retrying writes that were not confirmed (DynamoDB's
    /// UnprocessedItems, throttling, an unavailable API) before its ids are reported not written.
    #[arg(long, env = "CLEARANCE_SEED_MAX_RETRY_TIME", default_value = "60s", value_parser = humantime::parse_duration)]
    pub max_retry_time: Duration,

    /// The roles, lowest first, comma-separated (case-sensitive); the service's setting.
    #[arg(long, env = "CLEARANCE_ROLES", default_value = "Standard,Manager,Admin", value_parser = clearance_core::env::parse_roles)]
    pub roles: RoleOrder,

    /// Write through the permissions API at this base URL instead of to a store.
    #[arg(long, env = "CLEARANCE_API_URL", value_name = "URL", value_parser = parse_api_url)]
    pub api: Option<reqwest::Url>,

    /// A bearer token sent with every API request (`Authorization: Bearer ...`).
    #[arg(
        long,
        env = "CLEARANCE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub bearer_token: Option<String>,

    /// The store to write to, unless --api is given.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `export`'s options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write; `-` is standard output.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "-")]
    pub output: PathBuf,

    /// The output's format [default: from the extension; json on standard output].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// How many DynamoDB scan segments are read at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub segments: u32,

    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// The store to read.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `create-table`'s options.
#[derive(Debug, Args)]
pub struct CreateTableArgs {
    /// The DynamoDB table to create.
    #[command(flatten)]
    pub dynamo: DynamoArgs,
}

/// The store options, named as the service names them.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Store")]
pub struct StoreArgs {
    /// Which store, and the embedded store's directory.
    #[command(flatten)]
    pub location: StoreLocation,

    /// The DynamoDB table and how to reach it.
    #[command(flatten)]
    pub dynamo: DynamoArgs,
}

pub use clearance_core::store::args::{StoreKind, StoreLocation};
/// The DynamoDB options: the flags the permissions API takes too, with defaults that suit bulk
/// work (`clearance_core::store::dynamodb::args`).
pub use clearance_core::store::dynamodb::args::DynamoArgs;

impl StoreArgs {
    /// The store chosen: as set, else the embedded store.
    pub fn kind(&self) -> StoreKind {
        self.location.kind_or(StoreKind::Embedded)
    }
}

fn parse_api_url(raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http or https URL, got {:?}",
            url.scheme()
        ));
    }
    if url.cannot_be_a_base() || url.query().is_some() {
        return Err("must be a base URL, without a query".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(
            Format::from_extension(Path::new("a.JSON")),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_extension(Path::new("a.jsonl")),
            Some(Format::Ndjson)
        );
        assert_eq!(
            Format::from_extension(Path::new("a.ndjson")),
            Some(Format::Ndjson)
        );
        assert_eq!(
            Format::from_extension(Path::new("dir/a.csv")),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_extension(Path::new("a.txt")), None);
        assert_eq!(Format::from_extension(Path::new("-")), None);
    }

    #[test]
    fn api_urls_must_be_http_bases() {
        assert!(parse_api_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_api_url("https://x.example.com/prod").is_ok());
        assert!(parse_api_url("ftp://x").is_err());
        assert!(parse_api_url("http://x/?a=1").is_err());
        assert!(parse_api_url("not a url").is_err());
    }

    #[test]
    fn dynamodb_needs_a_table() {
        let cli = Cli::try_parse_from(["clearance-seed", "export", "--store", "dynamodb"]).unwrap();
        let Command::Export(args) = cli.command else {
            panic!("not export")
        };
        assert!(
            args.store
                .dynamo
                .settings(clearance_core::store::dynamodb::args::DynamoDefaults::BULK)
                .unwrap_err()
                .contains("--table")
        );
    }
}
