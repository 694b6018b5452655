//! Prints Clearance's OpenAPI document, generated from the service's code.
//!
//! `cargo run -q -p clearance-openapi > openapi/openapi.json` regenerates the committed copy.

fn main() {
    print!("{}", clearance_service::openapi::document_json());
}
