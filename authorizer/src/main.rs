//! `clearance-authorizer`: the Lambda binary. Everything is built once, before the first event.

use std::sync::Arc;

use anyhow::Context as _;
use clearance_authorizer::{Authorizer, AuthorizerConfig};
use clearance_core::jwt::Verifier;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::Layer as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_filter(RefusalsAreNotErrors),
        )
        .with(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let env = |k: &str| std::env::var(k).ok();
    let config = AuthorizerConfig::from_lookup(env).context("authorizer settings")?;
    if let Some(risk) = config.cross_route_risk() {
        tracing::warn!("{risk}");
    }
    let verifier = Verifier::from_env().context("token verification settings")?;
    let source = clearance_core::source::env::from_env(&env)
        .await
        .context("permissions source settings")?;
    let authorizer = Arc::new(Authorizer::new(config, Arc::new(verifier), source));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let authorizer = authorizer.clone();
        async move { authorizer.handle(event.payload).await }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// Drops the ERROR line the Lambda runtime writes for every handler error when that error is a
/// refused token (`Unauthorized`, which API Gateway needs as an error to answer 401): a refusal is
/// an expected outcome, already logged at INFO with its code by the handler, not an error that
/// should page someone. Every other runtime error, and every panic, is kept.
struct RefusalsAreNotErrors;

impl<S> tracing_subscriber::layer::Filter<S> for RefusalsAreNotErrors {
    fn enabled(
        &self,
        _: &tracing::Metadata<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        true
    }

    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        let meta = event.metadata();
        if *meta.level() != tracing::Level::ERROR || !meta.target().starts_with("lambda_runtime") {
            return true;
        }
        let mut message = MessageIs {
            expected: "Unauthorized",
            found: false,
        };
        event.record(&mut message);
        !message.found
    }
}

/// Whether an event's message is exactly `expected`.
struct MessageIs {
    expected: &'static str,
    found: bool,
}

impl tracing::field::Visit for MessageIs {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}") == self.expected {
            self.found = true;
        }
    }
}
