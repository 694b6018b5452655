//! `import`: read, validate everything, then write in batches, with progress, Ctrl-C and a summary.
//!
//! The order of work is what makes the promises of `--help` hold:
//! 1. refuse what cannot be done before reading anything (replace-all through the API);
//! 2. read and validate every record; report every invalid one; stop unless all are valid (or
//!    `--skip-invalid`); replace-all also stops, before writing anything, when an invalid record's
//!    user cannot be told (it may be a user replace-all would delete; see [`crate::recover`]);
//! 3. open the target; for replace-all, list the stored ids and ask before deleting; a user named
//!    only by invalid records is kept as it is (neither written nor deleted);
//! 4. write batches (of [`BATCH`] for DynamoDB and the API, of
//!    [`EMBEDDED_BATCH`](crate::target::EMBEDDED_BATCH) per embedded transaction, in id order:
//!    [`Target::batches`]) with `--concurrency` in flight (one for the embedded store, which has
//!    one writer: [`Target::concurrency`]); on Ctrl-C stop issuing batches and wait for those in
//!    flight (a second Ctrl-C stops waiting at once);
//! 5. replace-all only, and only if every write was confirmed: delete the ids not in the file;
//! 6. print the summary; the exit status says whether everything was confirmed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use clearance_core::domain::UserId;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;

use crate::api::ApiClient;
use crate::check::{self, Checked, Record};
use crate::cli::{Format, ImportArgs, Mode, exit};
use crate::input;
use crate::progress::Progress;
use crate::target::{BatchResult, NO_LISTING, Target, WriteMode};

/// Users per batch: one DynamoDB `BatchWriteItem`, or that many single writes elsewhere.
pub const BATCH: usize = clearance_core::store::dynamodb::BATCH_WRITE_CHUNK;
/// Parallel scan segments used to list the stored ids for replace-all.
const LIST_SEGMENTS: u32 = 4;
/// How many ids a confirmation prompt shows.
const PROMPT_SAMPLE: usize = 10;

/// Runs `import`; returns the exit status.
pub async fn run(args: ImportArgs) -> u8 {
    let started = Instant::now();
    if args.api.is_some() && args.mode == Mode::ReplaceAll {
        eprintln!("error: --mode replace-all cannot be used with --api: {NO_LISTING}");
        return exit::NOTHING_WRITTEN;
    }

    if args.api.is_some() && args.store.location.store.is_some() {
        eprintln!("note: --store (CLEARANCE_STORE) is ignored: writing through --api");
    }

    // Read and validate everything before touching the target.
    let name = if args.file == Path::new("-") {
        "standard input".to_owned()
    } else {
        args.file.display().to_string()
    };
    let Some(format) = args.format.or_else(|| Format::from_extension(&args.file)) else {
        eprintln!(
            "error: cannot tell the format of {name}: pass --format json, ndjson or csv \
             (or use a .json, .ndjson, .jsonl or .csv file)"
        );
        return exit::NOTHING_WRITTEN;
    };
    let bytes = match read_input(&args.file) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("error: cannot read {name}: {err}");
            return exit::NOTHING_WRITTEN;
        }
    };
    let entries = match input::parse(format, &bytes) {
        Ok(entries) => entries,
        Err(fatal) => {
            eprintln!("{name}: {fatal}");
            eprintln!("nothing was written");
            return exit::NOTHING_WRITTEN;
        }
    };
    drop(bytes);
    let mut checked = check::check(entries, &args.roles);
    for invalid in &checked.invalid {
        eprintln!("line {}: {}", invalid.line, invalid.reason);
    }
    if !checked.invalid.is_empty() {
        if !args.skip_invalid {
            eprintln!(
                "{} of {} records in {name} are invalid: nothing was written (fix them, or pass \
                 --skip-invalid to write the {} valid ones)",
                checked.invalid.len(),
                checked.read,
                checked.valid.len()
            );
            return exit::NOTHING_WRITTEN;
        }
        if args.mode == Mode::ReplaceAll && refuse_unnamed(&checked) {
            return exit::NOTHING_WRITTEN;
        }
        eprintln!(
            "{} invalid records are skipped (--skip-invalid)",
            checked.invalid.len()
        );
    }
    if args.dry_run && args.mode != Mode::ReplaceAll {
        print_dry_run(&args, &checked, &[], &[]);
        return exit::OK;
    }

    // Open the target; for replace-all, find what it would delete and ask.
    let target = match &args.api {
        Some(url) => ApiClient::new(url.clone(), args.bearer_token.as_deref())
            .map(Target::Api)
            .map_err(|e| crate::error_chain(&e)),
        None => Target::open_store(&args.store, false).await,
    };
    let target = match target {
        Ok(target) => target,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("nothing was written");
            return exit::NOTHING_WRITTEN;
        }
    };
    let Plan { deletions, kept } = if args.mode == Mode::ReplaceAll {
        match target.all_ids(LIST_SEGMENTS).await {
            Ok(stored) => Plan::new(stored, &checked),
            Err(message) => {
                eprintln!(
                    "error: listing the users in {}: {message}",
                    target.describe()
                );
                eprintln!("nothing was written");
                return exit::NOTHING_WRITTEN;
            }
        }
    } else {
        Plan::default()
    };
    if args.dry_run {
        print_dry_run(&args, &checked, &deletions, &kept);
        return exit::OK;
    }
    if !deletions.is_empty() && !args.yes {
        match confirm(&args, &target, &deletions).await {
            Ok(()) => {}
            Err(message) => {
                eprintln!("{message}");
                eprintln!("nothing was written");
                return exit::NOTHING_WRITTEN;
            }
        }
    }

    // Write, then delete.
    let mut interrupts = Interrupts::listen();
    let concurrency = target.concurrency(args.concurrency);
    let max_retry = args.max_retry_time;
    let mode = match args.mode {
        Mode::InsertOnly => WriteMode::InsertOnly,
        Mode::Upsert | Mode::ReplaceAll => WriteMode::Upsert,
    };
    // The records move into the batches: from here on the summary needs only their count.
    let valid = std::mem::take(&mut checked.valid);
    let total = valid.len();
    let batches = target.batches(valid);
    let mut progress = Progress::new("writing", total as u64, args.quiet);
    let target = &target;
    let writes = drive(
        batches,
        |record: &Record| record.id.clone(),
        concurrency,
        &mut progress,
        &mut interrupts,
        |batch| async move {
            let deadline = Instant::now() + max_retry;
            target.put_batch(&batch, mode, deadline).await
        },
    )
    .await;
    progress.finish();

    let mut deletes = None;
    let mut deletions_held_back = false;
    if !deletions.is_empty() {
        if writes.complete() {
            let batches: Vec<Vec<UserId>> = deletions
                .chunks(target.batch_size())
                .map(<[UserId]>::to_vec)
                .collect();
            let mut progress = Progress::new("deleting", deletions.len() as u64, args.quiet);
            deletes = Some(
                drive(
                    batches,
                    UserId::clone,
                    concurrency,
                    &mut progress,
                    &mut interrupts,
                    |batch| async move {
                        let deadline = Instant::now() + max_retry;
                        target.delete_batch(&batch, deadline).await
                    },
                )
                .await,
            );
            progress.finish();
        } else {
            deletions_held_back = true;
        }
    }

    let report = Report {
        read: checked.read,
        valid: total,
        writes: &writes,
        deletes: deletes.as_ref(),
        deletions_planned: deletions.len(),
        deletions_held_back,
        kept: &kept,
        replace_all: args.mode == Mode::ReplaceAll,
        elapsed: started.elapsed(),
        target: target.describe(),
    };
    report.print(args.quiet)
}

fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

/// Refuses replace-all (saying which lines stop it) when an invalid record's user cannot be told:
/// it may be one replace-all would delete. Returns whether it refused.
///
/// The refusal comes before anything is written, so a refused run changes nothing (rather than
/// upserting and then holding the deletions back).
fn refuse_unnamed(checked: &Checked) -> bool {
    let mut refused = 0;
    for (line, why) in checked.unnamed() {
        refused += 1;
        eprintln!(
            "line {line}: cannot tell which user this record is for ({why}); replace-all would \
             delete users the file may name: fix the line or remove it"
        );
    }
    if refused > 0 {
        eprintln!(
            "replace-all refused: {refused} invalid records name no user that can be told; \
             nothing was written"
        );
    }
    refused > 0
}

/// What replace-all does to the stored users that no valid record writes.
#[derive(Debug, Default)]
struct Plan {
    /// Not named in the file at all: deleted.
    deletions: Vec<UserId>,
    /// Named only by invalid records: neither written nor deleted.
    kept: Vec<UserId>,
}

impl Plan {
    fn new(stored: Vec<UserId>, checked: &Checked) -> Self {
        let written: HashSet<&UserId> = checked.valid.iter().map(|r| &r.id).collect();
        let mut plan = Self::default();
        for id in stored {
            if !checked.ids_in_file.contains(id.as_str()) {
                plan.deletions.push(id);
            } else if !written.contains(&id) {
                plan.kept.push(id);
            }
        }
        plan.kept.sort_unstable();
        plan
    }
}

fn print_dry_run(args: &ImportArgs, checked: &Checked, deletions: &[UserId], kept: &[UserId]) {
    if args.mode == Mode::ReplaceAll {
        print_kept("replace-all would keep", kept);
        if deletions.is_empty() {
            eprintln!("replace-all would delete no users");
        } else {
            eprintln!(
                "replace-all would delete {} users not in the file:",
                deletions.len()
            );
            for id in deletions {
                eprintln!("  {id}");
            }
        }
    }
    eprintln!(
        "dry run: read {}, valid {}, invalid {}; nothing was written",
        checked.read,
        checked.valid.len(),
        checked.invalid.len()
    );
}

/// Asks on the terminal whether replace-all may delete `deletions`; an error says why not.
async fn confirm(args: &ImportArgs, target: &Target, deletions: &[UserId]) -> Result<(), String> {
    let mut sample: Vec<String> = deletions
        .iter()
        .take(PROMPT_SAMPLE)
        .map(ToString::to_string)
        .collect();
    if deletions.len() > PROMPT_SAMPLE {
        sample.push(format!("and {} more", deletions.len() - PROMPT_SAMPLE));
    }
    let what = format!(
        "replace-all will delete {} users from {} that are not in the file ({})",
        deletions.len(),
        target.describe(),
        sample.join(", ")
    );
    let stdin_free = args.file != Path::new("-");
    if !stdin_free || !std::io::stdin().is_terminal() {
        return Err(format!(
            "{what}: pass --yes to confirm (there is no terminal to ask on)"
        ));
    }
    eprint!("{what}.\nType yes to go on: ");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the answer: {e}"))?;
    if matches!(answer.trim(), "yes" | "y" | "YES" | "Yes") {
        Ok(())
    } else {
        Err("not confirmed".into())
    }
}

/// Ctrl-C presses, counted, from the moment writing starts.
///
/// Listening replaces the default "stop the process" at once, so it starts only when there is
/// something to stop cleanly.
struct Interrupts {
    presses: watch::Receiver<u32>,
}

impl Interrupts {
    fn listen() -> Self {
        let (tx, presses) = watch::channel(0);
        tokio::spawn(async move {
            let mut count = 0;
            while tokio::signal::ctrl_c().await.is_ok() {
                count += 1;
                if tx.send(count).is_err() {
                    break;
                }
            }
        });
        Self { presses }
    }

    /// Waits for the next press and returns how many there have been.
    async fn next(&mut self) -> u32 {
        if self.presses.changed().await.is_err() {
            // No signal handler could be installed: no press will ever come.
            std::future::pending::<()>().await;
        }
        *self.presses.borrow_and_update()
    }

    /// Whether Ctrl-C has been pressed at all.
    fn pressed(&self) -> bool {
        *self.presses.borrow() > 0
    }
}

/// What one phase (writing or deleting) came to.
#[derive(Debug, Default)]
struct Phase {
    written: usize,
    skipped: Vec<UserId>,
    failed: Vec<(UserId, String)>,
    /// Stopped by Ctrl-C.
    interrupted: bool,
    /// Never sent, because of Ctrl-C.
    not_attempted: usize,
    /// In flight when a second Ctrl-C stopped waiting: not confirmed.
    abandoned: Vec<UserId>,
}

impl Phase {
    fn add(&mut self, result: BatchResult) {
        self.written += result.written.len();
        self.skipped.extend(result.skipped);
        self.failed.extend(result.failed);
    }

    /// Every id was dealt with and nothing failed.
    fn complete(&self) -> bool {
        !self.interrupted && self.failed.is_empty() && self.abandoned.is_empty()
    }
}

/// Runs `run` over `batches`, `concurrency` at a time, advancing `progress`, until all are done
/// or Ctrl-C is pressed (then those in flight are awaited; a second press abandons them).
async fn drive<T, F, Fut>(
    batches: Vec<Vec<T>>,
    id_of: impl Fn(&T) -> UserId,
    concurrency: usize,
    progress: &mut Progress,
    interrupts: &mut Interrupts,
    run: F,
) -> Phase
where
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = BatchResult>,
{
    let mut phase = Phase::default();
    let mut queue = batches.into_iter().enumerate();
    let mut in_flight = FuturesUnordered::new();
    let mut flying: HashMap<usize, Vec<UserId>> = HashMap::new();
    if interrupts.pressed() {
        phase.interrupted = true;
    }
    loop {
        while !phase.interrupted && in_flight.len() < concurrency {
            let Some((index, batch)) = queue.next() else {
                break;
            };
            flying.insert(index, batch.iter().map(&id_of).collect());
            let work = run(batch);
            in_flight.push(async move { (index, work.await) });
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            Some((index, result)) = in_flight.next() => {
                flying.remove(&index);
                progress.advance(result.count() as u64);
                phase.add(result);
            }
            presses = interrupts.next() => {
                if presses == 1 {
                    phase.interrupted = true;
                    let waiting = match in_flight.len() {
                        1 => "the batch".to_owned(),
                        n => format!("the {n} batches"),
                    };
                    progress.println(&format!(
                        "interrupted: waiting for {waiting} in flight (Ctrl-C again to stop \
                         without waiting)"
                    ));
                } else {
                    phase.interrupted = true;
                    phase.abandoned = flying.drain().flat_map(|(_, ids)| ids).collect();
                    phase.abandoned.sort_unstable();
                    break;
                }
            }
        }
    }
    phase.not_attempted = queue.map(|(_, batch)| batch.len()).sum();
    phase
}

/// Everything the summary says.
struct Report<'a> {
    /// Records read, and of those valid.
    read: usize,
    valid: usize,
    writes: &'a Phase,
    deletes: Option<&'a Phase>,
    deletions_planned: usize,
    deletions_held_back: bool,
    /// Named only by invalid records, so neither written nor deleted (replace-all).
    kept: &'a [UserId],
    replace_all: bool,
    elapsed: Duration,
    target: String,
}

impl Report<'_> {
    /// Prints the lists and the summary line (failures even when quiet); returns the exit status.
    fn print(&self, quiet: bool) -> u8 {
        let writes = self.writes;
        if !quiet && !writes.skipped.is_empty() {
            let mut skipped = writes.skipped.clone();
            skipped.sort_unstable();
            eprintln!("left untouched, they exist already ({}):", skipped.len());
            for id in &skipped {
                eprintln!("  {id}");
            }
        }
        if !quiet {
            print_kept("kept", self.kept);
        }
        print_failures("not written", &writes.failed);
        print_abandoned(&writes.abandoned);
        if let Some(deletes) = self.deletes {
            print_failures("not deleted", &deletes.failed);
            print_abandoned(&deletes.abandoned);
        }
        if self.deletions_held_back {
            eprintln!(
                "the {} users not in the file were NOT deleted, since not every write was \
                 confirmed",
                self.deletions_planned
            );
        }

        let interrupted = writes.interrupted || self.deletes.is_some_and(|d| d.interrupted);
        let failed = writes.failed.len() + writes.abandoned.len();
        let deleted = self.deletes.map_or(0, |d| d.written);
        let delete_failed = self
            .deletes
            .map_or(0, |d| d.failed.len() + d.abandoned.len());
        if !quiet {
            let seconds = self.elapsed.as_secs_f64();
            let rate = if seconds > 0.0 {
                writes.written as f64 / seconds
            } else {
                0.0
            };
            let deleted_part = if self.replace_all {
                format!(", deleted {deleted}, kept {}", self.kept.len())
            } else {
                String::new()
            };
            eprintln!(
                "summary: read {}, valid {}, written {}, skipped {}, failed {}{deleted_part}, \
                 time {seconds:.2} s, rate {rate:.0} records/s",
                self.read,
                self.valid,
                writes.written,
                writes.skipped.len(),
                failed,
            );
        }
        if interrupted {
            let not_attempted = writes.not_attempted + self.deletes.map_or(0, |d| d.not_attempted);
            eprintln!(
                "interrupted: {} records were written to {} before stopping; {} were not \
                 attempted",
                writes.written, self.target, not_attempted
            );
            return exit::INTERRUPTED;
        }
        if failed > 0 || delete_failed > 0 || self.deletions_held_back {
            eprintln!(
                "NOT COMPLETE: {failed} writes and {delete_failed} deletions were not confirmed \
                 in {} (listed above)",
                self.target
            );
            return exit::PARTIAL;
        }
        if !quiet {
            eprintln!("done: every write was confirmed by {}", self.target);
        }
        exit::OK
    }
}

/// Lists the stored users replace-all leaves as they are because only invalid records name them.
fn print_kept(what: &str, kept: &[UserId]) {
    if kept.is_empty() {
        return;
    }
    eprintln!(
        "{what} as they are, neither written nor deleted, since only invalid records name them \
         ({}):",
        kept.len()
    );
    for id in kept {
        eprintln!("  {id}");
    }
}

/// Lists failed ids grouped by reason.
fn print_failures(what: &str, failed: &[(UserId, String)]) {
    let mut by_reason: BTreeMap<&str, Vec<&UserId>> = BTreeMap::new();
    for (id, reason) in failed {
        by_reason.entry(reason.as_str()).or_default().push(id);
    }
    for (reason, mut ids) in by_reason {
        ids.sort_unstable();
        eprintln!("{what} ({}): {reason}", ids.len());
        for id in ids {
            eprintln!("  {id}");
        }
    }
}

fn print_abandoned(abandoned: &[UserId]) {
    if abandoned.is_empty() {
        return;
    }
    eprintln!(
        "not confirmed ({}): in flight when a second Ctrl-C stopped waiting",
        abandoned.len()
    );
    for id in abandoned {
        eprintln!("  {id}");
    }
}
