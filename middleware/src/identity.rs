//! Who is calling and what they may do: the [`Identity`] the [`AuthLayer`](crate::AuthLayer) puts
//! in every request it lets through, and the extractors handlers take it with.
//!
//! ```
//! use clearance_middleware::{CallerPermissions, Identity};
//!
//! async fn me(identity: Identity) -> String {
//!     format!("{} via {:?}", identity.caller.permissions_id, identity.origin)
//! }
//!
//! async fn my_companies(CallerPermissions(p): CallerPermissions) -> String {
//!     format!("{} companies", p.companies.len())
//! }
//! ```

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use clearance_core::authz::{Caller, Outcome};
use clearance_core::domain::{DecisionReason, UserPermissions};

use crate::problem::AuthError;

/// Where the caller was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A Lambda authorizer's context (REST `requestContext.authorizer`, HTTP API
    /// `requestContext.authorizer.lambda`), such as Clearance's authorizer's
    /// `{id, companies, role, sub, clientId, scope}`.
    LambdaAuthorizerContext,
    /// A REST API Cognito user-pool authorizer's `requestContext.authorizer.claims`.
    CognitoAuthorizerClaims,
    /// An HTTP API JWT authorizer's `requestContext.authorizer.jwt.claims`.
    HttpApiJwtClaims,
    /// IAM authorization with Cognito identity-pool credentials: REST
    /// `requestContext.identity.cognitoIdentityId`, HTTP API
    /// `requestContext.authorizer.iam.cognitoIdentity.identityId`.
    Iam,
    /// An `Authorization: Bearer` token verified by this service.
    BearerToken,
}

impl Origin {
    /// Whether API Gateway established the caller (as opposed to this service verifying a token).
    pub fn is_request_context(self) -> bool {
        self != Self::BearerToken
    }
}

/// The authenticated caller of a request, with their permissions: a request extension set by the
/// [`AuthLayer`](crate::AuthLayer), and an extractor.
///
/// As an extractor it refuses with a 500 problem when the route is not behind the layer (a wiring
/// mistake, never an allow); take `Option<Identity>` on routes where the layer is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The caller: subject, client id, and the id their permissions are stored under.
    pub caller: Caller,
    /// The token's scopes (empty for IAM callers).
    pub scopes: Vec<String>,
    /// The caller's permissions; `None` when Clearance holds none for them.
    pub permissions: Option<UserPermissions>,
    /// Where the caller was found.
    pub origin: Origin,
}

impl Identity {
    /// Whether the caller's token holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| AuthError::Misconfigured(NOT_BEHIND_LAYER.into()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned())
    }
}

pub(crate) const NOT_BEHIND_LAYER: &str =
    "the route takes an Identity but is not behind clearance_middleware::AuthLayer";

/// The caller's permissions, as an extractor. Refuses with 403 (`unknown-user`) when Clearance
/// holds none for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerPermissions(pub UserPermissions);

impl<S: Send + Sync> FromRequestParts<S> for CallerPermissions {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let identity = parts
            .extensions
            .get::<Identity>()
            .ok_or_else(|| AuthError::Misconfigured(NOT_BEHIND_LAYER.into()))?;
        identity
            .permissions
            .clone()
            .map(CallerPermissions)
            .ok_or(AuthError::Forbidden(Outcome::Deny(
                DecisionReason::UnknownUser,
            )))
    }
}
