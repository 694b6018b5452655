//! `dev-issuer`: a throwaway token issuer for running the orders API on a laptop without Cognito.
//!
//! It generates an RSA key, serves its JWKS on a free loopback port, prints the settings that make
//! `orders-api` trust it and one access token (valid for an hour) per user named on the command
//! line, then serves until Ctrl-C. For local runs only: its key lives in memory and anyone on this
//! machine can fetch the JWKS.
//!
//! ```sh
//! cargo run -p clearance-example-orders --example dev-issuer -- 3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10
//! ```

use clap::Parser;
use clearance_tests::issuer::TestIssuer;

/// Prints settings and tokens for a local orders API, and serves the JWKS until Ctrl-C.
#[derive(Debug, Parser)]
struct Args {
    /// The app client the user tokens are issued to.
    #[arg(long, default_value = "local-dev")]
    client: String,
    /// Machine clients to issue client-credentials tokens for (repeatable).
    #[arg(long)]
    machine: Vec<String>,
    /// The users (token subjects) to issue access tokens for.
    users: Vec<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let issuer = TestIssuer::start().await;
    let mut clients = vec![args.client.clone()];
    clients.extend(args.machine.iter().cloned());
    println!("# Settings for orders-api (paste into the shell that runs it):");
    for (key, value) in issuer.verifier_env(&clients.join(",")) {
        println!("export {key}={value}");
    }
    println!();
    println!("# Tokens (valid for an hour), for the shell that runs curl:");
    let mut n = 0;
    for user in &args.users {
        n += 1;
        println!(
            "export TOKEN_{n}={}  # user {user}",
            issuer.access_token(user, &args.client)
        );
    }
    for machine in &args.machine {
        n += 1;
        let token = issuer.machine_token(machine, "orders/read orders/write");
        println!("export TOKEN_{n}={token}  # machine client {machine}");
    }
    println!(
        "\n# Serving the JWKS at {} until Ctrl-C.",
        issuer.jwks_url()
    );
    let _ = tokio::signal::ctrl_c().await;
}
