//! `--api`: through the real permissions API, started in this process on 127.0.0.1:0.

use std::sync::Arc;

use clearance_core::domain::{RoleOrder, UserId};
use clearance_core::store::PermissionStore;
use clearance_core::store::memory::MemoryStore;
use clearance_service::AppState;
use clearance_tests::seed;
use clearance_tests::server::TestServer;

use crate::helpers::{Seed, Workspace};

/// The service over an in-memory store, on a free loopback port.
struct Api {
    url: String,
    store: Arc<MemoryStore>,
    _server: TestServer,
}

impl Api {
    async fn start() -> Self {
        let store = seed::memory();
        let state = AppState::new(store.clone(), RoleOrder::default());
        let server = TestServer::start(clearance_service::app(state)).await;
        Self {
            url: server.url(),
            store,
            _server: server,
        }
    }

    async fn user(&self, id: &str) -> Option<(Vec<String>, String, u64, Option<String>)> {
        self.store
            .get(&UserId::parse(id).unwrap())
            .await
            .unwrap()
            .map(|u| {
                (
                    u.companies.iter().map(|c| c.to_string()).collect(),
                    u.role.to_string(),
                    u.version,
                    u.updated_by.as_ref().map(ToString::to_string),
                )
            })
    }

    async fn put(&self, id: &str, company: &str, role: &str) {
        seed::grant(self.store.as_ref(), id, &[company], role).await;
    }
}

const FILE: &str = "id,companies,role\nbob@example.com,1111;2222,Manager\na/b?c,3333,Admin\n";

#[tokio::test]
async fn upsert_through_the_api_writes_every_user() {
    let api = Api::start().await;
    api.put("bob@example.com", "9999", "Standard").await;
    let ws = Workspace::new();

    let run = Seed::new(["import", &ws.file("u.csv", FILE), "--api", &api.url])
        .run()
        .await
        .expect(0);

    run.says("written 2, skipped 0, failed 0");
    let (companies, role, version, _) = api.user("bob@example.com").await.unwrap();
    assert_eq!(
        (companies, role.as_str(), version),
        (vec!["1111".into(), "2222".into()], "Manager", 2)
    );
    let (companies, _, version, _) = api.user("a/b?c").await.unwrap();
    assert_eq!((companies, version), (vec!["3333".to_owned()], 1));
}

#[tokio::test]
async fn insert_only_through_the_api_leaves_existing_users_untouched() {
    let api = Api::start().await;
    api.put("bob@example.com", "9999", "Standard").await;
    let ws = Workspace::new();

    let run = Seed::new(["import", &ws.file("u.csv", FILE), "--mode", "insert-only"])
        .env("CLEARANCE_API_URL", &api.url)
        .run()
        .await
        .expect(0);

    run.says("written 1, skipped 1, failed 0");
    run.says("left untouched, they exist already (1):\n  bob@example.com\n");
    let (companies, role, version, _) = api.user("bob@example.com").await.unwrap();
    assert_eq!(
        (companies, role.as_str(), version),
        (vec!["9999".into()], "Standard", 1)
    );
    assert!(api.user("a/b?c").await.is_some());
}

#[tokio::test]
async fn replace_all_through_the_api_is_refused_before_anything_is_read() {
    let api = Api::start().await;
    let run = Seed::new([
        "import",
        "does-not-exist.csv",
        "--api",
        &api.url,
        "--mode",
        "replace-all",
        "--yes",
    ])
    .run()
    .await
    .expect(1);
    run.says("no endpoint that lists every user");
}

#[tokio::test]
async fn records_the_api_refuses_are_named_with_its_reason_and_the_exit_status_is_2() {
    let api = Api::start().await;
    let ws = Workspace::new();
    let file = ws.file("u.csv", "id,companies,role\nok,1,Admin\nboss,1,Owner\n");

    let run = Seed::new([
        "import",
        &file,
        "--api",
        &api.url,
        "--roles",
        "Standard,Manager,Admin,Owner",
    ])
    .run()
    .await
    .expect(2);

    run.says("written 1, skipped 0, failed 1");
    run.says("the API refused it (400 Bad Request): role: must be one of Standard, Manager, Admin");
    run.says("  boss\n");
    assert!(api.user("ok").await.is_some());
}

#[tokio::test]
async fn an_api_that_does_not_answer_is_reported_not_written() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let ws = Workspace::new();

    let run = Seed::new([
        "import",
        &ws.file("u.csv", FILE),
        "--api",
        &url,
        "--max-retry-time",
        "300ms",
    ])
    .run()
    .await
    .expect(2);

    run.says("failed 2");
    run.says("no answer from the API");
}
