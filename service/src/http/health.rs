//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::{ApiError, Problem};
use crate::state::AppState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (able to serve).
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Whether the process is alive (it never touches the store).
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Whether the service can serve: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The store is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ready().await?;
    Ok(Json(Health { status: "ready" }))
}

/// Every metric of the process in the Prometheus text format: requests and their latency by
/// route, method and status; store calls and errors by operation; the cache's hits, misses,
/// loads, evictions and entries; JWKS fetches and refused tokens (see `clearance_core::metrics`).
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(stats) = &state.cache_stats {
        // Sets the entry gauge, which moka counts on demand.
        stats();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        clearance_core::telemetry::prometheus().render(),
    )
}
