//! Test harness shared by Clearance's integration and end-to-end tests.
//!
//! - [`dynalite`]: starts dynalite (an in-memory DynamoDB-compatible server from npm) on a free
//!   loopback port and stops it when dropped; each test makes its own table.
//! - [`issuer`]: a token issuer with a generated key, its JWKS served over HTTP.
//! - [`lambda_runtime`]: a fake AWS Lambda Runtime API served over a real socket, so a Lambda
//!   binary can be run as a process and fed events exactly as AWS would.
//!
//! The end-to-end tests themselves are in `tests/` beside this crate.

pub mod dynalite;
pub mod issuer;
pub mod lambda_runtime;

use std::path::PathBuf;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace root")
        .to_path_buf()
}
