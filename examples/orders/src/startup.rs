//! Start-up: build the verifier, the permissions source and the app once, then serve them over HTTP
//! or, unchanged, under `lambda_http`.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use clearance_core::jwt::verified::DEFAULT_TOKEN_CACHE;
use clearance_core::jwt::{Verifier, VerifierConfig};
use clearance_middleware::{AuthLayer, serve};

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
        // A repeated token skips its signature check (see `Verifier::with_token_cache`).
        let verifier = Verifier::new(config)
            .context("the token verifier")?
            .with_token_cache(DEFAULT_TOKEN_CACHE);
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
    serve::run(app, settings.listen, on_lambda(&lookup), "orders API").await?;
    Ok(())
}
