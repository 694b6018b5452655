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

/// Cache counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "Counters in the Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    if let Some(stats) = &state.cache_stats {
        let s = stats();
        for (name, help, kind, value) in [
            (
                "clearance_cache_hits_total",
                "Reads answered from the cache.",
                "counter",
                s.hits,
            ),
            (
                "clearance_cache_misses_total",
                "Reads that went to the store.",
                "counter",
                s.misses,
            ),
            (
                "clearance_cache_loads_total",
                "Store reads made by the cache.",
                "counter",
                s.loads,
            ),
            (
                "clearance_cache_entries",
                "Entries held by the cache.",
                "gauge",
                s.entries,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
