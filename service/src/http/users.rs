//! `/users/...`: read and manage one user's permissions, and read many at once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clearance_core::domain::{Permissions, Role, UserId, UserPermissions, ValidationError};
use clearance_core::store::ops::{self, PermissionsPatch};
use clearance_core::store::{MAX_BATCH_GET, Precondition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::conditional::{IfNoneMatch, not_modified, precondition, with_etag, with_freshness};
use super::context::RequestContext;
use super::extract::{ConsistencyParam, ConsistencyQuery, JsonBody, UserIdPath};
use super::problem::{ApiError, Problem};
use crate::state::AppState;

/// The body of `PUT /users/{id}`: the user's complete permissions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutUserBody {
    /// Optional; if present it must equal the id in the path.
    pub id: Option<String>,
    /// Companies the user may act for (unique; at most 1,000; each 1-64 of `A-Za-z0-9._:-`).
    #[schema(example = json!(["1111"]))]
    pub companies: Vec<String>,
    /// One of the configured roles (case-sensitive).
    #[schema(example = "Manager")]
    pub role: String,
}

/// The body of `PATCH /users/{id}`: changes applied in one atomic step. At least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchUserBody {
    /// Companies to add (those already held are kept once).
    #[schema(example = json!(["2222"]))]
    pub add_companies: Option<Vec<String>>,
    /// Companies to remove (those not held are ignored).
    pub remove_companies: Option<Vec<String>>,
    /// A new role.
    pub role: Option<String>,
}

/// The body of `POST /users/batch-get`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchGetBody {
    /// 1 to 100 user ids.
    #[schema(example = json!(["3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10", "nobody"]))]
    pub ids: Vec<String>,
}

/// The answer to `POST /users/batch-get`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchGetResponse {
    /// The users found, in the order asked for.
    pub users: Vec<UserPermissions>,
    /// The ids asked for that have no permissions stored, in the order asked for.
    pub missing: Vec<String>,
}

/// Reads a user's permissions.
#[utoipa::path(
    get, path = "/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "The user's id (a Cognito sub, username or app client id)"),
        ("If-None-Match" = Option<String>, Header, description = "Entity tags (`\"3\"`, a comma-separated list, or `*`): 304 when one is the current version"),
        ConsistencyQuery,
    ),
    responses(
        (status = 200, description = "The user's permissions; the ETag header holds the version; Age and Cache-Status say how fresh an answer from the cache is", body = UserPermissions,
            headers(("Age" = u64, description = "Seconds since the store read (answers through the cache)"), ("Cache-Status" = String, description = "RFC 9211: hit, refresh-ahead, stale-if-error, or why the store was read"))),
        (status = 304, description = "Not modified (If-None-Match matched the current version)"),
        (status = 400, description = "The id breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No permissions are stored for the user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    UserIdPath(id): UserIdPath,
    ConsistencyParam(consistency): ConsistencyParam,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let served = state.store.get_with(&id, consistency).await?;
    let response = match served.value {
        None => ApiError::UserNotFound(id.to_string()).into_response(),
        Some(user) => {
            not_modified(&if_none_match, &user).unwrap_or_else(|| with_etag(StatusCode::OK, &user))
        }
    };
    Ok(with_freshness(response, served.freshness))
}

/// Creates or replaces a user's permissions.
#[utoipa::path(
    put, path = "/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "Replace only this version (e.g. \"3\"), or `*`: only if the user exists"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: create only, fail if the user exists"),
    ),
    request_body = PutUserBody,
    responses(
        (status = 200, description = "Replaced", body = UserPermissions),
        (status = 201, description = "Created", body = UserPermissions),
        (status = 400, description = "Invalid id, body, companies or role", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The precondition did not hold", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 128 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_user(
    State(state): State<AppState>,
    ctx: RequestContext,
    UserIdPath(id): UserIdPath,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PutUserBody>,
) -> Result<Response, ApiError> {
    if let Some(body_id) = &body.id
        && body_id != id.as_str()
    {
        return Err(ValidationError::new(
            "id",
            format!("the id in the body ({body_id:?}) must equal the id in the path ({id:?})"),
        )
        .into());
    }
    let permissions = Permissions::parse(body.companies, body.role, &state.roles)?;
    let precondition = precondition(&headers)?;
    let outcome = state
        .store
        .put(&id, &permissions, precondition, ctx.author())
        .await
        .map_err(|e| ApiError::from(e).for_user(id.as_str()))?;
    let status = if outcome.before.is_none() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    crate::audit::write(&ctx, &id, outcome.before.as_ref(), Some(&outcome.after));
    let mut response = with_etag(status, &outcome.after);
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("/users/{}", encode_path(id.as_str())))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Changes a user's companies and role in one atomic step.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "Apply only to this version (e.g. \"3\")"),
    ),
    request_body = PatchUserBody,
    responses(
        (status = 200, description = "The permissions after the change", body = UserPermissions),
        (status = 400, description = "Invalid id, body, companies or role, or an empty patch", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No permissions are stored for the user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The precondition did not hold", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_user(
    State(state): State<AppState>,
    ctx: RequestContext,
    UserIdPath(id): UserIdPath,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PatchUserBody>,
) -> Result<Response, ApiError> {
    let role = body
        .role
        .map(|r| Role::parse(r, &state.roles))
        .transpose()?;
    let patch = PermissionsPatch::parse(body.add_companies, body.remove_companies, role)?;
    let precondition = match precondition(&headers)? {
        Precondition::MustNotExist => {
            return Err(ApiError::InvalidPrecondition(
                "PATCH changes an existing user: If-None-Match does not apply".into(),
            ));
        }
        Precondition::MustExist => Precondition::None,
        other => other,
    };
    let outcome = ops::patch(
        state.store.as_ref(),
        &id,
        &patch,
        precondition,
        ctx.author(),
    )
    .await
    .map_err(|e| ApiError::from(e).for_user(id.as_str()))?;
    crate::audit::write(&ctx, &id, outcome.before.as_ref(), Some(&outcome.after));
    Ok(with_etag(StatusCode::OK, &outcome.after))
}

/// Deletes a user's permissions.
#[utoipa::path(
    delete, path = "/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "Delete only this version (e.g. \"3\")"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No permissions are stored for the user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The precondition did not hold", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    ctx: RequestContext,
    UserIdPath(id): UserIdPath,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let precondition = match precondition(&headers)? {
        Precondition::MustNotExist => {
            return Err(ApiError::InvalidPrecondition(
                "DELETE takes If-Match, not If-None-Match".into(),
            ));
        }
        other => other,
    };
    let removed = state
        .store
        .delete(&id, precondition, ctx.author())
        .await
        .map_err(|e| ApiError::from(e).for_user(id.as_str()))?;
    crate::audit::write(&ctx, &id, Some(&removed), None);
    Ok(StatusCode::NO_CONTENT)
}

/// Reads many users at once.
#[utoipa::path(
    post, path = "/users/batch-get", tag = "users",
    params(ConsistencyQuery),
    request_body = BatchGetBody,
    responses(
        (status = 200, description = "The users found and the ids missing", body = BatchGetResponse),
        (status = 400, description = "No ids, more than 100, or an invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn batch_get(
    State(state): State<AppState>,
    ConsistencyParam(consistency): ConsistencyParam,
    JsonBody(body): JsonBody<BatchGetBody>,
) -> Result<Json<BatchGetResponse>, ApiError> {
    if body.ids.is_empty() || body.ids.len() > MAX_BATCH_GET {
        return Err(ValidationError::new(
            "ids",
            format!(
                "must hold 1 to {MAX_BATCH_GET} ids (got {})",
                body.ids.len()
            ),
        )
        .into());
    }
    let mut ids: Vec<UserId> = Vec::with_capacity(body.ids.len());
    for (i, raw) in body.ids.into_iter().enumerate() {
        let id = UserId::parse_field(&format!("ids[{i}]"), raw)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut found = state.store.batch_get_with(&ids, consistency).await?;
    let mut users = Vec::with_capacity(found.len());
    let mut missing = Vec::new();
    for id in &ids {
        match found.iter().position(|u| &u.id == id) {
            Some(i) => users.push(found.swap_remove(i)),
            None => missing.push(id.to_string()),
        }
    }
    Ok(Json(BatchGetResponse { users, missing }))
}

/// Percent-encodes a path segment.
pub fn encode_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
