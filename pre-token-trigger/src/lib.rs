//! Clearance's Cognito pre-token-generation trigger.
//!
//! When Cognito issues tokens it calls this Lambda, which adds the user's `role`, `companies` and
//! `id` claims (names configurable) so front ends and APIs can read them: to the ID token in event
//! version 1, to the ID and access tokens in versions 2 and 3, and to machine (client-credentials)
//! access tokens in version 3, looked up by the app client id.
//!
//! - [`event`]: tolerant reading of every event version and trigger source.
//! - [`handler`]: the lookup and the response, in the event's own format.
//! - [`config`]: settings from environment variables, read through `clearance_core::env`, with
//!   reserved claims refused at start-up.
//!
//! The permissions come from the permissions API through its client (default) or from DynamoDB
//! directly (`PERMISSIONS_SOURCE=dynamodb`), both cached: see `clearance_core::source::env`.

pub mod config;
pub mod event;
pub mod handler;

pub use config::TriggerConfig;
pub use handler::{Trigger, TriggerError};
