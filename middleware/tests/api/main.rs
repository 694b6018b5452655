//! Integration tests for `clearance-middleware`: one test binary.
//!
//! - [`bearer`]: a real server on `127.0.0.1:0` with tokens from a test issuer whose JWKS is
//!   served over HTTP: every rule's allow and deny, token failures, a failing source.
//! - [`context`]: API Gateway REST and HTTP API events (fixtures in `tests/events/`) through
//!   `lambda_http` into the router: the caller from each kind of authorizer's context.
//! - [`wiring`]: layers wired wrongly fail closed; an `Identity` set by other means is checked too.

mod bearer;
mod context;
mod helpers;
mod wiring;
