//! The OpenAPI document, generated from the annotations beside each handler.
//!
//! The committed copy lives in `openapi/openapi.json`; `cargo run -q -p clearance-openapi >
//! openapi/openapi.json` regenerates it, and a test fails when it is out of date.

use utoipa::OpenApi;

use crate::http::{companies, decisions, health, problem, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clearance permissions API",
        description = "Which companies a user may act for, and in what role: look-ups, management and decisions. \
Errors are RFC 9457 problem documents (application/problem+json).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        users::get_user, users::put_user, users::patch_user, users::delete_user, users::batch_get,
        companies::list_company_users,
        decisions::check, decisions::authzen_evaluation,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(
        clearance_core::domain::UserPermissions,
        problem::Problem,
    )),
    tags(
        (name = "users", description = "One user's permissions"),
        (name = "companies", description = "The users of a company"),
        (name = "decisions", description = "May this user act for this company in this role?"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of the permissions API.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as the pretty JSON that is committed (with a final newline).
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).unwrap_or_default();
    json.push('\n');
    json
}
