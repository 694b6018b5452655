//! `clearance-service`: the permissions API as a server, or as a Lambda function.

use clap::Parser as _;
use clearance_service::config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    let _log_writer =
        clearance_service::telemetry::init(settings.log_format(), Settings::on_lambda());
    clearance_service::startup::run(settings).await
}
