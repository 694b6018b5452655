//! [`Function`]: a Lambda binary run as a process behind its own [`FakeRuntime`], as Lambda runs
//! it, with its logs captured.
//!
//! The function's standard output (where Lambda functions log) is read continuously into memory,
//! so a chatty function never blocks on a full pipe, and a test can assert what was logged (and
//! what never is: a token, an `ERROR` line) once the function has stopped.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt as _;

use crate::lambda_runtime::{FakeRuntime, Outcome};

/// How long an invocation may take, start-up included: generous, so a busy machine cannot make a
/// test flaky. (A function that is meant to be slow is tested against its own budget instead.)
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(20);

/// A running Lambda function and the fake Runtime API that feeds it. The process is killed when
/// this is dropped.
pub struct Function {
    runtime: FakeRuntime,
    child: tokio::process::Child,
    // A std mutex: it is only held to append or copy, never across an `.await`.
    logs: Arc<Mutex<Vec<u8>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Function {
    /// Starts `binary` as the function `name`, with `env` added to the environment Lambda sets.
    pub async fn start(binary: impl AsRef<Path>, name: &str, env: &[(&str, &str)]) -> Self {
        let binary = binary.as_ref();
        let runtime = FakeRuntime::start().await;
        let mut child = runtime
            .command(binary, name, env)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut stdout = child.stdout.take().expect("piped standard output");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let reader = tokio::spawn(async move {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stdout.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                sink.lock().expect("logs").extend_from_slice(&chunk[..n]);
            }
        });
        Self {
            runtime,
            child,
            logs,
            reader,
        }
    }

    /// The fake Runtime API the function polls.
    pub fn runtime(&self) -> &FakeRuntime {
        &self.runtime
    }

    /// Sends `event` and waits (up to [`INVOKE_TIMEOUT`]) for what the function made of it.
    pub async fn invoke(&self, event: Value) -> Outcome {
        self.runtime.invoke(event, INVOKE_TIMEOUT).await
    }

    /// Sends `event` and returns the function's response; panics if it reported an error.
    pub async fn respond(&self, event: Value) -> Value {
        match self.invoke(event).await {
            Outcome::Response(response) => response,
            Outcome::Error(error) => panic!("the function failed: {error}"),
        }
    }

    /// Sends `event` and returns the error the function reported; panics if it answered.
    pub async fn fail(&self, event: Value) -> Value {
        match self.invoke(event).await {
            Outcome::Error(error) => error,
            Outcome::Response(response) => panic!("expected an error, got {response}"),
        }
    }

    /// What the function has logged so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().expect("logs")).into_owned()
    }

    /// Stops the function and returns everything it logged.
    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        let _ = (&mut self.reader).await;
        self.logs()
    }

    /// Waits (up to `within`) for the function to exit on its own, as one that refuses its
    /// configuration at start-up does; returns how it exited.
    pub async fn exit(mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the function still runs after {within:?}"))
            .expect("the function's exit status")
    }
}
