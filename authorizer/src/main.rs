//! `clearance-authorizer`: the Lambda binary. Everything is built once, before the first event.

use std::sync::Arc;

use anyhow::Context as _;
use clearance_authorizer::{Authorizer, AuthorizerConfig};
use clearance_core::jwt::Verifier;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// mimalloc instead of the system allocator: a decision makes a few dozen small allocations
/// (the claims, the event, the policy and its context), and the benchmark of decisions
/// (`benches/decisions.rs`, which uses it too) measures it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Metrics as CloudWatch EMF lines, flushed after each event; installed before anything
    // registers a handle.
    clearance_core::telemetry::install_emf();
    // A refused token is answered with the error `Unauthorized` (API Gateway's 401); it is logged
    // at INFO with its code, not as the runtime's ERROR line.
    clearance_core::telemetry::init_quieting(
        clearance_core::telemetry::LogFormat::Json,
        &["Unauthorized"],
    );
    let env = |k: &str| std::env::var(k).ok();
    let config = AuthorizerConfig::from_lookup(env).context("authorizer settings")?;
    if let Some(risk) = config.cross_route_risk() {
        tracing::warn!("{risk}");
    }
    let verifier = Verifier::from_env()
        .context("token verification settings")?
        .with_token_cache(config.token_cache);
    let source = clearance_core::source::env::from_env(&env)
        .await
        .context("permissions source settings")?;
    let authorizer = Arc::new(Authorizer::new(config, Arc::new(verifier), source));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let authorizer = authorizer.clone();
        async move {
            let answer = authorizer.handle(event.payload).await;
            clearance_core::telemetry::flush_emf();
            answer
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
