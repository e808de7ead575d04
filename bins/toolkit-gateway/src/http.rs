//! The HTTP side: MCP streamable HTTP at `/mcp`, `/healthz` and `/readyz`.
//!
//! `/mcp` accepts only the `Host` values of [`HttpConfig::allowed_hosts`] and, from browsers, the
//! matching `Origin`s; anything else gets 403, so a web page cannot reach a local gateway by DNS
//! rebinding. The probes answer any host, as Kubernetes probes address the pod IP.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;
use crate::gateway::Gateway;

/// The path MCP clients connect to.
pub const MCP_PATH: &str = "/mcp";

/// The routes of `gateway` for `http`. Cancelling `sessions` ends every MCP session and stream
/// (shutdown does it once calls in flight have finished). Until [`Gateway::load`] has run,
/// `tools/list` is empty and `/readyz` answers 503.
pub fn router(gateway: &Gateway, http: &HttpConfig, sessions: CancellationToken) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(sessions)
        .with_legacy_session_mode(!http.stateless)
        .with_json_response(http.stateless);
    config = match (http.allowed_hosts(), http.allowed_origins()) {
        (Some(hosts), Some(origins)) => {
            config.with_allowed_hosts(hosts).with_allowed_origins(origins).enforce_origin_validation()
        }
        _ => config.disable_allowed_hosts().disable_allowed_origins(),
    };
    let sessions_gateway = gateway.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(sessions_gateway.handler()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(MCP_PATH, mcp)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(gateway.clone())
}

async fn readyz(State(gateway): State<Gateway>) -> (StatusCode, &'static str) {
    if gateway.is_ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}
