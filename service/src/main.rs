//! `clearance-service`: the permissions API as a server, or as a Lambda function.

use clap::Parser as _;
use clearance_service::config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    clearance_service::telemetry::init(settings.log_format());
    clearance_service::startup::run(settings).await
}
