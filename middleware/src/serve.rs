//! Running an axum app as a plain server or, unchanged, as a Lambda function behind API Gateway:
//! the one start-up that the permissions API and the services behind it share.
//!
//! On a server, [`run`] binds the address, serves until SIGTERM or Ctrl-C and answers the requests
//! in flight before it returns. Under Lambda it hands the app to `lambda_http`, with the API
//! Gateway stage taken off the path before routing ([`strip_stage`]).

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::lambda::strip_stage;

/// Serving stopped before it should have.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound (in use, or not this machine's).
    #[error("binding --listen {listen}")]
    Bind {
        /// The address asked for.
        listen: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
    /// The Lambda runtime stopped (it does not, as long as the sandbox lives).
    #[error("the Lambda runtime stopped: {0}")]
    Lambda(lambda_http::Error),
}

/// Runs `app` for the life of the Lambda sandbox when `on_lambda`, else on `listen` until SIGTERM
/// or Ctrl-C. `name` says what is listening, in the start-up log line.
pub async fn run(
    app: Router,
    listen: SocketAddr,
    on_lambda: bool,
    name: &str,
) -> Result<(), ServeError> {
    if on_lambda {
        tracing::info!("running under AWS Lambda");
        // Outside the router, so the path is fixed before routing.
        let app = tower::ServiceExt::map_request(app, strip_stage::<lambda_http::Body>);
        return lambda_http::run(app).await.map_err(ServeError::Lambda);
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind { listen, source })?;
    let bound = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!(listen = %bound, "{name} listening");
    serve(listener, app, shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` completes; requests in flight are finished first.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Serve)?;
    tracing::info!("stopped: every request in flight was answered");
    Ok(())
}

/// Completes on SIGTERM (how Lambda, ECS and Kubernetes stop a process) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing requests in flight");
}
