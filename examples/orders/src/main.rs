//! `orders-api`: the example orders service, as a server or as a Lambda function.

use clap::Parser as _;
use clearance_example_orders::config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    let env = |key: &str| std::env::var(key).ok();
    clearance_core::telemetry::init(clearance_core::telemetry::default_format());
    clearance_example_orders::startup::run(settings, env).await
}
