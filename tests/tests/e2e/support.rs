//! Shared pieces: the permissions service in-process on a free port, and seeding helpers.

use std::sync::Arc;

use clearance_core::domain::{CompanyId, Permissions, Role, UserId};
use clearance_core::store::{PermissionStore, Precondition};
use clearance_service::config::Settings;
use tokio::sync::oneshot;

/// The permissions service, serving `store` on 127.0.0.1, stopped when dropped.
pub struct Service {
    pub url: String,
    _stop: oneshot::Sender<()>,
}

impl Service {
    /// Serves `store` with the service's default settings (cache on).
    pub async fn start<S: PermissionStore>(store: S) -> Self {
        Self::start_with(store, Settings::for_data_dir("unused")).await
    }

    /// Serves `store` with `settings` (its cache TTLs among them).
    pub async fn start_with<S: PermissionStore>(store: S, settings: Settings) -> Self {
        let state = clearance_service::startup::with_cache(store, &settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(clearance_service::startup::serve(
            listener,
            clearance_service::app(state),
            async {
                let _ = rx.await;
            },
        ));
        Self { url, _stop: tx }
    }
}

/// Stores a user's permissions.
pub async fn grant(store: &dyn PermissionStore, id: &str, companies: &[&str], role: &str) {
    let permissions = Permissions::new(
        companies
            .iter()
            .map(|c| CompanyId::parse(*c).unwrap())
            .collect(),
        Role::from_stored(role),
    )
    .unwrap();
    store
        .put(
            &UserId::parse(id).unwrap(),
            &permissions,
            Precondition::None,
            Some("test"),
        )
        .await
        .unwrap();
}

/// A memory store shared between the test and a service.
pub fn memory() -> Arc<clearance_core::store::memory::MemoryStore> {
    Arc::new(clearance_core::store::memory::MemoryStore::new())
}
