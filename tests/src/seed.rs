//! Seeded stores: the users a test starts with, written into any [`PermissionStore`].
//!
//! ```ignore
//! let store = seed::users()
//!     .grant("manager-1", &["1111"], "Manager")
//!     .grant("standard-1", &["1111", "2222"], "Standard")
//!     .memory()
//!     .await;
//! ```
//!
//! Users are written through the store's own `put`, as the service writes them, so a seeded store
//! holds exactly what the service would have stored (version 1, no author).

use std::sync::Arc;

use clearance_core::domain::{CompanyId, Permissions, Role, UserId, UserPermissions};
use clearance_core::store::memory::MemoryStore;
use clearance_core::store::{Author, PermissionStore, Precondition};

/// Users to seed a store with, in the order they were granted.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<(UserId, Permissions)>,
}

/// No users yet: add them with [`Users::grant`].
pub fn users() -> Users {
    Users::default()
}

impl Users {
    /// Adds a user with `role` in `companies`; panics on an id, company or list the domain rules
    /// refuse (a seed is test data: it must be valid).
    pub fn grant(mut self, id: &str, companies: &[&str], role: &str) -> Self {
        self.users.push((user_id(id), permissions(companies, role)));
        self
    }

    /// The users as a store holds them after one write each (version 1, no author).
    pub fn permissions(&self) -> Vec<UserPermissions> {
        self.users
            .iter()
            .map(|(id, permissions)| UserPermissions {
                id: id.clone(),
                companies: permissions.companies.clone(),
                role: permissions.role.clone(),
                version: 1,
                updated_at: None,
                updated_by: None,
            })
            .collect()
    }

    /// Writes every user into `store`.
    pub async fn write_to(&self, store: &dyn PermissionStore) {
        for (id, permissions) in &self.users {
            store
                .put(id, permissions, Precondition::None, Author::NONE)
                .await
                .unwrap_or_else(|e| panic!("seeding {id}: {e}"));
        }
    }

    /// A fresh in-memory store holding these users.
    pub async fn memory(&self) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new());
        self.write_to(store.as_ref()).await;
        store
    }
}

/// Stores one user's permissions in `store`.
pub async fn grant(store: &dyn PermissionStore, id: &str, companies: &[&str], role: &str) {
    users().grant(id, companies, role).write_to(store).await;
}

/// An empty in-memory store, to share between a test and the app it starts.
pub fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

fn user_id(id: &str) -> UserId {
    UserId::parse(id).unwrap_or_else(|e| panic!("user id {id:?}: {e}"))
}

fn permissions(companies: &[&str], role: &str) -> Permissions {
    let companies = companies
        .iter()
        .map(|c| CompanyId::parse(*c).unwrap_or_else(|e| panic!("company id {c:?}: {e}")))
        .collect();
    Permissions::new(companies, Role::from_stored(role))
        .unwrap_or_else(|e| panic!("permissions {role:?}: {e}"))
}
