//! `POST /access/v1/evaluation` (one decision) and `POST /access/v1/evaluations` (many).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clearance_core::domain::{
    CompanyId, Decision, RoleRequirement, UserId, UserPermissions, ValidationError, decide,
};
use clearance_core::store::MAX_BATCH_GET;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{
    Action, AuthzenDecision, Resource, Subject, at_least, requirement, resource_company, subject_id,
};
use crate::http::conditional::with_freshness;
use crate::http::extract::{ConsistencyParam, ConsistencyQuery, JsonBody};
use crate::http::problem::{ApiError, Problem};
use crate::state::AppState;

/// The most evaluations one request may hold.
pub const MAX_EVALUATIONS: usize = 1_000;

/// The AuthZEN 1.0 access evaluation request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthzenRequest {
    /// Who: `{"type": "user", "id": ...}`.
    pub subject: Subject,
    /// On what: `{"type": "company", "id": ...}`.
    pub resource: Resource,
    /// What for: `{"name": "<role>"}` or `{"name": "access"}`.
    pub action: Action,
    /// `{"atLeast": true}` lets a higher role do (unless the action says otherwise); other
    /// members are ignored.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
}

/// The AuthZEN 1.0 access evaluation response.
pub type AuthzenResponse = AuthzenDecision;

/// One question, in domain terms.
struct Question {
    user: UserId,
    company: CompanyId,
    role: Option<RoleRequirement>,
}

impl Question {
    /// Parses the parts of one evaluation; `at` prefixes every field an error names.
    fn parse(
        state: &AppState,
        at: &str,
        subject: &Subject,
        resource: &Resource,
        action: &Action,
        context: Option<&Map<String, Value>>,
    ) -> Result<Self, ApiError> {
        let user = subject_id(&format!("{at}subject"), subject)?;
        let company = resource_company(&format!("{at}resource"), resource)?;
        let at_least = at_least(
            &format!("{at}action"),
            Some(action),
            &format!("{at}context"),
            context,
        )?;
        let role = requirement(&format!("{at}action"), action, at_least, &state.roles)?;
        Ok(Self {
            user,
            company,
            role,
        })
    }

    fn decide(&self, state: &AppState, user: Option<&UserPermissions>) -> Decision {
        decide(user, Some(&self.company), self.role.as_ref(), &state.roles)
    }
}

/// The decision in the AuthZEN 1.0 access-evaluation shape.
///
/// The subject is read once, through the cache; the decision is `clearance_core::domain::decide`'s.
/// A denial is `200` with `"decision": false` and the rule that decided in `context`; only a
/// malformed request (400), a caller that may not ask (401, 403) or a store that does not answer
/// (503) is an error.
#[utoipa::path(
    post, path = "/access/v1/evaluation", tag = "authzen",
    params(ConsistencyQuery),
    request_body = AuthzenRequest,
    responses(
        (status = 200, description = "The decision", body = AuthzenResponse),
        (status = 400, description = "Invalid subject, resource or action", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn evaluation(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<AuthzenRequest>,
) -> Result<Response, ApiError> {
    let question = Question::parse(
        &state,
        "",
        &body.subject,
        &body.resource,
        &body.action,
        body.context.as_ref(),
    )?;
    let served = state.store.get_with(&question.user, consistency).await?;
    let answer: AuthzenResponse = (&question.decide(&state, served.value.as_deref())).into();
    Ok(with_freshness(
        Json(answer).into_response(),
        served.freshness,
    ))
}

/// One evaluation of a batch: each member missing here is taken from the top level.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluationItem {
    /// The subject (default: the top-level `subject`).
    #[serde(default)]
    pub subject: Option<Subject>,
    /// The resource (default: the top-level `resource`).
    #[serde(default)]
    pub resource: Option<Resource>,
    /// The action (default: the top-level `action`).
    #[serde(default)]
    pub action: Option<Action>,
    /// The context (default: the top-level `context`; replaced whole, not merged).
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
}

/// How a batch is evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationsSemantic {
    /// Every evaluation, every decision (the default).
    #[default]
    ExecuteAll,
    /// In order, stopping after the first denial (like `&&`).
    DenyOnFirstDeny,
    /// In order, stopping after the first permit (like `||`).
    PermitOnFirstPermit,
}

/// Options of a batch. Unknown options are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EvaluationsOptions {
    /// `execute_all` (default), `deny_on_first_deny` or `permit_on_first_permit`.
    #[serde(default)]
    pub evaluations_semantic: Option<EvaluationsSemantic>,
}

/// The AuthZEN 1.0 access evaluations request: many evaluations, with defaults at the top level.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluationsRequest {
    /// The default subject.
    #[serde(default)]
    pub subject: Option<Subject>,
    /// The default resource.
    #[serde(default)]
    pub resource: Option<Resource>,
    /// The default action.
    #[serde(default)]
    pub action: Option<Action>,
    /// The default context.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// The evaluations, in order (at most 1,000). Absent or empty: the top level is one
    /// evaluation, answered in the single-evaluation shape.
    #[serde(default)]
    pub evaluations: Option<Vec<EvaluationItem>>,
    /// How the batch is evaluated.
    #[serde(default)]
    pub options: Option<EvaluationsOptions>,
}

/// The AuthZEN 1.0 access evaluations response.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationsResponse {
    /// The decisions, in the order of the request's evaluations; shorter when a short-circuiting
    /// semantic stopped early (the last one is the decision that stopped it). Absent when the
    /// request held no evaluations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<Vec<AuthzenDecision>>,
    /// The decision, when the request held no evaluations (then the top level was the one
    /// evaluation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<bool>,
    /// Why, when the request held no evaluations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<super::DecisionContext>,
}

/// A member of an evaluation, or the top-level default; a 400 naming both places when neither
/// has it.
fn member<'a, T>(
    item: Option<&'a T>,
    default: Option<&'a T>,
    i: usize,
    name: &str,
) -> Result<&'a T, ApiError> {
    item.or(default).ok_or_else(|| {
        ValidationError::new(
            format!("evaluations[{i}].{name}"),
            format!("is required: give it in the evaluation or as the top-level {name}"),
        )
        .into()
    })
}

/// Many decisions in one request (AuthZEN 1.0 access evaluations).
///
/// Each evaluation takes `subject`, `resource`, `action` and `context` from the top level unless
/// it names its own. Every evaluation is checked before any is decided: one that is malformed
/// makes the whole request a 400 naming it (`evaluations[2].action.name`). Each distinct subject
/// is read once, through the cache, in batches. `options.evaluations_semantic` picks
/// `execute_all` (default), `deny_on_first_deny` or `permit_on_first_permit`.
#[utoipa::path(
    post, path = "/access/v1/evaluations", tag = "authzen",
    params(ConsistencyQuery),
    request_body = EvaluationsRequest,
    responses(
        (status = 200, description = "The decisions, in order", body = EvaluationsResponse),
        (status = 400, description = "A malformed request or evaluation, or too many evaluations", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn evaluations(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<EvaluationsRequest>,
) -> Result<Json<EvaluationsResponse>, ApiError> {
    let semantic = body
        .options
        .as_ref()
        .and_then(|o| o.evaluations_semantic)
        .unwrap_or_default();
    let items = body.evaluations.unwrap_or_default();
    if items.is_empty() {
        // No evaluations: the top level is the one evaluation (the specification's backwards
        // compatible form), answered as `/access/v1/evaluation` answers.
        let required = |present: bool, name: &str| -> Result<(), ApiError> {
            if present {
                Ok(())
            } else {
                Err(
                    ValidationError::new(name, "is required when the request holds no evaluations")
                        .into(),
                )
            }
        };
        required(body.subject.is_some(), "subject")?;
        required(body.resource.is_some(), "resource")?;
        required(body.action.is_some(), "action")?;
        let (Some(subject), Some(resource), Some(action)) =
            (&body.subject, &body.resource, &body.action)
        else {
            unreachable!("checked above");
        };
        let question =
            Question::parse(&state, "", subject, resource, action, body.context.as_ref())?;
        let user = state
            .store
            .get_with(&question.user, consistency)
            .await?
            .value;
        let decision = AuthzenDecision::from(&question.decide(&state, user.as_deref()));
        return Ok(Json(EvaluationsResponse {
            evaluations: None,
            decision: Some(decision.decision),
            context: Some(decision.context),
        }));
    }
    if items.len() > MAX_EVALUATIONS {
        return Err(ValidationError::new(
            "evaluations",
            format!(
                "must hold at most {MAX_EVALUATIONS} evaluations (got {})",
                items.len()
            ),
        )
        .into());
    }
    // Defaults are checked even where every evaluation names its own: a malformed request is
    // refused whole, never half-read.
    if let Some(subject) = &body.subject {
        subject_id("subject", subject)?;
    }
    if let Some(resource) = &body.resource {
        resource_company("resource", resource)?;
    }
    if let Some(action) = &body.action {
        let at_least = at_least("action", Some(action), "context", body.context.as_ref())?;
        requirement("action", action, at_least, &state.roles)?;
    } else {
        at_least("action", None, "context", body.context.as_ref())?;
    }
    let questions = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let subject = member(item.subject.as_ref(), body.subject.as_ref(), i, "subject")?;
            let resource = member(
                item.resource.as_ref(),
                body.resource.as_ref(),
                i,
                "resource",
            )?;
            let action = member(item.action.as_ref(), body.action.as_ref(), i, "action")?;
            let context = item.context.as_ref().or(body.context.as_ref());
            Question::parse(
                &state,
                &format!("evaluations[{i}]."),
                subject,
                resource,
                action,
                context,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    // One read per distinct subject, through the cache (a hit costs the store nothing).
    let mut distinct: Vec<UserId> = questions.iter().map(|q| q.user.clone()).collect();
    distinct.sort();
    distinct.dedup();
    let mut users: HashMap<UserId, UserPermissions> = HashMap::with_capacity(distinct.len());
    for chunk in distinct.chunks(MAX_BATCH_GET) {
        for user in state.store.batch_get_with(chunk, consistency).await? {
            users.insert(user.id.clone(), user);
        }
    }

    let mut decisions = Vec::with_capacity(questions.len());
    for question in &questions {
        let decision = question.decide(&state, users.get(&question.user));
        let allowed = decision.allowed;
        decisions.push(AuthzenDecision::from(&decision));
        match semantic {
            EvaluationsSemantic::DenyOnFirstDeny if !allowed => break,
            EvaluationsSemantic::PermitOnFirstPermit if allowed => break,
            _ => {}
        }
    }
    Ok(Json(EvaluationsResponse {
        evaluations: Some(decisions),
        decision: None,
        context: None,
    }))
}
