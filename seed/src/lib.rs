//! Clearance's seed CLI: bulk import and export of users' permissions, and table creation.
//!
//! - [`cli`]: the subcommands and options (clap), their `--help`, and the exit statuses.
//! - [`input`]: reading JSON arrays, NDJSON and CSV into raw records, each with its line number.
//! - [`recover`]: which user an invalid record is for, read from broken text if need be, so that
//!   replace-all never deletes a user the file names.
//! - [`check`]: validating every record with the domain's rules, and finding duplicate ids.
//! - [`target`]: the embedded store, a DynamoDB table or the permissions API, written a batch at a
//!   time and read whole.
//! - [`api`]: the HTTP client for `--api`.
//! - [`import`]: the import command: validation first, batches in flight, Ctrl-C, the summary.
//! - [`export`]: the export command, sorted by id.
//! - [`output`]: the export formats, byte for byte deterministic.
//! - [`create_table`]: the DynamoDB table, idempotently.
//! - [`progress`]: a progress bar on a terminal, plain lines elsewhere.
//!
//! The bulk DynamoDB work (`BatchWriteItem` with unprocessed items retried, parallel scans) lives
//! in `clearance_core::store::dynamodb`, with the rest of the item mapping.

pub mod api;
pub mod check;
pub mod cli;
pub mod create_table;
pub mod export;
pub mod import;
pub mod input;
pub mod output;
pub mod progress;
pub mod recover;
pub mod target;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, exit};

/// Parses the command line, runs the command and returns its exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are not errors; a bad command line wrote nothing.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::NOTHING_WRITTEN
            } else {
                exit::OK
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::NOTHING_WRITTEN);
        }
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Import(args) => import::run(args).await,
            Command::Export(args) => export::run(args).await,
            Command::CreateTable(args) => create_table::run(args).await,
        }
    });
    ExitCode::from(status)
}

pub use clearance_core::report::error_chain;
