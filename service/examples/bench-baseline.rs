//! The load benchmark's baselines (`scripts/bench-load`), on the same runtime the service uses:
//!
//! - `bench-baseline <listen address> <file with the body>`: the ceiling for cache hits, a bare
//!   axum handler that answers every `GET /users/{id}` with the bytes it was given, as JSON.
//!   Whatever the service does per request beyond this (request id, span, metrics, access log,
//!   middleware, cache, serialization) is what the hits' ratio measures.
//! - `bench-baseline <listen address> --dynamodb <endpoint URL> <table>`: the store read a cache
//!   miss makes, alone: a bare handler that answers `GET /users/{id}` with the user that the
//!   DynamoDB store's `get` (one consistent `GetItem` through the AWS SDK, and its decoding) reads,
//!   serialized as JSON; 404 when there is none. What a miss costs beyond this is the service's
//!   own (middleware, the cache's single-flight read and insert); what this costs beyond a
//!   `GetItem` sent straight to the server is the SDK client's.
//!
//! Both run on the service's allocator (mimalloc), so the ratios measure what the service does,
//! not which allocator it was given.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clearance_core::domain::UserId;
use clearance_core::store::PermissionStore;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: bench-baseline <listen address> <file with the body>\n       \
                     bench-baseline <listen address> --dynamodb <endpoint URL> <table>";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let app = match args.as_slice() {
        [_, body_file] => fixed_body(body_file)?,
        [_, flag, endpoint, table] if flag == "--dynamodb" => store_read(endpoint, table).await?,
        _ => anyhow::bail!("{USAGE}"),
    };
    let listen: SocketAddr = args[0].parse()?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("bench-baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Every `GET /users/{id}` answered with the file's bytes.
fn fixed_body(body_file: &str) -> anyhow::Result<Router> {
    let body: &'static [u8] = Box::leak(std::fs::read(body_file)?.into_boxed_slice());
    Ok(Router::new().route(
        "/users/{id}",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    ))
}

/// Every `GET /users/{id}` answered by one store read, with nothing in front of it.
async fn store_read(endpoint: &str, table: &str) -> anyhow::Result<Router> {
    let settings = DynamoSettings {
        endpoint_url: Some(endpoint.to_owned()),
        ..DynamoSettings::new(table)
    };
    let store = DynamoStore::connect(&settings).await?;
    Ok(Router::new()
        .route("/users/{id}", get(read_user))
        .with_state(Arc::new(store)))
}

async fn read_user(State(store): State<Arc<DynamoStore>>, Path(id): Path<String>) -> Response {
    let Ok(id) = UserId::parse(id) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match store.get(&id).await {
        Ok(Some(user)) => match serde_json::to_vec(&user) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
