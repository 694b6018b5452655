//! The embedded store: permissions on local disk in a redb database, the default for a server.
//!
//! redb commits with an fsync before returning (durability `Immediate`), so a write that was
//! acknowledged survives a crash or power loss. Three tables: `users` (id → the record as JSON),
//! `users_by_company` ((company, id) → nothing) and `history` (id → the user's change history as
//! JSON, oldest first), kept in step inside one write transaction, so listing a company reads only
//! its users and no change is stored without its history entry, nor an entry without its change. redb allows one writer at a time; every operation runs
//! on tokio's blocking pool so the async workers never wait on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};

use super::{
    Author, Delete, Listing, Page, PermissionStore, Position, Precondition, Put, StoreError,
    WriteOutcome, check_delete, check_precondition, next_history, next_record, readable_history,
};
use crate::domain::{CompanyId, HistoryEntry, Permissions, UserId, UserPermissions};

const USERS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("users");
const BY_COMPANY: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("users_by_company");
const HISTORY: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("history");

/// redb's page cache. redb would take up to 1 GiB by default, which with a million users read
/// once doubles the process's memory for nothing: the service's own cache holds the users that are
/// read, and the operating system's page cache holds the file.
pub const PAGE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// redb's page cache for a bulk load (the seed CLI's import): dirty pages stay in memory until
/// the batch's commit instead of being written out and read back while the batch is built, and
/// the tree being filled is read from memory. A short-lived tool can afford it.
pub const BULK_PAGE_CACHE_BYTES: usize = 512 * 1024 * 1024;

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "clearance.redb";

/// Opening the embedded store failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened (in use by another process, unreadable, corrupt).
    #[error("cannot open the database {path} (is another Clearance process using it?)")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<redb::Error>,
    },
}

/// Permissions in a redb database under a data directory.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`, with the service's page cache
    /// ([`PAGE_CACHE_BYTES`]).
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        Self::open_with_cache(dir, PAGE_CACHE_BYTES)
    }

    /// Opens (or creates) the store in `dir` with a page cache of `cache_bytes` (e.g.
    /// [`BULK_PAGE_CACHE_BYTES`] for an import).
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let open_err = |source: redb::Error| OpenError::Open {
            path: path.clone(),
            source: Box::new(source),
        };
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| open_err(e.into()))?;
        let txn = db.begin_write().map_err(|e| open_err(e.into()))?;
        txn.open_table(USERS).map_err(|e| open_err(e.into()))?;
        txn.open_table(BY_COMPANY).map_err(|e| open_err(e.into()))?;
        txn.open_table(HISTORY).map_err(|e| open_err(e.into()))?;
        txn.commit().map_err(|e| open_err(e.into()))?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Whether the store holds no users (used to load the sample data on a first start).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(internal)?;
            let users = txn.open_table(USERS).map_err(internal)?;
            Ok(users.first().map_err(internal)?.is_none())
        })
        .await
    }

    /// Every user, in id order, read in one transaction (a consistent snapshot). For tools that
    /// dump or reconcile the whole store (the seed CLI's export and `replace-all`); the store
    /// trait has no such listing.
    pub async fn all(&self) -> Result<Vec<UserPermissions>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(internal)?;
            let users = txn.open_table(USERS).map_err(internal)?;
            let mut all = Vec::new();
            for entry in users.iter().map_err(internal)? {
                let (id, bytes) = entry.map_err(internal)?;
                all.push(decode(id.value(), bytes.value())?);
            }
            Ok(all)
        })
        .await
    }

    /// Writes many users in one transaction, for bulk tools (the seed CLI's import): every
    /// record's `precondition` is checked as [`PermissionStore::put`] checks it, the records that
    /// pass are written (versions, `updatedAt` and the company index as `put` keeps them), and
    /// the transaction is committed (fsynced) once. All or nothing: if anything but a failed
    /// precondition goes wrong, nothing of the batch is written and the error is returned. The
    /// answer has one entry per record, in order: what was written, or the conflict that kept
    /// that record out. A repeated id is written in the order given: the later record wins, and
    /// the company index follows it.
    ///
    /// One commit per batch instead of one per record is what makes bulk loading fast: the fsync
    /// is the cost of a write, and it is paid once.
    pub async fn put_many(
        &self,
        records: Vec<(UserId, Permissions)>,
        precondition: Precondition,
        actor: Option<&str>,
    ) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        let actor = actor.map(str::to_owned);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(internal)?;
            // Written in id order (a stable sort: a repeated id is still written in the order
            // given), so the batch's inserts land next to each other in the trees and the commit
            // writes fewer pages; the outcomes are reported in the order given.
            let mut order: Vec<usize> = (0..records.len()).collect();
            order.sort_by(|&a, &b| records[a].0.as_str().cmp(records[b].0.as_str()));
            let mut outcomes: Vec<Option<Result<WriteOutcome, StoreError>>> =
                (0..records.len()).map(|_| None).collect();
            {
                let mut users = txn.open_table(USERS).map_err(internal)?;
                let mut history = txn.open_table(HISTORY).map_err(internal)?;
                // The company index is keyed by company: its changes are gathered and made in key
                // order once the records are written, so they too land next to each other. Each
                // key's own changes keep the order they were made in (an id repeated in the batch
                // removes what its earlier record added).
                let mut index_changes: Vec<IndexChange> = Vec::new();
                for i in order {
                    let (id, permissions) = &records[i];
                    let before = read_user(&users, id.as_str())?;
                    if let Err(conflict) = check_precondition(precondition, before.as_ref()) {
                        outcomes[i] = Some(Err(conflict));
                        continue;
                    }
                    let after = next_record(id, permissions, before.as_ref(), actor.as_deref());
                    insert_user(&mut users, &after)?;
                    let changes = IndexChanges::between(before.as_ref(), &after);
                    let removed = changes.removed.into_iter().map(|c| (c, false));
                    let added = changes.added.iter().map(|c| (c, true));
                    for (company, add) in removed.chain(added) {
                        let made = index_changes.len();
                        index_changes.push((company.clone(), id.clone(), made, add));
                    }
                    // The history entry goes into the same transaction, as `put` writes it.
                    let at = after.updated_at.unwrap_or_else(super::now);
                    let author = Author::actor(actor.as_deref());
                    record(&mut history, id, before.as_ref(), Some(&after), author, at)?;
                    outcomes[i] = Some(Ok(WriteOutcome { before, after }));
                }
                index_changes.sort_unstable();
                let mut index = txn.open_table(BY_COMPANY).map_err(internal)?;
                for (company, id, _, add) in &index_changes {
                    let key = (company.as_str(), id.as_str());
                    if *add {
                        index.insert(key, ()).map_err(internal)?;
                    } else {
                        index.remove(key).map_err(internal)?;
                    }
                }
            }
            txn.commit().map_err(internal)?;
            // `order` is a permutation of the records' indices, so every slot has been filled.
            Ok(outcomes
                .into_iter()
                .map(|outcome| outcome.expect("every record of the batch has an outcome"))
                .collect())
        })
        .await
    }

    /// Deletes many users in one transaction (all or nothing, one commit); an id that is not
    /// stored is left alone. Returns how many were deleted.
    pub async fn delete_many(
        &self,
        ids: Vec<UserId>,
        actor: Option<&str>,
    ) -> Result<usize, StoreError> {
        let actor = actor.map(str::to_owned);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(internal)?;
            let mut deleted = 0;
            {
                let mut users = txn.open_table(USERS).map_err(internal)?;
                let mut index = txn.open_table(BY_COMPANY).map_err(internal)?;
                let mut history = txn.open_table(HISTORY).map_err(internal)?;
                for id in &ids {
                    if let Some(current) = read_user(&users, id.as_str())? {
                        remove_user(&mut users, &mut index, &current)?;
                        let author = Author::actor(actor.as_deref());
                        record(&mut history, id, Some(&current), None, author, super::now())?;
                        deleted += 1;
                    }
                }
            }
            txn.commit().map_err(internal)?;
            Ok(deleted)
        })
        .await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(StoreError::internal)?
    }
}

fn internal(err: impl Into<redb::Error>) -> StoreError {
    StoreError::internal(err.into())
}

fn decode(id: &str, bytes: &[u8]) -> Result<UserPermissions, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// The users table and the history table: id -> JSON.
type BytesTable<'txn> = redb::Table<'txn, &'static str, &'static [u8]>;
type IndexTable<'txn> = redb::Table<'txn, (&'static str, &'static str), ()>;

/// Stores `after` in place of `before`, keeping the company index in step.
fn write_user(
    users: &mut BytesTable<'_>,
    index: &mut IndexTable<'_>,
    before: Option<&UserPermissions>,
    after: &UserPermissions,
) -> Result<(), StoreError> {
    insert_user(users, after)?;
    let id = after.id.as_str();
    let changes = IndexChanges::between(before, after);
    for company in changes.removed {
        index.remove((company.as_str(), id)).map_err(internal)?;
    }
    for company in changes.added {
        index.insert((company.as_str(), id), ()).map_err(internal)?;
    }
    Ok(())
}

/// Stores the record alone (its index entries are the caller's).
fn insert_user(users: &mut BytesTable<'_>, user: &UserPermissions) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(user).map_err(StoreError::internal)?;
    users
        .insert(user.id.as_str(), bytes.as_slice())
        .map_err(internal)?;
    Ok(())
}

/// One change of the company index in a batch: the key (company, id), the change's place in the
/// order they were made, and whether it adds the entry (or removes it).
type IndexChange = (CompanyId, UserId, usize, bool);

/// The company index entries a write changes: it removes those of the companies `before` had and
/// `after` has not, and adds those of every company of `after` (adding one that is there already
/// changes nothing).
struct IndexChanges<'a> {
    removed: Vec<&'a CompanyId>,
    added: &'a [CompanyId],
}

impl<'a> IndexChanges<'a> {
    fn between(before: Option<&'a UserPermissions>, after: &'a UserPermissions) -> Self {
        let before: &[CompanyId] = before.map_or(&[], |b| &b.companies);
        Self {
            removed: before.iter().filter(|c| !after.has_company(c)).collect(),
            added: &after.companies,
        }
    }
}

/// Removes `current` and its index entries.
fn remove_user(
    users: &mut BytesTable<'_>,
    index: &mut IndexTable<'_>,
    current: &UserPermissions,
) -> Result<(), StoreError> {
    let id = current.id.as_str();
    users.remove(id).map_err(internal)?;
    for company in &current.companies {
        index.remove((company.as_str(), id)).map_err(internal)?;
    }
    Ok(())
}

fn read_user(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<UserPermissions>, StoreError> {
    match table.get(id).map_err(internal)? {
        Some(bytes) => decode(id, bytes.value()).map(Some),
        None => Ok(None),
    }
}

fn read_history(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Vec<HistoryEntry>, StoreError> {
    match table.get(id).map_err(internal)? {
        Some(bytes) => serde_json::from_slice(bytes.value()).map_err(|e| StoreError::Corrupt {
            id: id.to_owned(),
            reason: format!("the stored history is malformed: {e}"),
        }),
        None => Ok(Vec::new()),
    }
}

/// Records the change from `before` to `after` in the user's history, inside the write's
/// transaction.
fn record(
    table: &mut BytesTable<'_>,
    id: &UserId,
    before: Option<&UserPermissions>,
    after: Option<&UserPermissions>,
    author: Author<'_>,
    at: time::OffsetDateTime,
) -> Result<(), StoreError> {
    let stored = read_history(&*table, id.as_str())?;
    let history = next_history(stored, before, after, author, at);
    let bytes = serde_json::to_vec(&history).map_err(StoreError::internal)?;
    table
        .insert(id.as_str(), bytes.as_slice())
        .map_err(internal)?;
    Ok(())
}

#[async_trait]
impl PermissionStore for EmbeddedStore {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        let id = id.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(internal)?;
            let users = txn.open_table(USERS).map_err(internal)?;
            read_user(&users, id.as_str())
        })
        .await
    }

    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        let id = put.id.clone();
        let permissions = put.permissions.clone();
        let precondition = put.precondition;
        let author = put.author.to_owned();
        self.blocking(move |db| {
            let author = author.author();
            let txn = db.begin_write().map_err(internal)?;
            let outcome = {
                let mut users = txn.open_table(USERS).map_err(internal)?;
                let mut index = txn.open_table(BY_COMPANY).map_err(internal)?;
                let before = read_user(&users, id.as_str())?;
                check_precondition(precondition, before.as_ref())?;
                let after = next_record(&id, &permissions, before.as_ref(), author.actor);
                write_user(&mut users, &mut index, before.as_ref(), &after)?;
                WriteOutcome { before, after }
            };
            let at = outcome.after.updated_at.unwrap_or_else(super::now);
            record(
                &mut txn.open_table(HISTORY).map_err(internal)?,
                &id,
                outcome.before.as_ref(),
                Some(&outcome.after),
                author,
                at,
            )?;
            txn.commit().map_err(internal)?;
            Ok(outcome)
        })
        .await
    }

    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        let id = delete.id.clone();
        let precondition = delete.precondition;
        let author = delete.author.to_owned();
        self.blocking(move |db| {
            let author = author.author();
            let txn = db.begin_write().map_err(internal)?;
            let removed = {
                let mut users = txn.open_table(USERS).map_err(internal)?;
                let mut index = txn.open_table(BY_COMPANY).map_err(internal)?;
                let current = read_user(&users, id.as_str())?;
                check_delete(precondition, current.as_ref())?;
                let current = current.ok_or(StoreError::NotFound)?;
                remove_user(&mut users, &mut index, &current)?;
                current
            };
            record(
                &mut txn.open_table(HISTORY).map_err(internal)?,
                &id,
                Some(&removed),
                None,
                author,
                super::now(),
            )?;
            txn.commit().map_err(internal)?;
            Ok(removed)
        })
        .await
    }

    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = id.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(internal)?;
            let table = txn.open_table(HISTORY).map_err(internal)?;
            let stored = read_history(&table, id.as_str())?;
            Ok(readable_history(stored, super::now()))
        })
        .await
    }

    /// Reads the company's index from `after` on, one entry past the page, so a page is full
    /// unless the listing ends with it: the work is proportional to the page, never to the store,
    /// so no bound is needed. The position is the last id returned.
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        let company = listing.company.clone();
        let after = listing.after.cloned();
        let limit = listing.limit;
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(internal)?;
            let users = txn.open_table(USERS).map_err(internal)?;
            let index = txn.open_table(BY_COMPANY).map_err(internal)?;
            let c = company.as_str();
            let start = match &after {
                Some(a) => std::ops::Bound::Excluded((c, a.as_str())),
                None => std::ops::Bound::Included((c, "")),
            };
            let mut page = Vec::new();
            let mut more = false;
            for entry in index
                .range::<(&str, &str)>((start, std::ops::Bound::Unbounded))
                .map_err(internal)?
            {
                let (key, _) = entry.map_err(internal)?;
                let (entry_company, id) = key.value();
                if entry_company != c {
                    break;
                }
                if page.len() == limit {
                    more = true;
                    break;
                }
                match read_user(&users, id)? {
                    Some(user) => page.push(user),
                    None => {
                        return Err(StoreError::Corrupt {
                            id: id.to_owned(),
                            reason: format!("indexed under company {c:?} but not stored"),
                        });
                    }
                }
            }
            let next = if more {
                page.last()
                    .map(|u: &UserPermissions| Position::after(&u.id))
            } else {
                None
            };
            Ok(Page { users: page, next })
        })
        .await
    }

    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(internal)?;
            let users = txn.open_table(USERS).map_err(internal)?;
            let mut found = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(user) = read_user(&users, id.as_str())? {
                    found.push(user);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(internal)?;
            txn.open_table(USERS).map_err(internal)?;
            Ok(())
        })
        .await
    }

    fn label(&self) -> &'static str {
        "embedded"
    }
}
