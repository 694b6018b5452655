//! `TestApp`: the real server on 127.0.0.1:0 (a [`TestServer`]) and typed helpers to talk to it
//! over HTTP, answering the shared [`Answer`]; and [`start_binary`], the service's binary as a
//! process.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use clearance_core::store::PermissionStore;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore, ScanBound};
use clearance_middleware::serve;
use clearance_service::config::{CursorSecret, Settings};
use clearance_service::startup;
pub use clearance_tests::answer::Answer;
use clearance_tests::dynalite::Dynalite;
use clearance_tests::events;
use clearance_tests::server::TestServer;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The service's binary, built by cargo for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_clearance-service");

/// Environment variables a developer's machine or CI might set that would change which store the
/// binary opens, how, or how it authenticates; tests that run the binary clear them (and
/// `AWS_LAMBDA_RUNTIME_API`) and set what they need.
pub const AMBIENT: &[&str] = &[
    "CLEARANCE_STORE",
    "CLEARANCE_CREATE_TABLE",
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "CLEARANCE_CURSOR_SECRET",
    "CLEARANCE_DYNAMODB_LIST_SCAN_PAGES",
    "CLEARANCE_DYNAMODB_LIST_SCAN_PAGE_ITEMS",
    "CLEARANCE_AUTH",
    "CLEARANCE_INSECURE_ALLOW_REMOTE",
    "CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA",
    "COGNITO_USER_POOL_ID",
    "JWT_ISSUER",
];

/// The cursor secret of every [`TestApp`], so a test can make cursors as another instance of the
/// same deployment would.
pub const CURSOR_SECRET: &str = "clearance-tests-cursor-secret-0123456789";

/// The scan bound of [`TestApp::dynalite`]: at most 2 Scan pages of 100 items per listing
/// request, far below the default, so that the listing tests meet short and empty pages.
pub const SUITE_SCAN_BOUND: ScanBound = ScanBound {
    pages: 2,
    page_items: 100,
};

/// A running server and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    server: TestServer,
    /// Keeps what the store needs alive (a temp dir, a dynalite server).
    _guard: Box<dyn std::any::Any + Send>,
}

impl TestApp {
    /// The server on a fresh embedded store (no sample data).
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::for_data_dir(dir.path());
        settings.sample_data = false;
        settings.cursor_secret = Some(CursorSecret::from(CURSOR_SECRET.to_owned()));
        let state = startup::build_state(&settings).await.expect("build state");
        Self::serve(state, Box::new(dir)).await
    }

    /// The server on a fresh table of its own dynalite (kept running until the app is dropped).
    pub async fn dynalite() -> Self {
        let dynalite = Dynalite::start().await;
        let table = dynalite.fresh_table().await;
        let store = dynamo_store(&dynalite, &table, roomy_timeouts(&table))
            .with_scan_bound(SUITE_SCAN_BOUND);
        Self::with_store(store, Box::new(dynalite)).await
    }

    /// The server over `store` with default settings (cache on) and [`CURSOR_SECRET`].
    pub async fn with_store<S: PermissionStore>(
        store: S,
        guard: Box<dyn std::any::Any + Send>,
    ) -> Self {
        let mut settings = Settings::for_data_dir("unused");
        settings.cursor_secret = Some(CursorSecret::from(CURSOR_SECRET.to_owned()));
        let mut state = startup::with_cache(store, &settings);
        state.cursor_key = Arc::new(settings.cursor_key().expect("a long enough secret"));
        Self::serve(state, guard).await
    }

    /// The server with the given settings (its own embedded store in `settings.data_dir`).
    pub async fn with_settings(settings: &Settings) -> Self {
        let state = startup::build_state(settings).await.expect("build state");
        Self::serve(state, Box::new(())).await
    }

    /// The router over `state`, served as `main` serves it.
    pub async fn serve(
        state: clearance_service::AppState,
        guard: Box<dyn std::any::Any + Send>,
    ) -> Self {
        let app = clearance_service::app(state);
        let server =
            TestServer::start_with(|listener, shutdown| serve::serve(listener, app, shutdown))
                .await;
        Self {
            addr: server.addr(),
            client: reqwest::Client::new(),
            server,
            _guard: guard,
        }
    }

    /// Stops the server gracefully and waits until it has let go of its store.
    pub async fn stop(self) {
        self.server.stop().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Answer::send(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], None).await
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(method, path, &all, Some(body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.json(Method::PUT, path, body, &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.json(Method::PATCH, path, body, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.json(Method::POST, path, body, &[]).await
    }

    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(Method::DELETE, path, headers, None).await
    }

    /// Creates a user and asserts it worked.
    pub async fn given_user(&self, id: &str, companies: &[&str], role: &str) -> Value {
        let answer = self
            .put(
                &format!("/users/{id}"),
                serde_json::json!({"companies": companies, "role": role}),
            )
            .await;
        assert!(answer.status.is_success(), "creating {id}: {}", answer.text);
        answer.json()
    }
}

/// An event fixture from `tests/events/`.
pub fn fixture(name: &str) -> Value {
    events::read(env!("CARGO_MANIFEST_DIR"), name)
}

/// DynamoDB settings for `table` with timeouts far above the production defaults, so that a busy
/// machine cannot make a test flaky; the fault tests set their own.
pub fn roomy_timeouts(table: &str) -> DynamoSettings {
    DynamoSettings {
        attempt_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(30),
        ..DynamoSettings::new(table)
    }
}

/// The DynamoDB store on `table` of `dynalite`, with `settings`' retries and timeouts.
pub fn dynamo_store(dynalite: &Dynalite, table: &str, settings: DynamoSettings) -> DynamoStore {
    DynamoStore::from_client(dynalite.client(), table, &settings)
}

/// Runs the binary with `args` and `env` added (the [`AMBIENT`] settings cleared) until it stops on
/// its own, as one refusing its settings does; returns whether it succeeded and its standard error.
pub async fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = tokio::process::Command::new(BINARY);
    command.args(args).env_remove("AWS_LAMBDA_RUNTIME_API");
    for name in AMBIENT {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the binary stops on its own")
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts the binary on a free port with `args` and `env` added, and waits until it listens;
/// returns it, its base URL and the lines it logged until then.
pub async fn start_binary(
    args: &[&str],
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, Vec<String>) {
    let (child, base, seen, _later) = start_binary_logging(args, env).await;
    (child, base, seen)
}

/// Like [`start_binary`] (text logs unless `args` say otherwise), and also hands over the lines
/// it logs from then on.
pub async fn start_binary_logging(
    args: &[&str],
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    String,
    Vec<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(BINARY);
    command.args(["--listen", &listen]);
    if !args.contains(&"--log-format") {
        command.args(["--log-format", "text"]);
    }
    command
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for name in AMBIENT {
        command.env_remove(name);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start the service binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let started = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("listening");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(started, Ok(true)),
        "the service did not start: {seen:?}"
    );
    // Keep draining its output so it never blocks on a full pipe, handing the lines on to whoever
    // still listens.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    (child, format!("http://{listen}"), seen, rx)
}

/// What the SDK's default chain needs to reach dynalite: its URL, a region and fake static
/// credentials (dynalite checks that requests are signed, not by whom).
pub fn dynalite_env(dynalite: &Dynalite) -> Vec<(&'static str, String)> {
    vec![
        ("DYNAMODB_ENDPOINT_URL", dynalite.endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDFAKEBINARYTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
