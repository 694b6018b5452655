//! Shared pieces: the permissions service in-process on a free port. (Seeded stores are
//! `clearance_tests::seed`.)

use clearance_core::store::PermissionStore;
use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::server::TestServer;

/// The permissions service serving `store` with its default settings (cache on).
pub async fn service<S: PermissionStore>(store: S) -> TestServer {
    service_with(store, Settings::for_data_dir("unused")).await
}

/// The permissions service serving `store` with `settings` (its cache TTLs among them).
pub async fn service_with<S: PermissionStore>(store: S, settings: Settings) -> TestServer {
    TestServer::start(clearance_service::app(startup::with_cache(
        store, &settings,
    )))
    .await
}
