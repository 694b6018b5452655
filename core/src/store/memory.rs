//! An in-memory store: fast and dependency-free, for unit tests and as the baseline the other
//! stores are checked against. It keeps nothing across restarts.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    Author, Delete, Listing, MAX_BATCH_GET, Page, PermissionStore, Position, Put, StoreError,
    WriteOutcome, check_delete, check_precondition, next_history, next_record, readable_history,
};
use crate::domain::{HistoryEntry, UserId, UserPermissions};

/// Permissions held in a map in memory.
///
/// A std `Mutex` guards the maps: every critical section is a few map operations with no `.await`
/// inside, so an async lock would only add cost.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

/// The users and their histories (oldest entry first), changed together under one lock.
#[derive(Debug, Default)]
struct State {
    users: BTreeMap<UserId, UserPermissions>,
    history: BTreeMap<UserId, Vec<HistoryEntry>>,
}

impl State {
    fn record(
        &mut self,
        id: &UserId,
        before: Option<&UserPermissions>,
        after: Option<&UserPermissions>,
        author: Author<'_>,
        at: time::OffsetDateTime,
    ) {
        let stored = self.history.remove(id).unwrap_or_default();
        let history = next_history(stored, before, after, author, at);
        self.history.insert(id.clone(), history);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `user` exactly as given (version included), as another tool might have written it.
    /// (Records no history, as another tool would not.)
    pub fn insert_raw(&self, user: UserPermissions) {
        self.lock().users.insert(user.id.clone(), user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated (each write computes
        // everything first, then inserts), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl PermissionStore for MemoryStore {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        Ok(self.lock().users.get(id).cloned())
    }

    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        let mut state = self.lock();
        let before = state.users.get(put.id).cloned();
        check_precondition(put.precondition, before.as_ref())?;
        let after = next_record(put.id, put.permissions, before.as_ref(), put.author.actor);
        let at = after.updated_at.unwrap_or_else(super::now);
        state.record(put.id, before.as_ref(), Some(&after), put.author, at);
        state.users.insert(put.id.clone(), after.clone());
        Ok(WriteOutcome { before, after })
    }

    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        let (id, precondition, author) = (delete.id, delete.precondition, delete.author);
        let mut state = self.lock();
        let current = state.users.get(id);
        check_delete(precondition, current)?;
        let removed = state.users.remove(id).ok_or(StoreError::NotFound)?;
        state.record(id, Some(&removed), None, author, super::now());
        Ok(removed)
    }

    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        let stored = self.lock().history.get(id).cloned().unwrap_or_default();
        Ok(readable_history(stored, super::now()))
    }

    /// Reads the whole map in id order and stops one member past the page, so a page is full
    /// unless the listing ends with it; the position is the last id returned.
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        let (company, limit, after) = (listing.company, listing.limit, listing.after);
        let state = self.lock();
        let mut matching = state
            .users
            .iter()
            .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()))
            .map(|(_, u)| u)
            .filter(|u| u.has_company(company));
        let page: Vec<UserPermissions> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let next = if more {
            page.last().map(|u| Position::after(&u.id))
        } else {
            None
        };
        Ok(Page { users: page, next })
    }

    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        debug_assert!(ids.len() <= MAX_BATCH_GET);
        let state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| state.users.get(id).cloned())
            .collect())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn label(&self) -> &'static str {
        "memory"
    }
}
