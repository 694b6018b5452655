//! Where an import writes and an export reads: the embedded store, a DynamoDB table, or the API.
//!
//! Each target writes a batch of records its own way and reports, per id, whether the write was
//! confirmed, skipped (insert-only, the user exists) or failed (and why):
//! - embedded: one transaction per batch of [`EMBEDDED_BATCH`] records through
//!   [`EmbeddedStore::put_many`] (each record's precondition checked as `put` checks it, its
//!   history entry written in the same transaction, one fsynced commit for the batch, all or
//!   nothing), so versions and insert-only are exact;
//! - DynamoDB: one `BatchGetItem` for the batch's stored versions and histories, then one
//!   `BatchWriteItem` through [`DynamoStore::batch_put`] with each user's history entry appended
//!   (see `--help` for what that means for versions and races);
//! - the API: one `PUT /users/{id}` per record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::store::dynamodb::{BulkUser, DynamoStore};
use clearance_core::store::embedded::{self, EmbeddedStore};
use clearance_core::store::{Author, PermissionStore, Precondition, StoreError, next_history};

use crate::api::{ApiClient, PutResult};
use crate::check::Record;
use crate::cli::{StoreArgs, StoreKind};
use crate::error_chain;

/// Who the writes are made by (`updatedBy`).
pub const ACTOR: &str = "seed-cli";

/// How long to wait before asking DynamoDB again for a batch's stored versions.
const VERSIONS_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Records per embedded-store transaction: large enough that a commit's page writes and fsync
/// are shared by many records (the company index's pages are dirtied all over on every commit,
/// so fewer, larger commits write far fewer pages in all), small enough that progress moves and
/// Ctrl-C waits little for the one batch in flight (a batch takes about two seconds).
pub const EMBEDDED_BATCH: usize = 100_000;

/// What an import does with a user that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace it.
    Upsert,
    /// Leave it untouched.
    InsertOnly,
}

/// What happened to one batch.
#[derive(Debug, Default)]
pub struct BatchResult {
    /// Confirmed written (or, for deletions, deleted).
    pub written: Vec<UserId>,
    /// Left untouched: insert-only, and the user exists.
    pub skipped: Vec<UserId>,
    /// Not written, or not confirmed, with why.
    pub failed: Vec<(UserId, String)>,
}

impl BatchResult {
    /// How many ids this result accounts for.
    pub fn count(&self) -> usize {
        self.written.len() + self.skipped.len() + self.failed.len()
    }

    fn all_failed<'a>(ids: impl IntoIterator<Item = &'a UserId>, reason: &str) -> Self {
        Self {
            failed: ids
                .into_iter()
                .map(|id| (id.clone(), reason.to_owned()))
                .collect(),
            ..Self::default()
        }
    }
}

/// An open target.
pub enum Target {
    /// The embedded store in a data directory.
    Embedded {
        /// The store.
        store: EmbeddedStore,
        /// Its directory, for messages.
        dir: PathBuf,
    },
    /// A DynamoDB table.
    Dynamo(DynamoStore),
    /// The permissions API.
    Api(ApiClient),
}

impl Target {
    /// Opens the store `args` choose. With `must_exist`, an embedded store that has never been
    /// created is an error (rather than an empty store made on the spot). A DynamoDB table is
    /// checked to be reachable and active.
    pub async fn open_store(args: &StoreArgs, must_exist: bool) -> Result<Self, String> {
        match args.kind() {
            StoreKind::Embedded => {
                let dir = args.location.data_dir.clone();
                if must_exist && !dir.join(embedded::FILE_NAME).is_file() {
                    return Err(format!(
                        "there is no embedded store in --data-dir {} (CLEARANCE_DATA_DIR)",
                        dir.display()
                    ));
                }
                // A bulk tool: a large page cache keeps a batch's pages in memory until its commit.
                let store = EmbeddedStore::open_with_cache(&dir, embedded::BULK_PAGE_CACHE_BYTES)
                    .map_err(|e| error_chain(&e))?;
                Ok(Self::Embedded { store, dir })
            }
            StoreKind::Dynamodb => {
                let settings = args
                    .dynamo
                    .settings(clearance_core::store::dynamodb::args::DynamoDefaults::BULK)?;
                let store = DynamoStore::connect(&settings)
                    .await
                    .map_err(|e| error_chain(&e))?;
                store.ready().await.map_err(|e| {
                    format!(
                        "DynamoDB table {:?} cannot be used: {} (create it with `clearance-seed \
                         create-table`)",
                        settings.table,
                        error_chain(&e)
                    )
                })?;
                Ok(Self::Dynamo(store))
            }
        }
    }

    /// The target in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded { dir, .. } => format!("the embedded store in {}", display(dir)),
            Self::Dynamo(store) => format!("DynamoDB table {:?}", store.table()),
            Self::Api(client) => format!("the API at {}", client.base()),
        }
    }

    /// How many records one batch should hold for this target: one DynamoDB `BatchWriteItem`
    /// ([`BATCH`](crate::import::BATCH)), or [`EMBEDDED_BATCH`] per embedded transaction.
    pub fn batch_size(&self) -> usize {
        match self {
            Self::Embedded { .. } => EMBEDDED_BATCH,
            Self::Dynamo(_) | Self::Api(_) => crate::import::BATCH,
        }
    }

    /// How many batches to have in flight, given what was asked (`--concurrency`): one for the
    /// embedded store, which has one writer (more would only queue behind it, and Ctrl-C would
    /// wait for every one of them to be written).
    pub fn concurrency(&self, asked: u16) -> usize {
        match self {
            Self::Embedded { .. } => 1,
            Self::Dynamo(_) | Self::Api(_) => usize::from(asked),
        }
    }

    /// Cuts `records` into this target's batches ([`Target::batch_size`]). The embedded store
    /// takes them in id order across the whole import, not only within a batch: its trees are
    /// keyed by id, so each commit then writes the users and history tables in key order
    /// (appending, when the store is empty) instead of rewriting pages all over them (a million
    /// random ids went in at 2.4 times the rate). Other targets keep the file's order. Failures
    /// are reported by id either way; after Ctrl-C, what was written is the lowest ids.
    pub fn batches(&self, mut records: Vec<Record>) -> Vec<Vec<Record>> {
        if let Self::Embedded { .. } = self {
            records.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        let size = self.batch_size();
        let mut batches = Vec::with_capacity(records.len().div_ceil(size));
        let mut rest = records.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(size).collect());
        }
        batches
    }

    /// Writes `records` (ids unique), each batch retrying what was not confirmed until
    /// `deadline`.
    pub async fn put_batch(
        &self,
        records: &[Record],
        mode: WriteMode,
        deadline: Instant,
    ) -> BatchResult {
        match self {
            Self::Embedded { store, .. } => put_embedded(store, records, mode).await,
            Self::Dynamo(store) => put_dynamo(store, records, mode, deadline).await,
            Self::Api(client) => {
                let mut result = BatchResult::default();
                for record in records {
                    let id = record.id.clone();
                    match client
                        .put(record, mode == WriteMode::InsertOnly, deadline)
                        .await
                    {
                        PutResult::Written => result.written.push(id),
                        PutResult::Exists => result.skipped.push(id),
                        PutResult::Failed(reason) => result.failed.push((id, reason)),
                    }
                }
                result
            }
        }
    }

    /// Deletes `ids`. An id that is already gone counts as deleted.
    pub async fn delete_batch(&self, ids: &[UserId], deadline: Instant) -> BatchResult {
        match self {
            // One transaction for the batch, each deleted user's history entry written in it.
            Self::Embedded { store, .. } => {
                match store.delete_many(ids.to_vec(), Some(ACTOR)).await {
                    Ok(_) => BatchResult {
                        written: ids.to_vec(),
                        ..BatchResult::default()
                    },
                    Err(err) => BatchResult::all_failed(ids, &error_chain(&err)),
                }
            }
            // One conditional delete per user (not a bulk delete), so that each deleted user's
            // history is archived with its deletion.
            Self::Dynamo(store) => delete_each(store, ids, deadline).await,
            Self::Api(_) => BatchResult::all_failed(ids, "the API cannot delete in bulk"),
        }
    }

    /// Every user, sorted by id.
    pub async fn all_users(&self, segments: u32) -> Result<Vec<UserPermissions>, String> {
        let mut users = match self {
            Self::Embedded { store, .. } => store.all().await,
            Self::Dynamo(store) => store.scan_all(segments).await,
            Self::Api(_) => return Err(NO_LISTING.into()),
        }
        .map_err(|e| error_chain(&e))?;
        users.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    /// Every user id, sorted.
    pub async fn all_ids(&self, segments: u32) -> Result<Vec<UserId>, String> {
        let mut ids = match self {
            Self::Embedded { store, .. } => store
                .all()
                .await
                .map(|users| users.into_iter().map(|u| u.id).collect()),
            Self::Dynamo(store) => store.scan_ids(segments).await,
            Self::Api(_) => return Err(NO_LISTING.into()),
        }
        .map_err(|e| error_chain(&e))?;
        ids.sort_unstable();
        Ok(ids)
    }
}

/// Why the API cannot serve a whole-store read.
pub const NO_LISTING: &str = "the permissions API has no endpoint that lists every user, so it \
    cannot be exported or reconciled through the API: use --store embedded or --store dynamodb";

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Deletes `ids` one by one through the store, each recorded in the user's history; a delete the
/// store cannot make for now is tried again until `deadline`.
async fn delete_each(
    store: &dyn PermissionStore,
    ids: &[UserId],
    deadline: Instant,
) -> BatchResult {
    let mut result = BatchResult::default();
    for id in ids {
        loop {
            match store
                .delete(id, Precondition::None, Author::actor(Some(ACTOR)))
                .await
            {
                Ok(_) | Err(StoreError::NotFound) => result.written.push(id.clone()),
                Err(StoreError::Unavailable { .. })
                    if Instant::now() + VERSIONS_RETRY_PAUSE < deadline =>
                {
                    tokio::time::sleep(VERSIONS_RETRY_PAUSE).await;
                    continue;
                }
                Err(err) => result.failed.push((id.clone(), error_chain(&err))),
            }
            break;
        }
    }
    result
}

async fn put_embedded(store: &EmbeddedStore, records: &[Record], mode: WriteMode) -> BatchResult {
    let precondition = match mode {
        WriteMode::Upsert => Precondition::None,
        WriteMode::InsertOnly => Precondition::MustNotExist,
    };
    let batch = records
        .iter()
        .map(|r| (r.id.clone(), r.permissions.clone()))
        .collect();
    let outcomes = match store.put_many(batch, precondition, Some(ACTOR)).await {
        Ok(outcomes) => outcomes,
        // Nothing of the batch was committed.
        Err(err) => {
            return BatchResult::all_failed(records.iter().map(|r| &r.id), &error_chain(&err));
        }
    };
    let mut result = BatchResult::default();
    for (record, outcome) in records.iter().zip(outcomes) {
        let id = record.id.clone();
        match outcome {
            Ok(_) => result.written.push(id),
            Err(StoreError::Conflict { .. }) if mode == WriteMode::InsertOnly => {
                result.skipped.push(id);
            }
            Err(err) => result.failed.push((id, error_chain(&err))),
        }
    }
    result
}

async fn put_dynamo(
    store: &DynamoStore,
    records: &[Record],
    mode: WriteMode,
    deadline: Instant,
) -> BatchResult {
    let ids: Vec<UserId> = records.iter().map(|r| r.id.clone()).collect();
    let mut stored = match stored_users(store, &ids, deadline).await {
        Ok(stored) => stored,
        Err(err) => {
            let reason = format!("reading the stored versions failed: {}", error_chain(&err));
            return BatchResult::all_failed(&ids, &reason);
        }
    };
    let at = clearance_core::store::now();
    let mut result = BatchResult::default();
    let mut users = Vec::with_capacity(records.len());
    for record in records {
        let before = stored.remove(&record.id);
        if before.is_some() && mode == WriteMode::InsertOnly {
            result.skipped.push(record.id.clone());
            continue;
        }
        let user = UserPermissions {
            id: record.id.clone(),
            companies: record.permissions.companies.clone(),
            role: record.permissions.role.clone(),
            version: before.as_ref().map_or(1, |b| b.user.version + 1),
            updated_at: Some(at),
            updated_by: Some(ACTOR.into()),
        };
        let (before, history) = match before {
            Some(b) => (Some(b.user), b.history),
            None => (None, Vec::new()),
        };
        let history = next_history(
            history,
            before.as_ref(),
            Some(&user),
            Author::actor(Some(ACTOR)),
            at,
        );
        users.push(BulkUser { user, history });
    }
    if users.is_empty() {
        return result;
    }
    let outcome = store.batch_put(&users, deadline).await;
    let reason = outcome
        .error
        .as_ref()
        .map_or_else(|| "not confirmed".to_owned(), |e| error_chain(e));
    result.written = outcome.written;
    result.failed = outcome
        .not_written
        .into_iter()
        .map(|id| (id, reason.clone()))
        .collect();
    result
}

/// Each of `ids` that is stored, with its history, asking again while DynamoDB is unavailable for
/// now and `deadline` allows.
async fn stored_users(
    store: &DynamoStore,
    ids: &[UserId],
    deadline: Instant,
) -> Result<HashMap<UserId, BulkUser>, StoreError> {
    loop {
        match store.batch_get_stored(ids).await {
            Ok(found) => {
                return Ok(found.into_iter().map(|u| (u.user.id.clone(), u)).collect());
            }
            Err(StoreError::Unavailable { .. })
                if Instant::now() + VERSIONS_RETRY_PAUSE < deadline =>
            {
                tokio::time::sleep(VERSIONS_RETRY_PAUSE).await;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use clearance_core::domain::{Permissions, Role};

    use super::*;

    /// Records for ids `0000000`, `0000001`, ... given in reverse order, one line each.
    fn reversed(count: usize) -> Vec<Record> {
        (0..count)
            .rev()
            .enumerate()
            .map(|(line, n)| Record {
                line: line + 1,
                id: UserId::parse(format!("{n:07}")).unwrap(),
                permissions: Permissions::new(vec![], Role::from_stored("Admin")).unwrap(),
            })
            .collect()
    }

    fn ids(batch: &[Record]) -> Vec<&str> {
        batch.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn the_embedded_store_takes_the_whole_import_in_id_order_and_the_api_the_files_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let embedded = Target::Embedded {
            store,
            dir: dir.path().to_owned(),
        };
        assert_eq!(embedded.concurrency(8), 1, "one transaction at a time");
        let batches = embedded.batches(reversed(EMBEDDED_BATCH + 1));
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), EMBEDDED_BATCH);
        let all: Vec<&str> = batches.iter().flat_map(|b| ids(b)).collect();
        assert!(all.is_sorted(), "in id order across batches");
        assert_eq!(ids(&batches[1]), [format!("{EMBEDDED_BATCH:07}")]);

        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        let api = Target::Api(ApiClient::new(url, None).unwrap());
        assert_eq!(api.concurrency(8), 8);
        let batches = api.batches(reversed(crate::import::BATCH + 1));
        assert_eq!(batches.len(), 2);
        assert_eq!(
            batches[0].first().map(|r| r.line),
            Some(1),
            "the file's order"
        );
        assert_eq!(batches[1].len(), 1);
        assert_eq!(ids(&batches[1]), ["0000000"]);
    }
}
