//! `/companies/{company}/users`: the users of a company, a page at a time.

use axum::Json;
use axum::extract::State;
use clearance_core::domain::{UserPermissions, ValidationError};
use clearance_core::store::{MAX_PAGE_SIZE, cursor};
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
    /// How many users per page: 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// `nextCursor` from the previous page, exactly as received.
    pub cursor: Option<String>,
}

/// One page of a company's users.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    /// The users on this page.
    pub users: Vec<UserPermissions>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Lists the users who may act for a company.
#[utoipa::path(
    get, path = "/companies/{company}/users", tag = "companies",
    params(("company" = String, Path, description = "The company's id"), ListParams),
    responses(
        (status = 200, description = "A page of the company's users", body = UserPage),
        (status = 400, description = "Invalid company, limit or cursor", body = Problem, content_type = "application/problem+json"),
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
        .map(|c| cursor::decode(&company, c))
        .transpose()?;
    let page = state
        .store
        .list_by_company(&company, limit, after.as_ref())
        .await?;
    Ok(Json(UserPage {
        users: page.users,
        next_cursor: page.next_after.map(|id| cursor::encode(&company, &id)),
    }))
}
