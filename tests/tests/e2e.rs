//! End-to-end tests across crates, through real components: the permissions service over HTTP,
//! DynamoDB on dynalite, tokens signed by a test issuer whose JWKS is served over HTTP, and the
//! Lambda binaries run as processes behind a fake Lambda Runtime API.

#[path = "e2e/client.rs"]
mod client;
#[path = "e2e/patterns.rs"]
mod patterns;
#[path = "e2e/revocation.rs"]
mod revocation;
#[path = "e2e/support.rs"]
mod support;
#[path = "e2e/trigger.rs"]
mod trigger;
