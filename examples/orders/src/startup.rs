//! Start-up: build the verifier, the permissions source and the app once, then serve them over HTTP
//! or, unchanged, under `lambda_http`.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use clearance_core::jwt::{Verifier, VerifierConfig};
use clearance_middleware::AuthLayer;
use tokio::net::TcpListener;

use crate::config::{Settings, on_lambda, verifier_configured};
use crate::orders::OrderBook;

/// The [`AuthLayer`] the environment `lookup` describes: the permissions source
/// (`PERMISSIONS_SOURCE`, ...) and, when configured, the token verifier (`JWT_ISSUER` or
/// `COGNITO_USER_POOL_ID`, ...). A plain server needs a verifier; on Lambda, without one, only
/// callers established by API Gateway's authorizer are accepted.
pub async fn auth_layer(
    settings: &Settings,
    lookup: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<AuthLayer> {
    let source = clearance_core::source::env::from_env(lookup)
        .await
        .context("the permissions source (PERMISSIONS_SOURCE, PERMISSIONS_API_URL, TABLE_NAME)")?;
    let auth = AuthLayer::new(source)
        .with_roles(settings.roles.clone())
        .with_permissions_timeout(settings.permissions_timeout());
    if verifier_configured(lookup) {
        let config = VerifierConfig::from_lookup(lookup).context("the token verifier")?;
        let verifier = Verifier::new(config).context("the token verifier")?;
        return Ok(auth.with_verifier(Arc::new(verifier)));
    }
    if on_lambda(lookup) {
        tracing::warn!(
            "no JWT_ISSUER or COGNITO_USER_POOL_ID: only callers established by API Gateway's \
             authorizer are accepted"
        );
        return Ok(auth);
    }
    anyhow::bail!(
        "no token verifier: set JWT_ISSUER (an OIDC issuer) or COGNITO_USER_POOL_ID, with \
         JWT_CLIENT_IDS, so the orders API can verify bearer tokens"
    )
}

/// The app with an empty order book, configured from `lookup`.
pub async fn build(
    settings: &Settings,
    lookup: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Router> {
    Ok(crate::app(
        OrderBook::new(),
        auth_layer(settings, lookup).await?,
    ))
}

/// Runs the service until SIGTERM or Ctrl-C (server), or for the life of the Lambda sandbox.
pub async fn run(
    settings: Settings,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let app = build(&settings, &lookup).await?;
    if on_lambda(&lookup) {
        tracing::info!("running under AWS Lambda");
        // Outside the router, so the path is fixed before routing.
        let app = tower::ServiceExt::map_request(
            app,
            clearance_middleware::lambda::strip_stage::<lambda_http::Body>,
        );
        return lambda_http::run(app)
            .await
            .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"));
    }
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding --listen {}", settings.listen))?;
    tracing::info!(listen = %listener.local_addr()?, "orders API listening");
    serve(listener, app, shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` completes; requests in flight are finished first.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}

/// Completes on SIGTERM or Ctrl-C.
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
}
