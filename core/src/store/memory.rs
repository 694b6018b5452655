//! An in-memory store: fast and dependency-free, for unit tests and as the baseline the other
//! stores are checked against. It keeps nothing across restarts.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    MAX_BATCH_GET, Page, PermissionStore, Position, Precondition, StoreError, WriteOutcome,
    check_precondition, next_record,
};
use crate::domain::{CompanyId, Permissions, UserId, UserPermissions};

/// Permissions held in a map in memory.
///
/// A std `Mutex` guards the map: every critical section is a few map operations with no `.await`
/// inside, so an async lock would only add cost.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<BTreeMap<UserId, UserPermissions>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `user` exactly as given (version included), as another tool might have written it.
    pub fn insert_raw(&self, user: UserPermissions) {
        self.lock().insert(user.id.clone(), user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<UserId, UserPermissions>> {
        // A panic while holding the lock cannot leave the map half-updated (each operation is a
        // single insert or remove), so a poisoned lock is safe to reuse.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl PermissionStore for MemoryStore {
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn put(
        &self,
        id: &UserId,
        permissions: &Permissions,
        precondition: Precondition,
        actor: Option<&str>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut users = self.lock();
        let before = users.get(id).cloned();
        check_precondition(precondition, before.as_ref())?;
        let after = next_record(id, permissions, before.as_ref(), actor);
        users.insert(id.clone(), after.clone());
        Ok(WriteOutcome { before, after })
    }

    async fn delete(
        &self,
        id: &UserId,
        precondition: Precondition,
    ) -> Result<UserPermissions, StoreError> {
        let mut users = self.lock();
        let current = users.get(id);
        if current.is_none() && precondition == Precondition::None {
            return Err(StoreError::NotFound);
        }
        check_precondition(precondition, current)?;
        users.remove(id).ok_or(StoreError::NotFound)
    }

    /// Reads the whole map in id order and stops one member past the page, so a page is full
    /// unless the listing ends with it; the position is the last id returned.
    async fn list_by_company(
        &self,
        company: &CompanyId,
        limit: usize,
        after: Option<&Position>,
    ) -> Result<Page, StoreError> {
        let users = self.lock();
        let mut matching = users
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
        let users = self.lock();
        Ok(ids.iter().filter_map(|id| users.get(id).cloned()).collect())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn label(&self) -> &'static str {
        "memory"
    }
}
