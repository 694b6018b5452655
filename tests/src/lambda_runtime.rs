//! A fake AWS Lambda Runtime API, served over a real socket.
//!
//! A Lambda binary (built on `lambda_runtime` or `lambda_http`) polls
//! `GET /2018-06-01/runtime/invocation/next` for an event and posts its answer to
//! `.../invocation/{id}/response` (or `/error`). This server plays AWS's part: tests queue an event
//! with [`FakeRuntime::invoke`] and get back exactly what the function answered, so the binary is
//! exercised end to end, from its own `main`, as it runs on Lambda.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// What a function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function returned this JSON.
    Response(Value),
    /// The function reported an error (the runtime's error document).
    Error(Value),
}

struct Pending {
    id: String,
    event: Value,
}

struct Shared {
    queue_rx: Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
}

/// The fake Runtime API server. Stops when dropped.
pub struct FakeRuntime {
    addr: SocketAddr,
    queue_tx: mpsc::UnboundedSender<Pending>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl FakeRuntime {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Self {
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue_rx: Mutex::new(queue_rx),
            waiters: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Lambda Runtime API");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            queue_tx,
            shared,
            next_id: AtomicU64::new(1),
            server,
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment a Lambda function sees, pointing at this server.
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test-stream".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// A command that starts `binary` as a Lambda function bound to this server, with `extra_env`
    /// added, its standard input closed and the process killed when its child is dropped. Tests
    /// run functions with [`crate::function::Function`], which builds on this.
    pub fn command(
        &self,
        binary: &Path,
        function_name: &str,
        extra_env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary);
        command
            .envs(self.lambda_env(function_name))
            .envs(extra_env.iter().copied())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Queues `event` and waits (up to `timeout`) for the function's answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Outcome {
        let id = format!("req-{:08}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        self.shared.waiters.lock().await.insert(id.clone(), tx);
        self.queue_tx
            .send(Pending { id, event })
            .expect("the fake runtime is running");
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => panic!("the fake runtime dropped the invocation"),
            Err(_) => {
                let init = self.shared.init_error.lock().await.clone();
                panic!("the function did not answer within {timeout:?} (init error: {init:?})")
            }
        }
    }

    /// The error the function reported while starting, if any.
    pub async fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().await.clone()
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let pending = shared.queue_rx.lock().await.recv().await;
    let Some(pending) = pending else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let put = |headers: &mut HeaderMap, k: &'static str, v: String| {
        headers.insert(k, HeaderValue::from_str(&v).expect("header value"));
    };
    put(
        &mut headers,
        "lambda-runtime-aws-request-id",
        pending.id.clone(),
    );
    put(
        &mut headers,
        "lambda-runtime-deadline-ms",
        deadline.to_string(),
    );
    put(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
    );
    put(
        &mut headers,
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into(),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (
        StatusCode::OK,
        headers,
        Bytes::from(serde_json::to_vec(&pending.event).expect("event JSON")),
    )
}

async fn complete(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.waiters.lock().await.remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&shared, &id, Outcome::Response(json_or_text(&body))).await
}

async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&shared, &id, Outcome::Error(json_or_text(&body))).await
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().await = Some(json_or_text(&body));
    StatusCode::ACCEPTED
}
