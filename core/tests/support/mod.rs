//! Shared test support: start an axum router on a real socket.

use std::net::SocketAddr;

/// Serves `router` on `127.0.0.1:0` in the background and returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}
