//! Where permissions live, behind one trait.
//!
//! [`PermissionStore`] is all that code above the store sees. Implementations:
//! - [`memory::MemoryStore`]: in memory, for unit tests and as the contract suite's baseline;
//! - `embedded::EmbeddedStore` (feature `embedded`): redb on local disk, the default for a server;
//! - `dynamodb::DynamoStore` (feature `dynamodb`): the production store.
//!
//! The cache (`crate::cache::CachedStore`) implements the same trait, so nothing above it knows it
//! is there. Listing a company's users goes a [`Page`] at a time, each ending with a [`Position`]
//! to go on from; `cursor` (feature `cursor`) turns positions into the API's tagged cursors.
//! Higher-level operations that any store supports the same way (an atomic PATCH) live in
//! [`ops`]; [`measured::Measured`] times any store's calls and counts its errors for metrics.
//!
//! Callers write with [`PermissionStore::put`] and [`PermissionStore::delete`] and list with
//! [`PermissionStore::list_by_company`]; a store (and every layer around one: the cache, the
//! metrics) implements each once, as [`PermissionStore::apply_put`],
//! [`PermissionStore::apply_delete`] and [`PermissionStore::list_page`], taking one [`Put`],
//! [`Delete`] or [`Listing`]. The flags that choose a store are `args` (feature `cli`).

#[cfg(feature = "cli")]
pub mod args;
#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "cursor")]
pub mod cursor;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod measured;
pub mod memory;
pub mod ops;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::consistency::{Consistency, Served};
use crate::domain::{CompanyId, HistoryEntry, Permissions, UserId, UserPermissions};

/// The condition a write must meet, checked atomically with the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there (create or replace).
    None,
    /// Only create: fail if the user exists (`If-None-Match: *`).
    MustNotExist,
    /// Only replace: fail if the user does not exist (`If-Match: *`).
    MustExist,
    /// Only if the stored version is this one (`If-Match: "3"`). A stored item that has no version
    /// (written by another tool) counts as version 0.
    Version(u64),
}

/// Who makes a write and under which request: what `updatedBy` and the change history record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Author<'a> {
    /// Who acts (a token's `sub` or `client_id`, `seed` for the seed CLI); `None` without
    /// authentication.
    pub actor: Option<&'a str>,
    /// The request that asks for the write (`x-request-id`), if there is one.
    pub request_id: Option<&'a str>,
}

impl<'a> Author<'a> {
    /// No one known, no request: a write without authentication outside the API.
    pub const NONE: Author<'static> = Author {
        actor: None,
        request_id: None,
    };

    /// An owned copy, for work that outlives the borrow (a store's blocking thread).
    pub fn to_owned(self) -> OwnedAuthor {
        OwnedAuthor {
            actor: self.actor.map(str::to_owned),
            request_id: self.request_id.map(str::to_owned),
        }
    }

    /// `actor`, outside any request (a tool such as the seed CLI).
    pub fn actor(actor: Option<&'a str>) -> Self {
        Self {
            actor,
            request_id: None,
        }
    }
}

/// An [`Author`] that owns its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedAuthor {
    actor: Option<String>,
    request_id: Option<String>,
}

impl OwnedAuthor {
    /// The author, borrowed.
    pub fn author(&self) -> Author<'_> {
        Author {
            actor: self.actor.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

/// One create-or-replace, as [`PermissionStore::apply_put`] takes it: the arguments of
/// [`PermissionStore::put`].
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    /// The user written.
    pub id: &'a UserId,
    /// What the user may do after the write.
    pub permissions: &'a Permissions,
    /// The condition the write must meet.
    pub precondition: Precondition,
    /// Who writes, for `updatedBy` and the history.
    pub author: Author<'a>,
}

/// One deletion, as [`PermissionStore::apply_delete`] takes it: the arguments of
/// [`PermissionStore::delete`].
#[derive(Debug, Clone, Copy)]
pub struct Delete<'a> {
    /// The user deleted.
    pub id: &'a UserId,
    /// The condition the deletion must meet.
    pub precondition: Precondition,
    /// Who deletes, for the history.
    pub author: Author<'a>,
}

/// One page of a company's users, as [`PermissionStore::list_page`] takes it: the arguments of
/// [`PermissionStore::list_by_company`].
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    /// The company whose users are listed.
    pub company: &'a CompanyId,
    /// The most users on the page.
    pub limit: usize,
    /// Where to go on from (a [`Page::next`] of the same store and company), or the start.
    pub after: Option<&'a Position>,
}

/// The result of a successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// What was stored before the write (`None` when the write created the user).
    pub before: Option<UserPermissions>,
    /// What is stored now.
    pub after: UserPermissions,
}

/// One page of the users of a company.
///
/// A page holds at most the `limit` asked for, and may hold fewer, even none, while `next` is
/// `Some`: a store that bounds the work of one call (the DynamoDB store's scan) stops early and
/// says where to go on. Only `next == None` means the listing has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The users on this page.
    pub users: Vec<UserPermissions>,
    /// Pass this as `after` to go on; `None` when the listing has ended.
    pub next: Option<Position>,
}

/// Where a listing of a company's users goes on: opaque to everything above the store.
///
/// Each store decides what it holds: the embedded and in-memory stores the id of the last user
/// they returned; the DynamoDB store the key of the last item its scan read, which may be a user
/// of another company (or an item no user id could name, written by another tool). So it is
/// text, not a [`UserId`]. A position only has meaning for the store and the company that
/// issued it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position(String);

impl Position {
    /// The longest position any store issues, in bytes: DynamoDB's limit on a partition key.
    pub const MAX_LEN: usize = 2_048;

    /// A position holding `value`; `None` if it is empty or longer than [`Position::MAX_LEN`]
    /// bytes, which no store issues.
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        (!value.is_empty() && value.len() <= Self::MAX_LEN).then_some(Self(value))
    }

    /// The position just after the user `id`.
    pub fn after(id: &UserId) -> Self {
        Self(id.as_str().to_owned())
    }

    /// The position as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A failed store operation.
///
/// Clone, so a cache can hand one failure to every caller that waited on the same read; sources are
/// kept behind an `Arc` rather than flattened into text.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The precondition did not hold: the user exists, does not exist, or has another version.
    #[error("precondition failed: the stored version is {current:?}")]
    Conflict {
        /// The stored version, or `None` if the user does not exist.
        current: Option<u64>,
    },
    /// The user does not exist (delete without a precondition).
    #[error("user not found")]
    NotFound,
    /// The backing store could not be reached or refused for now (throttling, timeouts, 5xx).
    #[error("the permissions store is unavailable")]
    Unavailable {
        /// What went wrong underneath.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
        /// How long a client should wait before trying again, if known.
        retry_after: Option<Duration>,
    },
    /// A stored item could not be read as permissions.
    #[error("stored item for user {id:?} is malformed: {reason}")]
    Corrupt {
        /// The user id of the item.
        id: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Any other failure of the store.
    #[error("permissions store error")]
    Internal(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps an error from below as [`StoreError::Internal`].
    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Arc::new(err))
    }

    /// Wraps an error from below as [`StoreError::Unavailable`].
    pub fn unavailable(
        err: impl std::error::Error + Send + Sync + 'static,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::Unavailable {
            source: Arc::new(err),
            retry_after,
        }
    }
}

/// The most ids one [`PermissionStore::batch_get`] takes.
pub const MAX_BATCH_GET: usize = 100;
/// The most users one page of [`PermissionStore::list_by_company`] holds.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// Where users' permissions are kept.
#[async_trait]
pub trait PermissionStore: Send + Sync + 'static {
    /// The user's permissions, or `None` if none are stored.
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError>;

    /// The user's permissions as the store itself holds them now, past any cache in front of it:
    /// what a read-modify-write (PATCH) starts from, so that its `If-Match` is compared with the
    /// stored version, never a cached one. Stores without a cache answer as [`Self::get`].
    async fn get_latest(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.get(id).await
    }

    /// The user's permissions read as fresh as `consistency` asks, and how fresh the answer is.
    ///
    /// Stores without a cache have nothing older to serve: they answer from [`Self::get`] (or
    /// [`Self::get_latest`] for a fully consistent read) with no freshness. The cache overrides
    /// this to serve its entries when they are fresh enough and to say how old they are.
    ///
    /// The answer is shared (an [`Arc`]): a cache hands out the entry it holds without copying it.
    async fn get_with(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Served<Option<Arc<UserPermissions>>>, StoreError> {
        let found = match consistency {
            Consistency::MinimizeLatency => self.get(id).await?,
            Consistency::Full => self.get_latest(id).await?,
            Consistency::AtLeast(_) => {
                let found = self.get(id).await?;
                if consistency.accepts_cached(found.as_ref().map(|u| u.version)) {
                    found
                } else {
                    self.get_latest(id).await?
                }
            }
        };
        Ok(Served::uncached(found.map(Arc::new)))
    }

    /// Creates or replaces the user's permissions if `precondition` holds, setting `version` to the
    /// stored version + 1 (1 on create), `updatedAt` to now and `updatedBy` to the author's actor,
    /// and records the change in the user's history in the same atomic step.
    ///
    /// Callers use this form; stores implement [`Self::apply_put`], which takes the same as one
    /// [`Put`], so that the store and every layer around it (cache, metrics) state it once.
    async fn put(
        &self,
        id: &UserId,
        permissions: &Permissions,
        precondition: Precondition,
        author: Author<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        self.apply_put(Put {
            id,
            permissions,
            precondition,
            author,
        })
        .await
    }

    /// [`Self::put`], as each store carries it out.
    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError>;

    /// Deletes the user if `precondition` holds, returning what was stored, and records the
    /// deletion in the user's history (readable for
    /// [`DELETED_HISTORY_RETENTION`](crate::domain::history::DELETED_HISTORY_RETENTION)). Without a
    /// precondition a missing user is [`StoreError::NotFound`]; with one, a
    /// [`StoreError::Conflict`]. Stores implement [`Self::apply_delete`].
    async fn delete(
        &self,
        id: &UserId,
        precondition: Precondition,
        author: Author<'_>,
    ) -> Result<UserPermissions, StoreError> {
        self.apply_delete(Delete {
            id,
            precondition,
            author,
        })
        .await
    }

    /// [`Self::delete`], as each store carries it out.
    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError>;

    /// The user's recorded changes, newest first: the entries kept (see
    /// [`crate::domain::history`]), or none for a user never written, or deleted longer ago than
    /// the retention. Read past any cache.
    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError>;

    /// At most `limit` users of `company`, going on from `after` (a [`Page::next`] this store
    /// gave for the same company), or from the start.
    ///
    /// The contract, checked for every store by the contract suite:
    /// - a page may hold fewer than `limit` users, even none, as long as `next` is `Some`: a store
    ///   may bound how much it reads per call. `next` is `None` only when nothing is left;
    /// - following `next` from the start until it is `None` yields every user who was a member
    ///   throughout, exactly once, and no one who was not a member when read. The order is the
    ///   store's own, stable for a given store.
    ///
    /// Stores implement [`Self::list_page`], which takes the same as one [`Listing`].
    async fn list_by_company(
        &self,
        company: &CompanyId,
        limit: usize,
        after: Option<&Position>,
    ) -> Result<Page, StoreError> {
        self.list_page(Listing {
            company,
            limit,
            after,
        })
        .await
    }

    /// [`Self::list_by_company`], as each store carries it out.
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError>;

    /// The users among `ids` that exist (at most [`MAX_BATCH_GET`] ids), in no particular order.
    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError>;

    /// [`Self::batch_get`], as fresh as `consistency` asks. Stores without a cache have nothing
    /// older to serve and answer as [`Self::batch_get`]; the cache reads past its entries that are
    /// not fresh enough.
    async fn batch_get_with(
        &self,
        ids: &[UserId],
        consistency: Consistency,
    ) -> Result<Vec<UserPermissions>, StoreError> {
        let _ = consistency;
        self.batch_get(ids).await
    }

    /// Whether the store can serve requests now.
    async fn ready(&self) -> Result<(), StoreError>;

    /// A short name of the kind of store (`embedded`, `dynamodb`, `memory`), the `store` label of
    /// its metrics.
    fn label(&self) -> &'static str {
        "other"
    }
}

#[async_trait]
impl<S: PermissionStore + ?Sized> PermissionStore for Arc<S> {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        (**self).get(id).await
    }
    async fn get_latest(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        (**self).get_latest(id).await
    }
    async fn get_with(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Served<Option<Arc<UserPermissions>>>, StoreError> {
        (**self).get_with(id, consistency).await
    }
    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        (**self).apply_put(put).await
    }
    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        (**self).apply_delete(delete).await
    }
    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        (**self).history(id).await
    }
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        (**self).list_page(listing).await
    }
    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        (**self).batch_get(ids).await
    }
    async fn batch_get_with(
        &self,
        ids: &[UserId],
        consistency: Consistency,
    ) -> Result<Vec<UserPermissions>, StoreError> {
        (**self).batch_get_with(ids, consistency).await
    }
    async fn ready(&self) -> Result<(), StoreError> {
        (**self).ready().await
    }
    fn label(&self) -> &'static str {
        (**self).label()
    }
}

/// Checks `precondition` against what is stored (`current`), the same way for every store.
pub fn check_precondition(
    precondition: Precondition,
    current: Option<&UserPermissions>,
) -> Result<(), StoreError> {
    check_version(precondition, current.map(|c| c.version))
}

/// Checks a deletion's `precondition` against what is stored (`current`), the same way for every
/// store: a missing user is [`StoreError::NotFound`] without a precondition and a
/// [`StoreError::Conflict`] with one.
pub fn check_delete(
    precondition: Precondition,
    current: Option<&UserPermissions>,
) -> Result<(), StoreError> {
    if current.is_none() && precondition == Precondition::None {
        return Err(StoreError::NotFound);
    }
    check_precondition(precondition, current)
}

/// Checks `precondition` against the stored version alone (`None`: no user stored).
pub fn check_version(precondition: Precondition, version: Option<u64>) -> Result<(), StoreError> {
    let ok = match precondition {
        Precondition::None => true,
        Precondition::MustNotExist => version.is_none(),
        Precondition::MustExist => version.is_some(),
        Precondition::Version(v) => version == Some(v),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict { current: version })
    }
}

/// The record a write stores, given what was there before.
pub fn next_record(
    id: &UserId,
    permissions: &Permissions,
    before: Option<&UserPermissions>,
    actor: Option<&str>,
) -> UserPermissions {
    UserPermissions {
        id: id.clone(),
        companies: permissions.companies.clone(),
        role: permissions.role.clone(),
        version: before.map_or(0, |b| b.version) + 1,
        updated_at: Some(now()),
        updated_by: actor.map(Into::into),
    }
}

/// The history a write leaves, given the stored history (oldest first), what was stored before
/// (`None`: absent) and after (`None`: deleted): the same for every store.
pub fn next_history(
    stored: Vec<HistoryEntry>,
    before: Option<&UserPermissions>,
    after: Option<&UserPermissions>,
    author: Author<'_>,
    at: time::OffsetDateTime,
) -> Vec<HistoryEntry> {
    let mut history = crate::domain::history::continued(stored, before.is_some());
    let entry = HistoryEntry::new(&history, at, author.actor, author.request_id, before, after);
    crate::domain::history::append(&mut history, entry);
    history
}

/// The stored history (oldest first) as [`PermissionStore::history`] answers it at `now`: newest
/// first, and nothing once a deleted user's retention has passed.
pub fn readable_history(
    mut stored: Vec<HistoryEntry>,
    now: time::OffsetDateTime,
) -> Vec<HistoryEntry> {
    if !crate::domain::history::is_readable(&stored, now) {
        return Vec::new();
    }
    stored.reverse();
    stored
}

/// The current time, to millisecond precision (what every store keeps).
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}
