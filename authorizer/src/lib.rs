//! Clearance's API Gateway Lambda authorizer.
//!
//! Handles REST `TOKEN` and `REQUEST` events and HTTP API (payload 2.0) events, telling them apart
//! from the event itself. It verifies the caller's JWT (Cognito or any OIDC issuer), finds the
//! route's rule, hydrates the caller's permissions (through the permissions API client or DynamoDB
//! directly, cached), checks company, role, subject or client, and answers with an explicit
//! Allow or Deny whose context carries `id`, `companies` (a JSON string) and `role`.
//!
//! - [`event`]: reading the three event kinds, and execute-api ARNs.
//! - [`rules`]: route rules (method and path pattern → requirement).
//! - [`handler`]: the decision.
//! - [`policy`]: the answers in each format.
//! - [`config`]: settings from environment variables, read through `clearance_core::env`
//!   (durations such as `2s`; errors name the variable).

pub mod config;
pub mod event;
pub mod handler;
pub mod policy;
pub mod rules;

pub use handler::{Authorizer, AuthorizerConfig, Unauthorized};
