//! The layer that establishes who is calling: [`AuthLayer`].
//!
//! For each request, in order:
//!
//! 1. **The API Gateway context** ([`context_identity`]): when running under `lambda_http` behind
//!    an authorizer, API Gateway already verified the caller. Never present on a plain server.
//! 2. **Else a bearer token** (`Authorization: Bearer <token>`), verified with the configured
//!    [`Verifier`] (signature against the issuer's JWKS, expiry, audience or client id, ...).
//! 3. **Else** 401 with `WWW-Authenticate: Bearer`.
//!
//! Then the caller's permissions are hydrated: taken from a Lambda authorizer's context when it
//! carried them, otherwise read from the [`PermissionsSource`] under the caller's permissions id
//! (the token's `sub`, or its client id for machine tokens). A source that fails or does not
//! answer in time is a 503: never an allow. A bearer token whose permission version claim
//! (`perm_ver`) is below the caller's current version is refused with 401 `stale-permissions`
//! and `WWW-Authenticate: Bearer error="invalid_token", error_description=...`, so the client
//! refreshes it; a token without the claim is judged as before. The same holds for a token a JWT
//! or Cognito authorizer verified in front (its claims are in the context, [`context_claim`]).
//! A Lambda authorizer's context carries no token claims: Clearance's authorizer made the same
//! comparison, on the permissions it read, before it allowed the request. The [`Identity`] goes
//! into the request's extensions for the route layers ([`require`](mod@crate::require)) and the
//! handlers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use clearance_core::authz::{Caller, permissions_stale};
use clearance_core::consistency::Consistency;
use clearance_core::domain::{RoleOrder, UserId, UserPermissions};
use clearance_core::jwt::Verifier;
use clearance_core::source::PermissionsSource;
use http::{HeaderMap, Request, header};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::context::{ContextIdentity, context_claim, context_identity};
use crate::identity::{Identity, Origin};
use crate::problem::AuthError;

/// The default longest wait for the permissions source.
pub const DEFAULT_PERMISSIONS_TIMEOUT: Duration = Duration::from_secs(3);

/// The role order the [`AuthLayer`] was configured with, passed to the route layers as a request
/// extension.
#[derive(Debug, Clone)]
pub(crate) struct Roles(pub(crate) Arc<RoleOrder>);

/// The claim the trigger writes the permission version into, unless configured otherwise.
pub const DEFAULT_PERM_VER_CLAIM: &str = "perm_ver";

struct Shared {
    verifier: Option<Arc<Verifier>>,
    source: Arc<dyn PermissionsSource>,
    roles: Arc<RoleOrder>,
    permissions_timeout: Duration,
    trust_request_context: bool,
    perm_ver_claim: Option<String>,
}

/// What a route layer needs to read the caller's permissions again, fresher than the
/// [`AuthLayer`] did (a rule asking for `fully-consistent`), passed as a request extension.
#[derive(Clone)]
pub(crate) struct Reread {
    source: Arc<dyn PermissionsSource>,
    timeout: Duration,
    /// The token's permission version claim, when the check is on and the token carried one.
    perm_ver: Option<serde_json::Value>,
}

impl Reread {
    /// The permissions of `permissions_id` read as `consistency` asks, refused as stale when the
    /// token's permission version is below them.
    pub(crate) async fn read(
        &self,
        permissions_id: &str,
        consistency: Consistency,
    ) -> Result<Option<UserPermissions>, AuthError> {
        let found = hydrate(&*self.source, self.timeout, permissions_id, consistency).await?;
        if self.perm_ver.is_some() && permissions_stale(self.perm_ver.as_ref(), found.as_ref()) {
            return Err(AuthError::StalePermissions);
        }
        Ok(found)
    }
}

/// Establishes the caller's [`Identity`] (see the [module docs](self)). Build it once and add it
/// to the routes that need a caller, outside the route layers:
///
/// ```no_run
/// # use std::sync::Arc;
/// # use axum::{Router, routing::get};
/// # use clearance_core::{jwt::Verifier, source::PermissionsSource};
/// # fn app(verifier: Arc<Verifier>, source: Arc<dyn PermissionsSource>) -> Router {
/// use clearance_middleware::{AuthLayer, require_company};
///
/// let auth = AuthLayer::new(source).with_verifier(verifier);
/// Router::new()
///     .route(
///         "/companies/{company_id}/orders",
///         get(|| async { "orders" }).route_layer(require_company("company_id", Some("Standard"), true)),
///     )
///     .layer(auth)
/// # }
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.shared.verifier)
            .field("roles", &self.shared.roles)
            .field("permissions_timeout", &self.shared.permissions_timeout)
            .field("trust_request_context", &self.shared.trust_request_context)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// A layer reading permissions from `source`, with no verifier (only the API Gateway context
    /// identifies callers until [`with_verifier`](Self::with_verifier)), the default role order
    /// (`Standard < Manager < Admin`) and a 3 s permissions timeout.
    pub fn new(source: Arc<dyn PermissionsSource>) -> Self {
        Self {
            shared: Arc::new(Shared {
                verifier: None,
                source,
                roles: Arc::new(RoleOrder::default()),
                permissions_timeout: DEFAULT_PERMISSIONS_TIMEOUT,
                trust_request_context: true,
                perm_ver_claim: Some(DEFAULT_PERM_VER_CLAIM.into()),
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Shared {
            verifier: self.shared.verifier.clone(),
            source: self.shared.source.clone(),
            roles: self.shared.roles.clone(),
            permissions_timeout: self.shared.permissions_timeout,
            trust_request_context: self.shared.trust_request_context,
            perm_ver_claim: self.shared.perm_ver_claim.clone(),
        };
        f(&mut shared);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Accepts `Authorization: Bearer` tokens this verifier accepts.
    ///
    /// A service sees the same tokens again and again: build the verifier with
    /// [`Verifier::with_token_cache`] (e.g. `clearance_core::jwt::verified::DEFAULT_TOKEN_CACHE`)
    /// so a repeated token skips its signature check, the costliest step of a request.
    pub fn with_verifier(self, verifier: Arc<Verifier>) -> Self {
        self.map(|s| s.verifier = Some(verifier))
    }

    /// The role order for "at least" requirements.
    pub fn with_roles(self, roles: RoleOrder) -> Self {
        self.map(|s| s.roles = Arc::new(roles))
    }

    /// The longest wait for the permissions source before answering 503.
    pub fn with_permissions_timeout(self, timeout: Duration) -> Self {
        self.map(|s| s.permissions_timeout = timeout)
    }

    /// The claim holding the permission version a token was minted at (default `perm_ver`, as
    /// the trigger writes it), read from a bearer token or from the claims a JWT or Cognito
    /// authorizer passed on: a token whose version is below the caller's current one is refused
    /// with 401 `stale-permissions`, so the client refreshes it. `None` turns the check off; a
    /// token without the claim is judged as before.
    pub fn with_perm_ver_claim(self, claim: Option<&str>) -> Self {
        self.map(|s| s.perm_ver_claim = claim.map(str::to_owned))
    }

    /// Whether to take the caller from the API Gateway context (default `true`). Turn it off to
    /// accept bearer tokens only, even under Lambda.
    pub fn trust_request_context(self, trust: bool) -> Self {
        self.map(|s| s.trust_request_context = trust)
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the routes.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        // Everything read from the request is read here, so the future does not borrow it.
        let from_context = shared
            .trust_request_context
            .then(|| context_identity(&req))
            .flatten();
        // A JWT or Cognito authorizer passes the token's claims on: its permission version is
        // judged as a bearer token's is.
        let context_perm_ver = match (&from_context, shared.perm_ver_claim.as_deref()) {
            (Some(found), Some(claim))
                if matches!(
                    found.origin,
                    Origin::HttpApiJwtClaims | Origin::CognitoAuthorizerClaims
                ) =>
            {
                context_claim(&req, claim)
            }
            _ => None,
        };
        let token = bearer_token(req.headers());
        Box::pin(async move {
            match shared.identify(from_context, context_perm_ver, token).await {
                Ok((identity, perm_ver)) => {
                    req.extensions_mut().insert(Roles(shared.roles.clone()));
                    req.extensions_mut().insert(identity);
                    req.extensions_mut().insert(Reread {
                        source: shared.source.clone(),
                        timeout: shared.permissions_timeout,
                        perm_ver,
                    });
                    inner.call(req).await.map(IntoResponse::into_response)
                }
                Err(err) => {
                    // 5xx causes are logged once, where the response is made.
                    if matches!(
                        err,
                        AuthError::MissingToken
                            | AuthError::TokensNotAccepted
                            | AuthError::InvalidToken(_)
                            | AuthError::Unidentified
                            | AuthError::StalePermissions
                    ) {
                        tracing::info!(code = err.code(), "request refused: not authenticated");
                    }
                    Ok(err.into_response())
                }
            }
        })
    }
}

/// What the `Authorization` header holds.
enum Token {
    None,
    Bearer(String),
    /// Another scheme, or an empty or unreadable value.
    Unusable,
}

fn bearer_token(headers: &HeaderMap) -> Token {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Token::None;
    };
    let Ok(value) = value.to_str() else {
        return Token::Unusable;
    };
    match clearance_core::bearer::token(value) {
        Some(token) => Token::Bearer(token.to_owned()),
        None => Token::Unusable,
    }
}

impl Shared {
    async fn identify(
        &self,
        from_context: Option<ContextIdentity>,
        context_perm_ver: Option<serde_json::Value>,
        token: Token,
    ) -> Result<(Identity, Option<serde_json::Value>), AuthError> {
        let (caller, scopes, carried, looked_up, origin, perm_ver) = match from_context {
            // A JWT or Cognito authorizer's claims carry the version (checked below, on the
            // permissions read here); Clearance's Lambda authorizer compared it already.
            Some(found) => (
                found.caller,
                found.scopes,
                found.permissions,
                found.permissions_looked_up,
                found.origin,
                context_perm_ver,
            ),
            None => {
                let (caller, scopes, perm_ver) = self.verify(token).await?;
                (caller, scopes, None, false, Origin::BearerToken, perm_ver)
            }
        };
        let permissions = match carried {
            Some(p) => Some(p),
            // The authorizer looked and found none: asking again would only repeat its answer.
            None if looked_up => None,
            None => {
                hydrate(
                    &*self.source,
                    self.permissions_timeout,
                    &caller.permissions_id,
                    Consistency::MinimizeLatency,
                )
                .await?
            }
        };
        if perm_ver.is_some() && permissions_stale(perm_ver.as_ref(), permissions.as_ref()) {
            return Err(AuthError::StalePermissions);
        }
        let identity = Identity {
            caller,
            scopes,
            permissions,
            origin,
        };
        Ok((identity, perm_ver))
    }

    /// The caller, their scopes, and the token's permission version claim (when checked).
    async fn verify(
        &self,
        token: Token,
    ) -> Result<(Caller, Vec<String>, Option<serde_json::Value>), AuthError> {
        let token = match token {
            Token::Bearer(token) => token,
            Token::None => return Err(AuthError::MissingToken),
            Token::Unusable => {
                return Err(AuthError::InvalidToken(
                    clearance_core::jwt::JwtError::Malformed(
                        "the Authorization header is not \"Bearer <token>\"",
                    ),
                ));
            }
        };
        let Some(verifier) = &self.verifier else {
            return Err(AuthError::TokensNotAccepted);
        };
        let verified = verifier.verify_shared(&token).await.map_err(|err| {
            if err.is_unavailable() {
                AuthError::KeysUnavailable(err)
            } else {
                AuthError::InvalidToken(err)
            }
        })?;
        let caller = Caller::identify(verified.sub.as_deref(), verified.client_id.as_deref())
            .ok_or(AuthError::Unidentified)?;
        let perm_ver = self
            .perm_ver_claim
            .as_deref()
            .and_then(|claim| verified.claim(claim))
            .cloned();
        Ok((caller, verified.scopes.clone(), perm_ver))
    }
}

/// The caller's permissions from `source`, as fresh as `consistency` asks; `None` when none are
/// stored (or the id cannot be a user id, so none can be).
async fn hydrate(
    source: &dyn PermissionsSource,
    timeout: Duration,
    permissions_id: &str,
    consistency: Consistency,
) -> Result<Option<UserPermissions>, AuthError> {
    let Ok(id) = UserId::parse(permissions_id) else {
        return Ok(None);
    };
    let span = tracing::debug_span!("permissions", user = %id, %consistency);
    match tokio::time::timeout(timeout, source.permissions_at(&id, consistency))
        .instrument(span)
        .await
    {
        // The handler gets its own copy (request extensions hold owned values).
        Ok(Ok(permissions)) => Ok(permissions.map(Arc::unwrap_or_clone)),
        Ok(Err(err)) => Err(AuthError::PermissionsUnavailable(err)),
        Err(_) => Err(AuthError::PermissionsTimeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_non_empty_bearer_token_is_taken() {
        assert!(matches!(bearer_token(&HeaderMap::new()), Token::None));
        assert!(matches!(bearer_token(&headers("Bearer abc")), Token::Bearer(t) if t == "abc"));
        assert!(matches!(bearer_token(&headers("bearer  abc ")), Token::Bearer(t) if t == "abc"));
        assert!(matches!(
            bearer_token(&headers("Basic abc")),
            Token::Unusable
        ));
        assert!(matches!(bearer_token(&headers("Bearer ")), Token::Unusable));
        assert!(matches!(bearer_token(&headers("abc")), Token::Unusable));
    }
}
