//! The load benchmark's ceiling (`scripts/bench-load`): a bare axum handler that answers every
//! `GET` with the bytes it was given, as JSON, on the same runtime the service uses. Whatever the
//! service does per request beyond this (request id, span, metrics, access log, middleware,
//! cache, serialization) is what the benchmark's ratio measures.
//!
//! `bench-baseline <listen address> <file with the body>`

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(body_file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: bench-baseline <listen address> <file with the body>");
    };
    let listen: SocketAddr = listen.parse()?;
    let body: &'static [u8] = Box::leak(std::fs::read(&body_file)?.into_boxed_slice());
    let app = Router::new().route(
        "/users/{id}",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("bench-baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
