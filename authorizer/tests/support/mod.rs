//! What the authorizer's test binaries share: the clients the verifier trusts, the configuration
//! read as the Lambda reads it, and API Gateway events built from the fixtures in `tests/events/`.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::collections::HashMap;
use std::sync::OnceLock;

use clearance_authorizer::AuthorizerConfig;
use clearance_authorizer::event::EventKind;
use clearance_tests::events;
use serde_json::Value;

/// The web app client users sign in with.
pub const CLIENT: &str = "web-client";
/// A machine client (client-credentials tokens; its permissions are stored under its id).
pub const MACHINE: &str = "m2m-client-7";
/// The clients the verifier trusts: [`CLIENT`] and [`MACHINE`].
pub const CLIENTS: &str = "web-client,m2m-client-7";

/// The authorizer's configuration with `rules` and the HTTP API answer format `http_format`
/// (`simple` or `iam`), read through the same lookup as the Lambda's environment.
pub fn config(rules: &str, http_format: &str) -> AuthorizerConfig {
    let rules = rules.to_owned();
    let http_format = http_format.to_owned();
    AuthorizerConfig::from_lookup(move |k| match k {
        "AUTHORIZER_RULES" => Some(rules.clone()),
        "AUTHORIZER_HTTP_RESPONSE" => Some(http_format.clone()),
        _ => None,
    })
    .unwrap()
}

/// An event of `kind` for `method path` (matched by the rule pattern `resource`) carrying `token`.
pub fn event(kind: EventKind, method: &str, path: &str, resource: &str, token: &str) -> Value {
    let file = match kind {
        EventKind::RestToken => "rest-token.json",
        EventKind::RestRequest => "rest-request.json",
        EventKind::HttpV2 => "http-api-v2.json",
    };
    // Read once: the cache model replays thousands of events.
    static FIXTURES: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    let fixtures = FIXTURES.get_or_init(|| {
        ["rest-token.json", "rest-request.json", "http-api-v2.json"]
            .into_iter()
            .map(|f| (f, events::text(env!("CARGO_MANIFEST_DIR"), f)))
            .collect()
    });
    let text = fixtures[file]
        .replace("__TOKEN__", token)
        .replace("__METHOD__", method)
        .replace("__RESOURCE__", resource)
        .replace("__PATH__", path);
    serde_json::from_str(&text).unwrap()
}
