//! `export`: every user of a store, sorted by id, as JSON, NDJSON or CSV.
//!
//! Sorting by id and the fixed formatting of [`crate::output`] make the output a function of the
//! stored ids, companies and roles alone, so export → import into an empty store → export gives
//! the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use crate::cli::{ExportArgs, Format, exit};
use crate::output;
use crate::target::Target;

/// Runs `export`; returns the exit status.
pub async fn run(args: ExportArgs) -> u8 {
    let started = Instant::now();
    let to_stdout = args.output == Path::new("-");
    let format = match args.format.or_else(|| Format::from_extension(&args.output)) {
        Some(format) => format,
        None if to_stdout => Format::Json,
        None => {
            eprintln!(
                "error: cannot tell the format of {}: pass --format json, ndjson or csv (or use \
                 a .json, .ndjson, .jsonl or .csv file)",
                args.output.display()
            );
            return exit::NOTHING_WRITTEN;
        }
    };
    let target = match Target::open_store(&args.store, true).await {
        Ok(target) => target,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::NOTHING_WRITTEN;
        }
    };
    let users = match target.all_users(args.segments).await {
        Ok(users) => users,
        Err(message) => {
            eprintln!("error: reading {}: {message}", target.describe());
            return exit::NOTHING_WRITTEN;
        }
    };
    let written = if to_stdout {
        let mut out = BufWriter::new(std::io::stdout().lock());
        output::write(format, &users, &mut out).and_then(|()| out.flush())
    } else {
        File::create(&args.output).and_then(|file| {
            let mut out = BufWriter::new(file);
            output::write(format, &users, &mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()
        })
    };
    let name = if to_stdout {
        "standard output".to_owned()
    } else {
        args.output.display().to_string()
    };
    if let Err(err) = written {
        eprintln!("error: writing {name}: {err}");
        return exit::NOTHING_WRITTEN;
    }
    if !args.quiet {
        eprintln!(
            "exported {} users from {} to {name} in {:.2} s",
            users.len(),
            target.describe(),
            started.elapsed().as_secs_f64()
        );
    }
    exit::OK
}
