//! Shared pieces: the permissions service in-process on a free port, and two instances of it
//! over one dynalite table. (Seeded stores are `clearance_tests::seed`.)

use clearance_core::store::PermissionStore;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::dynalite::Dynalite;
use clearance_tests::seed::grant;
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

/// The table `name` through a DynamoDB client of its own, as another process would open it.
pub fn table(dynalite: &Dynalite, name: &str) -> DynamoStore {
    DynamoStore::from_client(dynalite.client(), name, &DynamoSettings::new(name))
}

/// A fresh dynalite table holding `user` as a Manager of 1111, and two service instances over it
/// (A and B, each with its own default cache), as two Lambda sandboxes or containers would be:
/// the server, the table's name, A and B.
pub async fn two_instances(user: &str) -> (Dynalite, String, TestServer, TestServer) {
    let dynalite = Dynalite::start().await;
    let name = dynalite.fresh_table().await;
    grant(&table(&dynalite, &name), user, &["1111"], "Manager").await;
    let instance_a = service(table(&dynalite, &name)).await;
    let instance_b = service(table(&dynalite, &name)).await;
    (dynalite, name, instance_a, instance_b)
}

/// Sends `request` and reads its answer as JSON.
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}
