//! The OpenAPI document and a page that renders it.
//!
//! The page is one self-contained HTML file compiled into the binary: nothing is downloaded at
//! build time or by the browser from anywhere but this service.

use axum::Json;
use axum::extract::State;
use axum::response::Html;

use crate::state::AppState;

/// `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations, with
/// this service's configured roles.
pub async fn openapi_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(crate::openapi::document_for(&state.roles))
}

/// `GET /docs`: a page that renders the OpenAPI document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
