//! The HTTP upstream of the benchmark: a small JSON API on loopback.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use serde_json::{Value, json};

/// Serves `GET /items/{id}` → `{"id": ID, "ok": true}` on a free loopback port, on the current
/// runtime; returns its address.
pub async fn start() -> std::io::Result<SocketAddr> {
    let app = axum::Router::new().route("/items/{id}", get(item));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn item(Path(id): Path<String>) -> Json<Value> {
    Json(json!({"id": id, "ok": true}))
}
