//! `clearance-pre-token-trigger`: the Lambda binary. Settings, the permissions source and its
//! cache are built once, before the first event; a bad setting stops start-up with its name.

use std::sync::Arc;

use anyhow::Context as _;
use clearance_pre_token_trigger::{Trigger, TriggerConfig};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Metrics as CloudWatch EMF lines, flushed after each event.
    clearance_core::telemetry::install_emf();
    clearance_core::telemetry::init(clearance_core::telemetry::LogFormat::Json);
    let env = |k: &str| std::env::var(k).ok();
    let config = TriggerConfig::from_env().context("trigger settings")?;
    let source = clearance_core::source::env::from_env(&env)
        .await
        .context("permissions source settings")?;
    let trigger = Arc::new(Trigger::new(config, source));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let trigger = trigger.clone();
        async move {
            let answer = trigger.handle(event.payload).await;
            clearance_core::telemetry::flush_emf();
            answer.map_err(|e| Diagnostic {
                error_type: "PreTokenGenerationRefused".into(),
                error_message: e.to_string(),
            })
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
