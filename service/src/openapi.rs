//! The OpenAPI document, generated from the annotations beside each handler.
//!
//! The committed copy lives in `openapi/openapi.json`; `cargo run -q -p clearance-openapi >
//! openapi/openapi.json` regenerates it, and a test fails when it is out of date.

use clearance_core::domain::RoleOrder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod contract;

use crate::http::{authzen, companies, decisions, health, history, problem, users};

/// Documents `--auth jwt`: a bearer access token holding `clearance/read` (reads and decisions) or
/// `clearance/write` (changes). Without authentication (`--auth none`, loopback only) no token is
/// needed, so the requirement lists "none" as an alternative.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from a configured issuer (--auth jwt). The scope clearance/read grants reads and decisions; clearance/write grants changes and reads.",
                    ))
                    .build(),
            ),
        );
        doc.security = Some(vec![
            SecurityRequirement::new("bearer", ["clearance/read", "clearance/write"]),
            SecurityRequirement::default(),
        ]);
    }
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerAuth),
    info(
        title = "Clearance permissions API",
        description = "Which companies a user may act for, and in what role: look-ups, management and decisions. \
Errors are RFC 9457 problem documents (application/problem+json).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        users::get_user, users::put_user, users::patch_user, users::delete_user, users::batch_get,
        history::user_history,
        companies::list_company_users,
        decisions::check,
        authzen::evaluation, authzen::evaluations, authzen::search_subject,
        authzen::search_resource, authzen::search_action, authzen::configuration,
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
        (name = "authzen", description = "The AuthZEN Authorization API 1.0: evaluations, searches and PDP metadata"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of the permissions API with the default roles (the committed copy).
pub fn document() -> serde_json::Value {
    document_for(&RoleOrder::default())
}

/// The OpenAPI document of a service whose roles are `roles` (what `/openapi.json` serves): the
/// shapes utoipa generates from the handlers, with every rule the service enforces added by
/// [`contract`].
pub fn document_for(roles: &RoleOrder) -> serde_json::Value {
    let mut api = ApiDoc::openapi();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&api).unwrap_or_default();
    contract::apply(&mut doc, roles);
    doc
}

/// The document as the pretty JSON that is committed (with a final newline).
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).unwrap_or_default();
    json.push('\n');
    json
}
