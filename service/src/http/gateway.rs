//! `--auth gateway`: the caller as API Gateway established it, read from the Lambda request
//! context (which only the Lambda runtime can set: a plain HTTP server never has it).
//!
//! The context is read by `clearance_middleware::context_identity`, the one reader the middleware
//! uses too, with the one identity rule (`clearance_core::authz::Caller::identify`):
//!
//! | in front of the API | actor | scopes checked |
//! | --- | --- | --- |
//! | REST API, Cognito user-pool authorizer (`authorizer.claims`) | a user's `sub`; a client-credentials token's client id | the token's `scope` |
//! | HTTP API, JWT authorizer (`authorizer.jwt`) | same | the token's scopes |
//! | a Lambda authorizer (`sub`, `clientId`, `scope` in its context) | same | its `scope`: none passed means none held |
//! | IAM (SigV4) | the Cognito identity id, else the caller's IAM ARN | none: the IAM policy decided |
//!
//! Only IAM callers skip the scope check: API Gateway evaluated the caller's IAM policy against
//! the exact method and path. Every caller derived from a token must hold the read or write scope,
//! whatever authorizer passed it on; a Cognito ID token (which has no scopes) gets 403.

use clearance_middleware::identity::Origin;

/// The caller API Gateway authenticated, with the scopes to check (`None` for IAM callers only:
/// the gateway decided).
pub fn caller_from_context<B>(
    req: &axum::http::Request<B>,
) -> Option<(String, Option<Vec<String>>)> {
    let found = clearance_middleware::context_identity(req)?;
    let scopes = (found.origin != Origin::Iam).then_some(found.scopes);
    Some((found.caller.permissions_id, scopes))
}
