//! Who is calling and under which request id, for audit events and `updatedBy`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use clearance_core::store::Author;

/// Who acts for the authenticated caller (`updatedBy`, the audit log's `actor`), put into the
/// request's extensions by the authentication layer. (Not `clearance_core::authz::Caller`, the
/// caller as token verification establishes it: this is only the actor that rule chose.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A user's `sub`, or a machine client's client id.
    pub actor: String,
}

/// Per-request facts that handlers pass on to the store and the audit log.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id (`x-request-id`, kept from the caller or made here).
    pub request_id: String,
    /// Who acts, if authentication is on.
    pub actor: Option<Actor>,
}

impl RequestContext {
    /// Who acts, for `updatedBy`: `None` when the API runs without authentication.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_ref().map(|c| c.actor.as_str())
    }

    /// Who writes and under which request, for the store's `updatedBy` and change history.
    pub fn author(&self) -> Author<'_> {
        Author {
            actor: self.actor(),
            request_id: Some(self.request_id.as_str()).filter(|r| !r.is_empty()),
        }
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
            actor: parts.extensions.get::<Actor>().cloned(),
        })
    }
}
