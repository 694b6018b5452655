//! The committed OpenAPI document must be exactly what the code generates.

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = clearance_service::openapi::document_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date with the code.\n\
         Regenerate it with:\n\n    cargo run -q -p clearance-openapi > openapi/openapi.json\n"
    );
}

#[test]
fn the_document_names_every_route_and_the_problem_schema() {
    let doc: serde_json::Value =
        serde_json::from_str(&clearance_service::openapi::document_json()).unwrap();
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["schemas"]["UserPermissions"].is_object());
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/.well-known/authzen-configuration",
            "/access/v1/evaluation",
            "/access/v1/evaluations",
            "/access/v1/search/action",
            "/access/v1/search/resource",
            "/access/v1/search/subject",
            "/check",
            "/companies/{company}/users",
            "/healthz",
            "/metrics",
            "/readyz",
            "/users/batch-get",
            "/users/{id}",
            "/users/{id}/history",
        ]
    );
}
