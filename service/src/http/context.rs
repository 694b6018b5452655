//! Who is calling and under which request id, for audit events and `updatedBy`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The authenticated caller, put into the request's extensions by the authentication layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who acts: a token's `sub`, or its `client_id` for client-credentials tokens.
    pub actor: String,
}

/// Per-request facts that handlers pass on to the store and the audit log.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id (`x-request-id`, kept from the caller or made here).
    pub request_id: String,
    /// The authenticated caller, if authentication is on.
    pub caller: Option<Caller>,
}

impl RequestContext {
    /// Who acts, for `updatedBy`: `None` when the API runs without authentication.
    pub fn actor(&self) -> Option<&str> {
        self.caller.as_ref().map(|c| c.actor.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            request_id,
            caller: parts.extensions.get::<Caller>().cloned(),
        })
    }
}
