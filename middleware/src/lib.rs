//! Tower layers for axum services behind Clearance (backing services such as an orders API), the
//! same under `lambda_http` as on a plain server.
//!
//! Two kinds of layer, and extractors for handlers:
//!
//! - [`AuthLayer`] ([`auth`]) establishes who is calling: from the API Gateway request context
//!   when running under `lambda_http` behind an authorizer ([`context`]: Cognito user-pool claims,
//!   a Lambda authorizer's context, HTTP API JWT claims, IAM with Cognito identities), else from an
//!   `Authorization: Bearer` token it verifies, else 401. It then hydrates the caller's permissions
//!   (from a Lambda authorizer's context when it carried them, else through a
//!   [`PermissionsSource`](clearance_core::source::PermissionsSource); a failing source is a 503)
//!   into an [`Identity`] request extension.
//! - Route layers ([`require`](mod@require)): [`require_company`] (member of the path's company, optionally in
//!   a role), [`require_subject`] (the path names the caller), [`require_client`] (the path names
//!   the caller's client), or any [`Requirement`](clearance_core::authz::Requirement) with
//!   [`require()`]. They evaluate with the rules the authorizer uses; a refusal is a 403.
//! - Extractors ([`identity`]): [`Identity`] and [`CallerPermissions`].
//!
//! Every refusal is an RFC 9457 problem document ([`problem`]) whose text names the rule that
//! refused and never another company's or user's data. [`lambda`] has the one helper an app needs
//! to run under `lambda_http` (taking the stage off the path), and [`serve`](mod@serve) runs an app
//! as a plain server or as a Lambda function with it, as the permissions API does.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get, handler::Handler};
//! use clearance_middleware::{AuthLayer, Identity, require_company};
//! # async fn demo(verifier: Arc<clearance_core::jwt::Verifier>,
//! #               source: Arc<dyn clearance_core::source::PermissionsSource>) {
//!
//! async fn list(identity: Identity) -> String {
//!     format!("orders visible to {}", identity.caller.permissions_id)
//! }
//!
//! let app: Router = Router::new()
//!     .route(
//!         "/companies/{company_id}/orders",
//!         get(list.layer(require_company("company_id", Some("Standard"), true))),
//!     )
//!     .layer(AuthLayer::new(source).with_verifier(verifier));
//! # }
//! ```

pub mod auth;
pub mod context;
pub mod identity;
pub mod lambda;
pub mod problem;
pub mod require;
pub mod serve;

pub use auth::{AuthLayer, AuthService};
pub use context::{ContextIdentity, context_claim, context_identity};
pub use identity::{CallerPermissions, Identity, Origin};
pub use problem::{AuthError, Problem};
pub use require::{
    RequireLayer, RequireService, require, require_client, require_company, require_subject,
};
