//! `/users/{id}/history`: who changed a user's permissions, when, and what changed.

use axum::Json;
use axum::extract::State;
use clearance_core::domain::ValidationError;
use clearance_core::domain::history::HistoryEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{QueryParams, UserIdPath};
use super::problem::{ApiError, Problem};
use crate::state::AppState;

/// Entries per page when `limit` is not given.
pub const DEFAULT_HISTORY_PAGE: usize = 20;
/// The most entries one page holds: the listing's page size, so every `limit` of the API has the
/// same range (a user's history holds at most 50 entries anyway).
pub const MAX_HISTORY_PAGE: usize = clearance_core::store::MAX_PAGE_SIZE;

/// Query parameters of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The most entries per page: 1 to 1000 (default 20).
    pub limit: Option<usize>,
    /// Only entries older than this `seq` (at least 1): the previous page's `nextBefore`.
    pub before: Option<i64>,
}

/// One page of a user's history, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The entries on this page, newest first.
    pub entries: Vec<HistoryEntry>,
    /// Pass as `before` to read older entries; `null` when there are none.
    pub next_before: Option<u64>,
}

/// Reads a user's recent changes, newest first.
///
/// Every acknowledged write (through the API, the seed CLI or the admin page) records an entry:
/// when, who (`updatedBy`'s rule), what (create, update, delete, with the permissions before and
/// after), the version and the request id. The most recent 50 entries are kept per user (fewer
/// for users with very many companies: at most 128 KiB of them); older ones are dropped. A
/// deleted user's history stays readable for 30 days, or until the user is created again.
#[utoipa::path(
    get, path = "/users/{id}/history", tag = "users",
    params(("id" = String, Path, description = "The user's id"), HistoryParams),
    responses(
        (status = 200, description = "A page of the user's history, newest first", body = HistoryPage),
        (status = 400, description = "Invalid id, limit or before", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user does not exist and has no readable history", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_history(
    State(state): State<AppState>,
    UserIdPath(id): UserIdPath,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Json<HistoryPage>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_HISTORY_PAGE);
    if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
        return Err(ValidationError::new(
            "limit",
            format!("must be between 1 and {MAX_HISTORY_PAGE} (got {limit})"),
        )
        .into());
    }
    let before = match params.before {
        Some(before) if before < 1 => {
            return Err(ValidationError::new(
                "before",
                format!("must be at least 1 (got {before})"),
            )
            .into());
        }
        other => other.and_then(|b| u64::try_from(b).ok()),
    };
    let history = state.store.history(&id).await?;
    if history.is_empty() && state.store.get(&id).await?.is_none() {
        return Err(ApiError::UserNotFound(id.to_string()));
    }
    let mut older = history
        .into_iter()
        .filter(|e| before.is_none_or(|before| e.seq < before));
    let entries: Vec<HistoryEntry> = older.by_ref().take(limit).collect();
    let next_before = match older.next() {
        Some(_) => entries.last().map(|e| e.seq),
        None => None,
    };
    Ok(Json(HistoryPage {
        entries,
        next_before,
    }))
}
