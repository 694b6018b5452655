//! The Clearance permissions API.
//!
//! An axum server that answers which companies a user may act for and in what role, manages those
//! permissions, and decides access. It runs as a plain server and, unchanged, as an AWS Lambda
//! function behind API Gateway (when `AWS_LAMBDA_RUNTIME_API` is set).
//!
//! - [`config`]: settings, read once from flags and environment variables.
//! - [`startup`]: builds the store, the cache and the router, and serves them.
//! - [`http`]: the routes, extractors and RFC 9457 problem documents.
//! - [`state`]: what handlers share.
//! - [`audit`]: one audit event per write.
//! - [`openapi`]: the OpenAPI document generated from the handlers.
//! - [`telemetry`]: tracing setup (text or JSON).

pub mod audit;
pub mod config;
pub mod http;
pub mod openapi;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use http::app;
pub use state::{AppParts, AppState};
