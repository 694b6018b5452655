//! dynalite, an in-memory DynamoDB-compatible server from npm, run as a child process for tests.
//!
//! [`Dynalite::start`] runs `node tests/node/node_modules/dynalite/cli.js` on a free loopback port
//! and waits until it listens; dropping the [`Dynalite`] kills the process. Tables are created
//! without delay (`--createTableMs 0`), and each test makes its own with
//! [`Dynalite::fresh_table`]. Nothing is kept on disk: a restart starts empty.
//!
//! dynalite is installed with `npm ci --prefix tests/node`; when it (or node) is missing the tests
//! fail and say so, they are never skipped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

/// How long dynalite may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many free ports to try when another process takes the one picked first.
const PORT_ATTEMPTS: u32 = 5;
/// What to run when dynalite is not installed.
const INSTALL_HINT: &str =
    "run `npm ci --prefix tests/node` in the workspace root (needs Node.js 18 or later)";

/// Numbers the tables made by this process.
static NEXT_TABLE: AtomicU32 = AtomicU32::new(1);

/// A running dynalite server, killed when dropped.
#[derive(Debug)]
pub struct Dynalite {
    port: u16,
    child: Option<Child>,
}

impl Dynalite {
    /// Starts dynalite on a free port of 127.0.0.1 and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// When node or dynalite is missing (the message says what to install), or dynalite does not
    /// start listening within a few seconds.
    pub async fn start() -> Self {
        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port().await;
            match spawn(port).await {
                Ok(child) => {
                    return Self {
                        port,
                        child: Some(child),
                    };
                }
                // Another process took the port between our check and dynalite's bind: try another.
                Err(failure) => last_failure = failure,
            }
        }
        panic!("dynalite did not start after {PORT_ATTEMPTS} tries: {last_failure}");
    }

    /// The server's URL, e.g. `http://127.0.0.1:43127`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (the same after a [`Dynalite::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A DynamoDB client for this server: region us-east-1, fake static credentials (dynalite
    /// checks that requests are signed, not by whom).
    pub fn client(&self) -> Client {
        local_client(self.endpoint())
    }

    /// Kills the server and waits until it has exited; requests fail until [`Dynalite::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An error means the process has exited already, which is what we want.
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port, empty (it keeps nothing across restarts).
    ///
    /// # Panics
    ///
    /// When dynalite cannot listen on the port again.
    pub async fn restart(&mut self) {
        self.stop().await;
        let child = spawn(self.port)
            .await
            .unwrap_or_else(|failure| panic!("dynalite did not restart: {failure}"));
        self.child = Some(child);
    }

    /// Creates a table with a name no other test uses and the reference design's schema (`id`, a
    /// string, as the only key; on-demand billing), waits until it is active, and returns its name.
    ///
    /// The table is made with the SDK directly, as another tool would make it, not by the store.
    ///
    /// # Panics
    ///
    /// When the table cannot be created.
    pub async fn fresh_table(&self) -> String {
        let name = format!(
            "clearance-test-{}-{}",
            std::process::id(),
            NEXT_TABLE.fetch_add(1, Ordering::Relaxed)
        );
        self.create_table_keyed_by(&name, "id").await;
        name
    }

    /// Creates the table `name` with the string attribute `key` as its only key (on-demand
    /// billing), as another tool would make it, and waits until it is active. With a key other
    /// than `id`, it is some other application's table.
    ///
    /// # Panics
    ///
    /// When the table cannot be created.
    pub async fn create_table_keyed_by(&self, name: &str, key: &str) {
        let client = self.client();
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key)
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key schema"),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating table {name} on dynalite: {e:?}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("describing table {name} on dynalite: {e:?}"))
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "table {name} is still {status:?} on dynalite"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Dynalite {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Sends the kill now; `kill_on_drop` is the backstop if this is skipped.
            let _ = child.start_kill();
        }
    }
}

/// A DynamoDB client for a local server at `endpoint`: region us-east-1, fake static credentials,
/// the SDK's default retries and timeouts.
pub fn local_client(endpoint: impl Into<String>) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDFAKEDYNALITE",
            "fake-secret",
            None,
            None,
            "dynalite",
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

fn cli_path() -> PathBuf {
    crate::workspace_root().join("tests/node/node_modules/dynalite/cli.js")
}

/// A port that was free a moment ago.
async fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("binding a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// Runs dynalite on `port` and waits until it listens there. An error (as text for the panic
/// message) means it exited before listening, most likely because the port was taken.
async fn spawn(port: u16) -> Result<Child, String> {
    let cli = cli_path();
    assert!(
        cli.is_file(),
        "dynalite is not installed ({} is missing): {INSTALL_HINT}",
        cli.display()
    );
    let mut child = Command::new("node")
        .arg(&cli)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `node` ({e}); install Node.js 18 or later, then {INSTALL_HINT}")
        });

    // dynalite prints one line once it listens, and exits if it cannot.
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let listening = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.ok().flatten() {
            if line.contains("listening") {
                return true;
            }
        }
        false
    })
    .await;
    match listening {
        Ok(true) => {}
        Ok(false) => {
            let status = child
                .wait()
                .await
                .map_or_else(|e| e.to_string(), |s| s.to_string());
            return Err(format!(
                "dynalite exited before listening on port {port} ({status})"
            ));
        }
        Err(_) => panic!("dynalite did not listen on port {port} within {START_TIMEOUT:?}"),
    }
    // Keep reading so that dynalite never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    wait_for_connection(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await;
    Ok(child)
}

async fn wait_for_connection(addr: SocketAddr) {
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "dynalite said it listens but {addr} refuses connections"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
