//! [`TestServer`]: an app under test served on `127.0.0.1:0` in the background, as it is served in
//! production (a real socket, graceful shutdown), stopped when the test is done with it.
//!
//! The caller says how to serve (a plain router, or a crate's own `serve` function, so its start-up
//! code is what runs); the server owns the port and the stop signal. [`SilentServer`] is the
//! opposite: a peer that accepts connections and never answers, for timeout tests.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Completes when the server is asked to stop: hand it to the serving function's graceful
/// shutdown.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A server on a free loopback port. Dropping it asks it to stop; [`TestServer::stop`] also waits.
pub struct TestServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Serves `app` with `axum::serve`.
    pub async fn start(app: axum::Router) -> Self {
        Self::start_with(|listener, shutdown| async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
            Ok::<(), anyhow::Error>(())
        })
        .await
    }

    /// Serves with `serve`, given the bound listener and the shutdown signal; e.g.
    /// `|listener, shutdown| serve::serve(listener, app, shutdown)`.
    pub async fn start_with<F, Fut, E>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<anyhow::Error> + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = rx.await;
        });
        let serving = serve(listener, shutdown);
        let task = tokio::spawn(async move { serving.await.map_err(Into::into) });
        Self {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it gracefully and waits until it has finished (and let go of what it held); panics
    /// if serving failed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A server that accepts every connection and holds it open without ever answering, as a hung
/// dependency does. Stops (and drops the connections) when dropped.
pub struct SilentServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    /// Starts it on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Self { addr, task }
    }

    /// Its base URL, `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
