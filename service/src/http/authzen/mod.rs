//! The AuthZEN Authorization API 1.0: Clearance as a policy decision point (PDP) that policy
//! enforcement points (PEPs) already know how to ask.
//!
//! Clearance's model maps onto AuthZEN's information model like this:
//! - a **subject** is `{"type": "user", "id": ...}`: a user by its id, or a machine client by its
//!   client id (`"type": "client"` is accepted as a synonym wherever an id is given: the store keys
//!   both the same way, by the one identity rule);
//! - a **resource** is `{"type": "company", "id": ...}`;
//! - an **action** is `{"name": "<role>"}` (the role required) or `{"name": "access"}`
//!   (membership alone). Whether the role must be held exactly (the default, as `/check`) or may
//!   be outranked is `atLeast`, a boolean read from `action.properties.atLeast`, else from
//!   `context.atLeast`, else `false`: the context lets a batch or a search say it once.
//!
//! The endpoints: [`evaluation`] (one decision) and [`evaluations`] (many, with defaults and the
//! `evaluations_semantic` option) in `evaluation`; subject, resource and action search in
//! `search`; the PDP metadata document in [`configuration`]. Every decision comes from
//! `clearance_core::domain::decide`, the function `/check`, the authorizers and the middleware use.
//! Errors are problem documents (the specification asks for a 4xx/5xx status and leaves the body
//! open); unknown members of a request are ignored, as it requires.

mod evaluation;
mod search;

pub use evaluation::MAX_EVALUATIONS;
pub use evaluation::{
    __path_evaluation, __path_evaluations, AuthzenRequest, AuthzenResponse, EvaluationItem,
    EvaluationsOptions, EvaluationsRequest, EvaluationsResponse, evaluation, evaluations,
};
pub use search::{
    __path_search_action, __path_search_resource, __path_search_subject, ActionSearchRequest,
    ActionSearchResponse, PageRequest, PageResponse, ResourceSearchRequest, ResourceSearchResponse,
    SearchAction, SearchResource, SearchSubject, SubjectSearchRequest, SubjectSearchResponse,
    search_action, search_resource, search_subject,
};

use axum::Json;
use axum::http::{HeaderMap, header};
use clearance_core::domain::{
    CompanyId, Role, RoleOrder, RoleRequirement, UserId, ValidationError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::problem::{ApiError, Problem};

/// The action that asks for membership alone, whatever the role.
pub const ACCESS_ACTION: &str = "access";

/// The paths of the AuthZEN endpoints, as the metadata document names them.
pub mod paths {
    /// One access evaluation.
    pub const EVALUATION: &str = "/access/v1/evaluation";
    /// Many access evaluations in one request.
    pub const EVALUATIONS: &str = "/access/v1/evaluations";
    /// Who may act for a company in a role.
    pub const SEARCH_SUBJECT: &str = "/access/v1/search/subject";
    /// Which companies a user may act for in a role.
    pub const SEARCH_RESOURCE: &str = "/access/v1/search/resource";
    /// Which roles a user holds for a company.
    pub const SEARCH_ACTION: &str = "/access/v1/search/action";
    /// The PDP metadata document.
    pub const CONFIGURATION: &str = "/.well-known/authzen-configuration";
}

/// An AuthZEN subject: who asks.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Subject {
    /// `user` (a user, or a machine client by its client id); `client` is accepted as a synonym.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub kind: String,
    /// The user's id (or the machine client's client id).
    #[schema(example = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10")]
    pub id: String,
    /// Extra attributes (ignored: Clearance decides from what it stores).
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// An AuthZEN resource: a company.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Resource {
    /// Always `company`.
    #[serde(rename = "type")]
    #[schema(example = "company")]
    pub kind: String,
    /// The company's id.
    #[schema(example = "1111")]
    pub id: String,
    /// Extra attributes (ignored).
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// An AuthZEN action: a role, or `access` for membership alone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Action {
    /// A configured role (the role required), or `access` for membership alone.
    #[schema(example = "Manager")]
    pub name: String,
    /// `{"atLeast": true}` accepts the role or any above it (default: `context.atLeast`, else
    /// exactly the role). Other properties are ignored.
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// A decision in the AuthZEN shape, with the rule that made it in `context`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthzenDecision {
    /// Whether the subject may perform the action on the resource.
    pub decision: bool,
    /// Why: the stable `code` (`allowed`, `unknown-user`, `not-a-member`, `role-mismatch`,
    /// `role-below-required`) and the `reason` in words.
    pub context: DecisionContext,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionContext {
    /// The rule that decided, as a stable code.
    #[schema(example = "allowed")]
    pub code: String,
    /// The rule that decided, in words.
    #[schema(example = "all rules met")]
    pub reason: String,
}

impl From<&clearance_core::domain::Decision> for AuthzenDecision {
    fn from(d: &clearance_core::domain::Decision) -> Self {
        Self {
            decision: d.allowed,
            context: DecisionContext {
                code: d.reason.code().to_owned(),
                reason: d.reason.to_string(),
            },
        }
    }
}

/// The subject's id, if its type is one Clearance knows (`user`, or `client` for a machine).
fn subject_id(field: &str, subject: &Subject) -> Result<UserId, ApiError> {
    if !matches!(subject.kind.as_str(), "user" | "client") {
        return Err(ValidationError::new(
            format!("{field}.type"),
            format!("must be \"user\" (or \"client\") (got {:?})", subject.kind),
        )
        .into());
    }
    Ok(UserId::parse_field(
        &format!("{field}.id"),
        subject.id.as_str(),
    )?)
}

/// Checks that a resource's type is `company`.
fn company_type(field: &str, kind: &str) -> Result<(), ApiError> {
    if kind != "company" {
        return Err(ValidationError::new(
            format!("{field}.type"),
            format!("must be \"company\" (got {kind:?})"),
        )
        .into());
    }
    Ok(())
}

/// The resource's company.
fn resource_company(field: &str, resource: &Resource) -> Result<CompanyId, ApiError> {
    company_type(field, &resource.kind)?;
    Ok(CompanyId::parse_field(
        &format!("{field}.id"),
        resource.id.as_str(),
    )?)
}

/// `atLeast` from `properties` (named `field`), if there.
fn at_least_in(
    field: &str,
    properties: Option<&Map<String, Value>>,
) -> Result<Option<bool>, ApiError> {
    match properties.and_then(|p| p.get("atLeast")) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ValidationError::new(field, "must be a boolean").into()),
    }
}

/// Whether a role may be outranked: `action.properties.atLeast`, else `context.atLeast`, else
/// `false` (exactly the role, as `/check` decides by default).
fn at_least(
    action_field: &str,
    action: Option<&Action>,
    context_field: &str,
    context: Option<&Map<String, Value>>,
) -> Result<bool, ApiError> {
    let from_action = at_least_in(
        &format!("{action_field}.properties.atLeast"),
        action.and_then(|a| a.properties.as_ref()),
    )?;
    let from_context = at_least_in(&format!("{context_field}.atLeast"), context)?;
    Ok(from_action.or(from_context).unwrap_or(false))
}

/// The role requirement an action names (`None` for `access`: membership alone).
fn requirement(
    field: &str,
    action: &Action,
    at_least: bool,
    roles: &RoleOrder,
) -> Result<Option<RoleRequirement>, ApiError> {
    if action.name == ACCESS_ACTION {
        return Ok(None);
    }
    let role = Role::parse(action.name.as_str(), roles).map_err(|mut e| {
        e.field = format!("{field}.name");
        e.rule = format!("{} (or \"{ACCESS_ACTION}\" for membership alone)", e.rule);
        e
    })?;
    let role = role.as_str().to_owned();
    Ok(Some(if at_least {
        RoleRequirement::AtLeast(role)
    } else {
        RoleRequirement::Exact(role)
    }))
}

/// The AuthZEN 1.0 Policy Decision Point metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct PdpMetadata {
    /// This PDP's identifier: the URL the document was fetched under, without the well-known
    /// suffix. A PEP must check that it equals the URL it asked.
    #[schema(example = "https://permissions.example.com")]
    pub policy_decision_point: String,
    /// `POST`: one access evaluation.
    #[schema(example = "https://permissions.example.com/access/v1/evaluation")]
    pub access_evaluation_endpoint: String,
    /// `POST`: many access evaluations in one request.
    #[schema(example = "https://permissions.example.com/access/v1/evaluations")]
    pub access_evaluations_endpoint: String,
    /// `POST`: who may act for a company in a role.
    #[schema(example = "https://permissions.example.com/access/v1/search/subject")]
    pub search_subject_endpoint: String,
    /// `POST`: which roles a user holds for a company.
    #[schema(example = "https://permissions.example.com/access/v1/search/action")]
    pub search_action_endpoint: String,
    /// `POST`: which companies a user may act for in a role.
    #[schema(example = "https://permissions.example.com/access/v1/search/resource")]
    pub search_resource_endpoint: String,
}

/// The base URL a caller reached this service under: the `Host` it sent, with the scheme
/// `X-Forwarded-Proto` names when a proxy (API Gateway, a load balancer) terminated TLS in front,
/// else `http` (the server itself speaks plain HTTP).
fn base_url(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<axum::http::uri::Authority>().ok())
        .filter(|a| !a.as_str().contains('@'))
        .ok_or_else(|| {
            ApiError::InvalidParameter(
                "the Host header is missing or is not a host[:port]: the metadata names this \
                 service's URLs by it"
                    .into(),
            )
        })?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
    {
        Some(p) if p == "https" => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{}", host.as_str()))
}

/// The AuthZEN 1.0 Policy Decision Point metadata: where each endpoint is.
///
/// Every URL is built from the `Host` the request was sent to (and `X-Forwarded-Proto: https`
/// behind a proxy that terminates TLS), so `policy_decision_point` equals the URL the PEP asked,
/// as the specification requires it to check. Open like `/openapi.json` unless `--public-docs
/// false`, then it needs the read scope.
#[utoipa::path(
    get, path = "/.well-known/authzen-configuration", tag = "authzen",
    responses(
        (status = 200, description = "The PDP metadata", body = PdpMetadata),
        (status = 400, description = "No usable Host header", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn configuration(headers: HeaderMap) -> Result<Json<PdpMetadata>, ApiError> {
    let base = base_url(&headers)?;
    let url = |path: &str| format!("{base}{path}");
    Ok(Json(PdpMetadata {
        access_evaluation_endpoint: url(paths::EVALUATION),
        access_evaluations_endpoint: url(paths::EVALUATIONS),
        search_subject_endpoint: url(paths::SEARCH_SUBJECT),
        search_action_endpoint: url(paths::SEARCH_ACTION),
        search_resource_endpoint: url(paths::SEARCH_RESOURCE),
        policy_decision_point: base,
    }))
}
