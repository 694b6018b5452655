//! Test harness shared by Clearance's integration and end-to-end tests: every crate's tests start
//! what they test, seed it and check its answers with these, so a test reads the same in each
//! crate.
//!
//! - [`server`]: an app under test served on `127.0.0.1:0`, stopped gracefully.
//! - [`answer`]: an HTTP answer read whole (over a socket, from a router in-process, or from a
//!   Lambda function's API Gateway response) and the problem-document assertion.
//! - [`seed`]: users written into a store (`seed::users().grant(..).memory()`).
//! - [`events`]: the real event JSON fixtures each crate keeps in `tests/events/`.
//! - [`function`]: a Lambda binary run as a process behind the fake Runtime API, its logs
//!   captured.
//! - [`lambda_runtime`]: the fake AWS Lambda Runtime API itself, served over a real socket, so a
//!   Lambda binary can be fed events exactly as AWS would.
//! - [`dynalite`]: starts dynalite (an in-memory DynamoDB-compatible server from npm) on a free
//!   loopback port and stops it when dropped; each test makes its own table.
//! - [`issuer`]: a token issuer with a generated key, its JWKS served over HTTP, and an OIDC
//!   sign-in (discovery, authorization and token endpoints with PKCE) for browser tests.
//! - [`webdriver`]: headless Chromium driven over WebDriver, for the admin page's tests.
//!
//! This crate must not depend on `clearance-service` (the service's own tests use it): what is
//! specific to one crate's app stays in that crate's tests, built on these pieces. The end-to-end
//! tests themselves are in `tests/` beside this crate.

pub mod answer;
pub mod dynalite;
pub mod events;
pub mod function;
pub mod issuer;
pub mod lambda_runtime;
pub mod seed;
pub mod server;
pub mod webdriver;

use std::path::PathBuf;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace root")
        .to_path_buf()
}
