//! Route layers that check what a route requires of the caller: [`require`] with any
//! [`Requirement`], and the helpers [`require_company`], [`require_subject`] and
//! [`require_client`].
//!
//! They read the route's path parameters, so add them where axum has matched the route: with
//! `route_layer` (on a `Router` or a `MethodRouter`) or on one handler (`Handler::layer`), inside
//! the [`AuthLayer`](crate::AuthLayer). Each calls [`clearance_core::authz::evaluate`], the same
//! function the authorizer uses, so the two can never disagree, and answers a refusal with a 403
//! problem naming the rule (never the caller's other companies nor anyone else's data).
//!
//! ```no_run
//! # use axum::{Router, routing::get, handler::Handler};
//! use clearance_middleware::{require_company, require_subject};
//!
//! # async fn list() {} async fn create() {} async fn one() {}
//! let routes: Router = Router::new()
//!     .route(
//!         "/companies/{company_id}/orders",
//!         get(list.layer(require_company("company_id", Some("Standard"), true)))
//!             .post(create.layer(require_company("company_id", Some("Manager"), true))),
//!     )
//!     .route(
//!         "/users/{user_id}/orders/{id}",
//!         get(one).route_layer(require_subject("user_id")),
//!     );
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::response::{IntoResponse, Response};
use clearance_core::authz::{Outcome, Requirement, evaluate};
use clearance_core::consistency::Consistency;
use clearance_core::domain::RoleOrder;
use http::Request;
use tower::{Layer, Service};

use crate::auth::{Reread, Roles};
use crate::identity::{Identity, NOT_BEHIND_LAYER};
use crate::problem::AuthError;

/// A layer that lets a request through only if its caller meets a [`Requirement`].
///
/// It reads the [`Identity`] from the request's extensions (set by the
/// [`AuthLayer`](crate::AuthLayer), or by a service's own authentication) and checks "at least"
/// roles against, in order: the order given to [`with_roles`](Self::with_roles), the
/// `AuthLayer`'s, the default (`Standard < Manager < Admin`).
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
    roles: Option<Arc<RoleOrder>>,
}

impl RequireLayer {
    /// Checks "at least" roles against `roles` instead of the [`AuthLayer`](crate::AuthLayer)'s
    /// role order.
    pub fn with_roles(mut self, roles: RoleOrder) -> Self {
        self.roles = Some(Arc::new(roles));
        self
    }

    /// The requirement checked.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }
}

/// Requires `requirement` of the caller (see [`Requirement`] for what it can say).
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer {
        requirement: Arc::new(requirement),
        roles: None,
    }
}

/// Requires that the caller may act for the company named by the path parameter `param`, and, if
/// `role` is given, that they hold that role (`at_least`: or one above it in the role order).
pub fn require_company(param: &str, role: Option<&str>, at_least: bool) -> RequireLayer {
    require(Requirement {
        company: Some(param.to_owned()),
        role: role.map(str::to_owned),
        at_least,
        ..Requirement::default()
    })
}

/// Requires that the path parameter `param` is the caller's subject (the token's `sub`): routes
/// about the caller's own user.
pub fn require_subject(param: &str) -> RequireLayer {
    require(Requirement {
        subject: Some(param.to_owned()),
        ..Requirement::default()
    })
}

/// Requires that the path parameter `param` is the caller's client id: routes for one machine
/// client.
pub fn require_client(param: &str) -> RequireLayer {
    require(Requirement {
        client: Some(param.to_owned()),
        ..Requirement::default()
    })
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RequireLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    layer: RequireLayer,
}

impl<S, B> Service<Request<B>> for RequireService<S>
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            if let Err(err) = layer.check(&mut parts).await {
                return Ok(err.into_response());
            }
            inner
                .call(Request::from_parts(parts, body))
                .await
                .map(IntoResponse::into_response)
        })
    }
}

impl RequireLayer {
    async fn check(&self, parts: &mut http::request::Parts) -> Result<(), AuthError> {
        let requirement = &*self.requirement;
        let names_a_parameter = requirement.company.is_some()
            || requirement.subject.is_some()
            || requirement.client.is_some();
        let params: HashMap<String, String> = if names_a_parameter && requirement.depends_on_route()
        {
            match RawPathParams::from_request_parts(parts, &()).await {
                Ok(params) => params
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                Err(RawPathParamsRejection::InvalidUtf8InPathParam(_)) => {
                    return Err(AuthError::InvalidPath);
                }
                Err(_) => {
                    return Err(AuthError::Misconfigured(
                        "a clearance_middleware::require layer runs before routing: add it with \
                         route_layer or on a handler"
                            .into(),
                    ));
                }
            }
        } else {
            HashMap::new()
        };
        // A rule asking for fresher permissions than the cache's reads them again, past it.
        if requirement.consistency != Consistency::MinimizeLatency {
            let reread = parts
                .extensions
                .get::<Reread>()
                .ok_or_else(|| AuthError::Misconfigured(NOT_BEHIND_LAYER.into()))?
                .clone();
            let identity = parts
                .extensions
                .get_mut::<Identity>()
                .ok_or_else(|| AuthError::Misconfigured(NOT_BEHIND_LAYER.into()))?;
            identity.permissions = reread
                .read(&identity.caller.permissions_id, requirement.consistency)
                .await?;
        }
        let identity = parts
            .extensions
            .get::<Identity>()
            .ok_or_else(|| AuthError::Misconfigured(NOT_BEHIND_LAYER.into()))?;
        let default_roles;
        let roles = match (&self.roles, parts.extensions.get::<Roles>()) {
            (Some(roles), _) | (None, Some(Roles(roles))) => &**roles,
            (None, None) => {
                default_roles = RoleOrder::default();
                &default_roles
            }
        };
        let outcome = evaluate(
            requirement,
            &identity.caller,
            identity.permissions.as_ref(),
            &params,
            roles,
        );
        match outcome {
            Outcome::Allow(_) => Ok(()),
            Outcome::MissingParameter(name) => Err(AuthError::Misconfigured(format!(
                "the requirement names the path parameter {name:?}, which the route does not have"
            ))),
            refused => {
                tracing::info!(
                    user = %identity.caller.permissions_id,
                    code = refused.code(),
                    "request refused by a route requirement"
                );
                Err(AuthError::Forbidden(refused))
            }
        }
    }
}
