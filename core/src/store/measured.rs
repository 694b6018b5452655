//! A store that times every call and counts its failures ([`crate::metrics::STORE_CALL_DURATION`]
//! and [`crate::metrics::STORE_ERRORS`], by operation), and otherwise answers exactly as the store
//! it wraps. It sits under the cache, so only the calls that reach the store are measured: a cache
//! hit costs nothing here.

use std::time::Instant;

use async_trait::async_trait;
use metrics::Histogram;

use super::{Delete, Listing, Page, PermissionStore, Put, StoreError, WriteOutcome};
use crate::domain::{HistoryEntry, UserId, UserPermissions};
use crate::metrics::{STORE_CALL_DURATION, STORE_ERRORS};

/// The store calls, in the order of [`Measured`]'s histograms.
const OPERATIONS: [&str; 8] = [
    "get",
    "get_latest",
    "put",
    "delete",
    "list_by_company",
    "batch_get",
    "ready",
    "history",
];

/// `inner`, with every call timed and every failure counted under the label `store`.
pub struct Measured<S> {
    inner: S,
    store: &'static str,
    /// One histogram per operation, registered once (a name-and-label lookup per call would cost
    /// more than the record).
    durations: [Histogram; OPERATIONS.len()],
}

impl<S> std::fmt::Debug for Measured<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measured")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl<S> Measured<S> {
    /// Wraps `inner`, labelling its figures with its [`PermissionStore::label`].
    pub fn new(inner: S) -> Self
    where
        S: PermissionStore,
    {
        let store = inner.label();
        Self {
            inner,
            store,
            durations: OPERATIONS.map(
                |op| metrics::histogram!(STORE_CALL_DURATION, "store" => store, "operation" => op),
            ),
        }
    }

    /// The store behind.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    async fn timed<T>(
        &self,
        op: usize,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.durations[op].record(started.elapsed());
        if let Err(err) = &result {
            metrics::counter!(
                STORE_ERRORS,
                "store" => self.store,
                "operation" => OPERATIONS[op],
                "kind" => error_kind(err),
            )
            .increment(1);
        }
        result
    }
}

/// The label of a store error's kind.
pub fn error_kind(err: &StoreError) -> &'static str {
    match err {
        StoreError::Conflict { .. } => "precondition_failed",
        StoreError::NotFound => "not_found",
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Corrupt { .. } => "corrupt",
        StoreError::Internal(_) => "internal",
    }
}

#[async_trait]
impl<S: PermissionStore> PermissionStore for Measured<S> {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.timed(0, self.inner.get(id)).await
    }

    async fn get_latest(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        self.timed(1, self.inner.get_latest(id)).await
    }

    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        self.timed(2, self.inner.apply_put(put)).await
    }

    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        self.timed(3, self.inner.apply_delete(delete)).await
    }

    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.timed(7, self.inner.history(id)).await
    }

    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        self.timed(4, self.inner.list_page(listing)).await
    }

    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        self.timed(5, self.inner.batch_get(ids)).await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.timed(6, self.inner.ready()).await
    }

    fn label(&self) -> &'static str {
        self.store
    }
}
