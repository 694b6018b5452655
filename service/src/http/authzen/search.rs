//! The AuthZEN 1.0 search endpoints: who may act for a company in a role (subject search), which
//! companies a user may act for in a role (resource search), which roles a user holds for a
//! company (action search).
//!
//! Every answer follows the specification's paging shape: `page.next_token` is an opaque token to
//! send back as `page.token`, and an empty string once the results have ended. A token is tagged
//! with the cursor key (as the company listing's cursors are) over the whole question it answers,
//! so one sent with any entity or the `limit` changed is refused with a 400, as the specification
//! asks, instead of silently answering another question.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::State;
use clearance_core::domain::{CompanyId, RoleRequirement, ValidationError, decide};
use clearance_core::store::cursor::CursorError;
use clearance_core::store::{MAX_PAGE_SIZE, Position};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{
    Action, Resource, Subject, at_least, company_type, requirement, resource_company, subject_id,
};
use crate::http::companies::DEFAULT_PAGE_SIZE;
use crate::http::extract::{ConsistencyParam, ConsistencyQuery, JsonBody};
use crate::http::problem::{ApiError, Problem};
use crate::state::AppState;

/// A page asked for.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PageRequest {
    /// `page.next_token` of the previous answer, exactly as received, to go on; send every
    /// other member of the request unchanged.
    #[serde(default)]
    pub token: Option<String>,
    /// The most results per page: 1 to 1000 (default 100). A page may hold fewer, even none, and
    /// still have a `next_token`.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Ignored.
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// Where the results go on.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageResponse {
    /// Send as `page.token` to get the next page; an empty string when the results have ended.
    pub next_token: String,
    /// How many results this page holds.
    pub count: usize,
}

/// The subject asked about in a subject search: its type (the id, if any, is ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchSubject {
    /// `user`.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub kind: String,
    /// Ignored, as the specification says.
    #[serde(default)]
    pub id: Option<Value>,
    /// Ignored.
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// The resource asked about in a resource search: its type (the id, if any, is ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchResource {
    /// `company`.
    #[serde(rename = "type")]
    #[schema(example = "company")]
    pub kind: String,
    /// Ignored, as the specification says.
    #[serde(default)]
    pub id: Option<Value>,
    /// Ignored.
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
}

/// A subject found.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoundSubject {
    /// `user`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The user's id.
    pub id: String,
}

/// A resource found.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoundResource {
    /// `company`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The company's id.
    pub id: String,
}

/// An action found: a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAction {
    /// The role.
    pub name: String,
}

/// Who may act for a company in a role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubjectSearchRequest {
    /// `{"type": "user"}`.
    pub subject: SearchSubject,
    /// `{"name": "<role>"}` or `{"name": "access"}` for every member.
    pub action: Action,
    /// `{"type": "company", "id": ...}`.
    pub resource: Resource,
    /// `{"atLeast": true}` lets a higher role do (unless the action says otherwise).
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// The page asked for.
    #[serde(default)]
    pub page: Option<PageRequest>,
}

/// Users found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectSearchResponse {
    /// Where the results go on.
    pub page: PageResponse,
    /// The users, in the store's order.
    pub results: Vec<FoundSubject>,
}

/// Which companies a user may act for in a role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResourceSearchRequest {
    /// `{"type": "user", "id": ...}`.
    pub subject: Subject,
    /// `{"name": "<role>"}` or `{"name": "access"}` for every company the user may act for.
    pub action: Action,
    /// `{"type": "company"}`.
    pub resource: SearchResource,
    /// `{"atLeast": true}` lets a higher role do (unless the action says otherwise).
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// The page asked for.
    #[serde(default)]
    pub page: Option<PageRequest>,
}

/// Companies found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceSearchResponse {
    /// Where the results go on.
    pub page: PageResponse,
    /// The companies, in code-point order.
    pub results: Vec<FoundResource>,
}

/// Which roles a user holds for a company.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionSearchRequest {
    /// `{"type": "user", "id": ...}`.
    pub subject: Subject,
    /// `{"type": "company", "id": ...}`.
    pub resource: Resource,
    /// `{"atLeast": true}`: every role the user's role reaches (it and those below it), not only
    /// the one it holds.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// The page asked for.
    #[serde(default)]
    pub page: Option<PageRequest>,
}

/// Roles found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionSearchResponse {
    /// Where the results go on.
    pub page: PageResponse,
    /// The roles, lowest first.
    pub results: Vec<SearchAction>,
}

/// The page size asked for, checked.
fn limit(page: Option<&PageRequest>) -> Result<usize, ApiError> {
    let Some(limit) = page.and_then(|p| p.limit) else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    usize::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
        .ok_or_else(|| {
            ValidationError::new(
                "page.limit",
                format!("must be between 1 and {MAX_PAGE_SIZE} (got {limit})"),
            )
            .into()
        })
}

/// The question a token answers, as the scope its tag covers. It always holds a space, which no
/// company id does, so it can never pass for a company listing's cursor (or the other way round).
fn scope(kind: &str, parts: &[&str]) -> String {
    let parts = serde_json::to_string(parts).unwrap_or_default();
    format!("authzen {kind} {parts}")
}

/// Where a search goes on, from `page.token`.
fn position(
    state: &AppState,
    scope: &str,
    page: Option<&PageRequest>,
) -> Result<Option<Position>, ApiError> {
    let Some(token) = page.and_then(|p| p.token.as_deref()) else {
        return Ok(None);
    };
    if token.is_empty() {
        // The end-of-results token: nothing is left after it.
        return Err(ApiError::InvalidPageToken(
            "page.token is empty: an empty next_token means the results have ended; start again without a token".into(),
        ));
    }
    state.cursor_key.decode_scoped(scope, token).map(Some).map_err(|e| {
        ApiError::InvalidPageToken(match e {
            CursorError::WrongCompany => "page.token was issued for another search: send every member of the request (subject, action, resource, context, page.limit) as in the request that returned it".into(),
            CursorError::OtherKey => "page.token was issued by another deployment, or before this deployment's cursor secret changed: start the search again without a token".into(),
            CursorError::Malformed => "page.token is not a token this service issued, or it was altered: send next_token back exactly as received".into(),
        })
    })
}

/// A search's paging: the page size, the question its tokens are bound to, and where it goes on.
struct Paging {
    limit: usize,
    scope: String,
    after: Option<Position>,
}

impl Paging {
    /// Reads `page` for a search of `kind` asking `question`: a token is valid only for the same
    /// kind of search, the same question and the same `page.limit`.
    fn read(
        state: &AppState,
        kind: &str,
        question: &[&str],
        page: Option<&PageRequest>,
    ) -> Result<Self, ApiError> {
        let limit = limit(page)?;
        let limit_text = limit.to_string();
        let mut parts = question.to_vec();
        parts.push(&limit_text);
        let scope = scope(kind, &parts);
        let after = position(state, &scope, page)?;
        Ok(Self {
            limit,
            scope,
            after,
        })
    }

    /// Where this page starts after, as the position's text.
    fn after(&self) -> Option<&str> {
        self.after.as_ref().map(Position::as_str)
    }

    /// The answer's `page` for `count` results, going on from `next` (an empty token at the end).
    fn answer(&self, state: &AppState, next: Option<Position>, count: usize) -> PageResponse {
        PageResponse {
            next_token: next
                .map(|p| state.cursor_key.encode_scoped(&self.scope, &p))
                .unwrap_or_default(),
            count,
        }
    }
}

/// The role a search asks about: `action` names it (or `access`), "at least" read from the
/// action's properties or else the request's `context`.
fn role_asked(
    state: &AppState,
    action: &Action,
    context: Option<&Map<String, Value>>,
) -> Result<Option<RoleRequirement>, ApiError> {
    let at_least = at_least("action", Some(action), "context", context)?;
    requirement("action", action, at_least, &state.roles)
}

/// The requirement's wire form, for a token's scope.
fn describe(role: Option<&RoleRequirement>) -> String {
    match role {
        None => "access".into(),
        Some(RoleRequirement::Exact(r)) => format!("exact:{r}"),
        Some(RoleRequirement::AtLeast(r)) => format!("at-least:{r}"),
    }
}

/// A page of `items` (sorted by `cmp`), after the item `after` if given.
fn page_after<T: Clone>(
    items: &[T],
    after: Option<&str>,
    limit: usize,
    key: impl Fn(&T) -> &str,
    cmp: impl Fn(&str, &str) -> Ordering,
) -> (Vec<T>, Option<Position>) {
    let start = match after {
        Some(a) => items.partition_point(|x| cmp(key(x), a) != Ordering::Greater),
        None => 0,
    };
    let page: Vec<T> = items[start..].iter().take(limit).cloned().collect();
    let more = start + page.len() < items.len();
    let next = if more {
        page.last().and_then(|x| Position::new(key(x)))
    } else {
        None
    };
    (page, next)
}

/// Who may act for a company in a role (AuthZEN 1.0 subject search).
///
/// Reads the company's users a page at a time (as `GET /companies/{company}/users` does) and keeps
/// those `decide` allows. A page may hold fewer results than `page.limit`, even none, and still
/// have a `next_token`: keep following it until it is empty.
#[utoipa::path(
    post, path = "/access/v1/search/subject", tag = "authzen",
    request_body = SubjectSearchRequest,
    responses(
        (status = 200, description = "A page of the users who may act for the company in the role", body = SubjectSearchResponse),
        (status = 400, description = "Invalid subject type, resource, action, page.limit or page.token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_subject(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SubjectSearchRequest>,
) -> Result<Json<SubjectSearchResponse>, ApiError> {
    if body.subject.kind != "user" {
        return Err(ValidationError::new(
            "subject.type",
            format!("must be \"user\" (got {:?})", body.subject.kind),
        )
        .into());
    }
    let company = resource_company("resource", &body.resource)?;
    let role = role_asked(&state, &body.action, body.context.as_ref())?;
    let question = [company.as_str(), &describe(role.as_ref())];
    let paging = Paging::read(&state, "subject", &question, body.page.as_ref())?;
    let page = state
        .store
        .list_by_company(&company, paging.limit, paging.after.as_ref())
        .await?;
    let results: Vec<FoundSubject> = page
        .users
        .iter()
        .filter(|u| decide(Some(u), Some(&company), role.as_ref(), &state.roles).allowed)
        .map(|u| FoundSubject {
            kind: "user",
            id: u.id.as_str().to_owned(),
        })
        .collect();
    Ok(Json(SubjectSearchResponse {
        page: paging.answer(&state, page.next, results.len()),
        results,
    }))
}

/// Which companies a user may act for in a role (AuthZEN 1.0 resource search).
///
/// Reads the user once, through the cache. An unknown user may act for no company: the results
/// are empty, as every evaluation for it would deny.
#[utoipa::path(
    post, path = "/access/v1/search/resource", tag = "authzen",
    params(ConsistencyQuery),
    request_body = ResourceSearchRequest,
    responses(
        (status = 200, description = "A page of the companies the user may act for in the role", body = ResourceSearchResponse),
        (status = 400, description = "Invalid subject, resource type, action, page.limit or page.token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_resource(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<ResourceSearchRequest>,
) -> Result<Json<ResourceSearchResponse>, ApiError> {
    let user_id = subject_id("subject", &body.subject)?;
    company_type("resource", &body.resource.kind)?;
    let role = role_asked(&state, &body.action, body.context.as_ref())?;
    let question = [user_id.as_str(), &describe(role.as_ref())];
    let paging = Paging::read(&state, "resource", &question, body.page.as_ref())?;
    let user = state.store.get_with(&user_id, consistency).await?.value;
    let mut companies: Vec<CompanyId> = match &user {
        Some(u) if decide(Some(u), None, role.as_ref(), &state.roles).allowed => {
            u.companies.clone()
        }
        _ => Vec::new(),
    };
    companies.sort();
    let (page, next) = page_after(
        &companies,
        paging.after(),
        paging.limit,
        CompanyId::as_str,
        |a, b| a.cmp(b),
    );
    let results: Vec<FoundResource> = page
        .into_iter()
        .map(|c| FoundResource {
            kind: "company",
            id: c.as_str().to_owned(),
        })
        .collect();
    Ok(Json(ResourceSearchResponse {
        page: paging.answer(&state, next, results.len()),
        results,
    }))
}

/// Which roles a user holds for a company (AuthZEN 1.0 action search), lowest first.
///
/// The role the user holds, when it may act for the company and the role is a configured one;
/// with `context.atLeast: true`, that role and every role below it in the role order (each one an
/// action that an evaluation with `atLeast` would permit). Nothing for a non-member or an unknown
/// user. `access` (membership) is not listed: it is not a role.
#[utoipa::path(
    post, path = "/access/v1/search/action", tag = "authzen",
    params(ConsistencyQuery),
    request_body = ActionSearchRequest,
    responses(
        (status = 200, description = "A page of the roles the user holds for the company", body = ActionSearchResponse),
        (status = 400, description = "Invalid subject, resource, page.limit or page.token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_action(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<ActionSearchRequest>,
) -> Result<Json<ActionSearchResponse>, ApiError> {
    let user_id = subject_id("subject", &body.subject)?;
    let company = resource_company("resource", &body.resource)?;
    let at_least = at_least("action", None, "context", body.context.as_ref())?;
    let question = [user_id.as_str(), company.as_str(), &at_least.to_string()];
    let paging = Paging::read(&state, "action", &question, body.page.as_ref())?;
    let user = state.store.get_with(&user_id, consistency).await?.value;
    let roles = state.roles.roles();
    let held: Vec<String> = match &user {
        Some(u) if decide(Some(u), Some(&company), None, &state.roles).allowed => {
            match state.roles.rank_of(u.role.as_str()) {
                // A stored role the configuration does not know reaches nothing: fail closed.
                None => Vec::new(),
                Some(rank) if at_least => roles[..=rank].to_vec(),
                Some(rank) => vec![roles[rank].clone()],
            }
        }
        _ => Vec::new(),
    };
    let rank = |r: &str| state.roles.rank_of(r).unwrap_or(usize::MAX);
    let (page, next) = page_after(
        &held,
        paging.after(),
        paging.limit,
        String::as_str,
        |a, b| rank(a).cmp(&rank(b)),
    );
    let results: Vec<SearchAction> = page.into_iter().map(|name| SearchAction { name }).collect();
    Ok(Json(ActionSearchResponse {
        page: paging.answer(&state, next, results.len()),
        results,
    }))
}
