//! `orders-api`: the example orders service, as a server or as a Lambda function.

use clap::Parser as _;
use clearance_example_orders::config::{Settings, on_lambda};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    let env = |key: &str| std::env::var(key).ok();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if on_lambda(&env) {
        logs.json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    } else {
        logs.init();
    }
    clearance_example_orders::startup::run(settings, env).await
}
