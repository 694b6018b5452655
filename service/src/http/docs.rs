//! The OpenAPI document and a page that renders it.
//!
//! The page is one self-contained HTML file compiled into the binary: nothing is downloaded at
//! build time or by the browser from anywhere but this service.

use axum::Json;
use axum::response::Html;

/// `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// `GET /docs`: a page that renders the OpenAPI document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
