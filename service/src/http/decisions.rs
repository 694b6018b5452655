//! Decisions: may this user act for this company in this role?
//!
//! `POST /check` is Clearance's own shape; the AuthZEN 1.0 endpoints (`super::authzen`) ask the
//! same question in the standard's shape. Both read the user through the cache and decide with
//! `clearance_core::domain::decide`, the function the authorizers and middleware use too. Both
//! take `?consistency=` and answer with `Age` and `Cache-Status` when the cache answered.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clearance_core::consistency::{Consistency, Freshness};
use clearance_core::domain::{
    CompanyId, Decision, DecisionView, Role, RoleRequirement, UserId, decide,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::conditional::with_freshness;
use super::extract::{ConsistencyParam, ConsistencyQuery, JsonBody};
use super::problem::{ApiError, Problem};
use crate::state::AppState;

/// The body of `POST /check`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CheckBody {
    /// The user's id.
    #[schema(example = "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10")]
    pub user: String,
    /// The company the user wants to act for; omit to check the role alone.
    #[schema(example = "1111")]
    pub company: Option<String>,
    /// The role required; omit to check membership alone.
    #[schema(example = "Manager")]
    pub role: Option<String>,
    /// `true`: the role or any above it will do; `false` (default): exactly this role.
    #[serde(default)]
    pub at_least: bool,
}

/// A decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// Whether the user may go ahead.
    pub allowed: bool,
    /// The rule that decided, in words.
    #[schema(example = "role \"Standard\" is below the required role \"Manager\"")]
    pub reason: String,
    /// The rule that decided: `allowed`, `unknown-user`, `not-a-member`, `role-mismatch` or
    /// `role-below-required`.
    #[schema(example = "role-below-required")]
    pub code: String,
}

impl From<DecisionView> for CheckResponse {
    fn from(v: DecisionView) -> Self {
        Self {
            allowed: v.allowed,
            reason: v.reason,
            code: v.code.into(),
        }
    }
}

async fn evaluate(
    state: &AppState,
    user: &UserId,
    consistency: Consistency,
    company: Option<&CompanyId>,
    role: Option<&RoleRequirement>,
) -> Result<(Decision, Option<Freshness>), ApiError> {
    let served = state.store.get_with(user, consistency).await?;
    Ok((
        decide(served.value.as_deref(), company, role, &state.roles),
        served.freshness,
    ))
}

fn requirement(
    role: Option<String>,
    at_least: bool,
    state: &AppState,
) -> Result<Option<RoleRequirement>, ApiError> {
    let Some(role) = role else { return Ok(None) };
    let role = Role::parse(role, &state.roles)?.as_str().to_owned();
    Ok(Some(if at_least {
        RoleRequirement::AtLeast(role)
    } else {
        RoleRequirement::Exact(role)
    }))
}

/// Decides whether a user may act for a company in a role.
#[utoipa::path(
    post, path = "/check", tag = "decisions",
    params(ConsistencyQuery),
    request_body = CheckBody,
    responses(
        (status = 200, description = "The decision and the rule that made it", body = CheckResponse),
        (status = 400, description = "Invalid user, company or role", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<CheckBody>,
) -> Result<Response, ApiError> {
    let user = UserId::parse_field("user", body.user)?;
    let company = body.company.map(CompanyId::parse).transpose()?;
    let role = requirement(body.role, body.at_least, &state)?;
    let (decision, freshness) =
        evaluate(&state, &user, consistency, company.as_ref(), role.as_ref()).await?;
    let answer: CheckResponse = DecisionView::from(&decision).into();
    Ok(with_freshness(Json(answer).into_response(), freshness))
}
