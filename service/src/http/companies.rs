//! `/companies/{company}/users`: the users of a company, a page at a time.

use axum::Json;
use axum::extract::State;
use clearance_core::domain::{UserPermissions, ValidationError};
use clearance_core::store::MAX_PAGE_SIZE;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{CompanyPath, QueryParams};
use super::problem::{ApiError, Problem};
use crate::state::AppState;

/// The page size when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Query parameters of the company listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The most users per page: 1 to 1000 (default 100). A page may hold fewer, even none, and
    /// still have a `nextCursor`.
    pub limit: Option<usize>,
    /// `nextCursor` from the previous page, exactly as received. Refused (400, `invalid-cursor`)
    /// when altered, issued for another company, or issued by another deployment or under
    /// another cursor secret.
    pub cursor: Option<String>,
}

/// One page of a company's users.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    /// The users on this page: at most `limit`, and possibly fewer, even none, when the store
    /// stopped early (see `nextCursor`).
    pub users: Vec<UserPermissions>,
    /// Pass as `cursor` to go on; `null` only when the listing has ended. Keep following it even
    /// after a short or empty page: on DynamoDB each request reads a bounded part of the table,
    /// so a page can end before `limit` users are found while more are left.
    pub next_cursor: Option<String>,
}

/// Lists the users who may act for a company.
///
/// A page at a time: follow `nextCursor` until it is `null` to get every user exactly once. A page
/// may hold fewer users than `limit`, even none, and still have a `nextCursor`: on DynamoDB, which
/// has no index by company, each request reads at most a bounded part of the table (by default
/// 4,000 items) and says where to go on. Cursors are opaque and tagged with HMAC-SHA-256: they
/// cannot be forged when the deployment sets a cursor secret, and are checked for corruption
/// otherwise.
#[utoipa::path(
    get, path = "/companies/{company}/users", tag = "companies",
    params(("company" = String, Path, description = "The company's id"), ListParams),
    responses(
        (status = 200, description = "A page of the company's users: possibly short or empty, with a nextCursor until the listing has ended", body = UserPage),
        (status = 400, description = "Invalid company, limit or cursor (`invalid-cursor`: altered, for another company, or from another deployment)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_company_users(
    State(state): State<AppState>,
    CompanyPath(company): CompanyPath,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ValidationError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE_SIZE} (got {limit})"),
        )
        .into());
    }
    let after = params
        .cursor
        .as_deref()
        .map(|c| state.cursor_key.decode(&company, c))
        .transpose()?;
    let page = state
        .store
        .list_by_company(&company, limit, after.as_ref())
        .await?;
    Ok(Json(UserPage {
        users: page.users,
        next_cursor: page
            .next
            .map(|position| state.cursor_key.encode(&company, &position)),
    }))
}
