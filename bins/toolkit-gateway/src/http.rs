//! The HTTP side: MCP streamable HTTP at `/mcp`, `/metrics`, `/healthz`, `/readyz`, and the
//! web console at `/ui` ([`crate::console`]).
//!
//! `/mcp` accepts only the `Host` values of [`HttpConfig::allowed_hosts`] and, from browsers, the
//! matching `Origin`s; anything else gets 403, so a web page cannot reach a local gateway by DNS
//! rebinding. With a tokens file, every `/mcp` request also needs `Authorization: Bearer TOKEN`
//! (401 with `WWW-Authenticate: Bearer` otherwise, before any MCP handling); the identity rides
//! in the request's extensions to the MCP handler, and the header itself is removed. With OAuth
//! ([`crate::oauth`]), a token the tokens file does not hold is checked as an access token of
//! the configured issuers; the 401 then names the Protected Resource Metadata, served without
//! a token at `/.well-known/oauth-protected-resource[/mcp]`, and a token without a scope this
//! resource needs gets 403 `insufficient_scope`.
//!
//! `/metrics` answers the same hosts; with tokens it needs a token that may see every tool (a
//! scoped token would otherwise learn the names of tools hidden from it). Scrapers without a
//! token use the separate `--metrics-listen` listener ([`metrics_router`]). The probes answer
//! any host, as Kubernetes probes address the pod IP.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Identity};
use crate::config::{HttpConfig, host_allowed};
use crate::gateway::Gateway;
use crate::guard::{self, McpGuard};
use crate::metrics::CONTENT_TYPE;
use crate::oauth::Rejection;

/// The path MCP clients connect to.
pub const MCP_PATH: &str = "/mcp";

/// The path of the metrics.
pub const METRICS_PATH: &str = "/metrics";

/// `realm` of the `WWW-Authenticate` challenge.
const REALM: &str = "toolkit-gateway";

/// The routes of `gateway` for `http`. Cancelling `sessions` ends every MCP session and stream
/// (shutdown does it once calls in flight have finished). Until [`Gateway::load`] has run,
/// `tools/list` is empty, `/readyz` answers 503, and with tokens `/mcp` answers 503.
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
    let limits = &http.limits;
    config.max_request_body_bytes = limits.max_body_bytes;
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(limits.session_idle_timeout);
    let mut manager = LocalSessionManager::default();
    manager.session_config = session_config;
    let manager = Arc::new(manager);
    let sessions_gateway = gateway.clone();
    let mcp = StreamableHttpService::new(move || Ok(sessions_gateway.handler()), manager.clone(), config);
    let guard = McpGuard::new(manager, limits.clone(), http.stateless);
    // Layers run outside in: the token first, then the guard, then rmcp.
    let mut mcp =
        Router::new().route_service(MCP_PATH, mcp).layer(axum::middleware::from_fn_with_state(guard, guard::guard_mcp));
    if gateway.requires_tokens() {
        mcp = mcp.layer(axum::middleware::from_fn_with_state(gateway.clone(), require_token));
    }
    let metrics = MetricsRoute {
        gateway: gateway.clone(),
        hosts: http.allowed_hosts().map(Arc::from),
        needs_token: gateway.requires_tokens(),
    };
    let mut router = mcp.route(METRICS_PATH, get(serve_metrics).with_state(metrics)).merge(probes(gateway));
    if let Some(verifier) = gateway.oauth() {
        let document: Arc<str> = Arc::from(verifier.metadata().to_string());
        let serve = move || {
            let document = document.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], document.to_string()) }
        };
        router = router.route(METADATA_PATH, get(serve.clone()));
        let path = verifier.metadata_path();
        if path != METADATA_PATH {
            router = router.route(&path, get(serve));
        }
    }
    if http.console.enabled {
        router = router.merge(crate::console::router(gateway, http));
    }
    router.layer(axum::middleware::from_fn(guard::strict_host))
}

/// Where the Protected Resource Metadata is served (and, with the resource's path after it,
/// its path-inserted form).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The routes of the `--metrics-listen` listener: `/metrics` without a token, and the probes.
/// On a loopback address it answers only the loopback host names, like `/mcp`.
pub fn metrics_router(gateway: &Gateway, listen: std::net::SocketAddr) -> Router {
    let hosts = listen.ip().is_loopback().then(|| HttpConfig::new(listen).allowed_hosts()).flatten();
    let metrics = MetricsRoute { gateway: gateway.clone(), hosts: hosts.map(Arc::from), needs_token: false };
    Router::new()
        .route(METRICS_PATH, get(serve_metrics).with_state(metrics))
        .merge(probes(gateway))
        .layer(axum::middleware::from_fn(guard::strict_host))
}

fn probes(gateway: &Gateway) -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" })).route("/readyz", get(readyz)).with_state(gateway.clone())
}

async fn readyz(State(gateway): State<Gateway>) -> (StatusCode, &'static str) {
    if gateway.is_ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}

/// Why a request carries no identity.
pub(crate) enum Refusal {
    Missing,
    Invalid,
    Loading,
    /// A valid access token without a scope this resource needs.
    Scope,
    /// An issuer could not be reached to check an access token.
    Unavailable,
}

impl Refusal {
    fn into_response(self, gateway: &Gateway) -> Response {
        let metadata =
            gateway.oauth().map(|v| format!(", resource_metadata=\"{}\"", v.metadata_url())).unwrap_or_default();
        let (status, challenge, body) = match self {
            Refusal::Missing => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer realm=\"{REALM}\"{metadata}"),
                "unauthorized: send Authorization: Bearer TOKEN\n",
            ),
            Refusal::Invalid => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"{metadata}"),
                "unauthorized: the bearer token is not valid\n",
            ),
            Refusal::Scope => {
                let scopes = gateway.oauth().map(|v| v.scopes().join(" ")).unwrap_or_default();
                let scope = if scopes.is_empty() { String::new() } else { format!(", scope=\"{scopes}\"") };
                (
                    StatusCode::FORBIDDEN,
                    format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\"{scope}{metadata}"),
                    "forbidden: the access token does not grant what this resource needs\n",
                )
            }
            Refusal::Unavailable => {
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the identity provider cannot be reached to check the token; retry shortly\n",
                )
                    .into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
            Refusal::Loading => {
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, "the gateway is starting; retry shortly\n").into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
        };
        let mut response = (status, body).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The current catalog, once its tokens (if the gateway takes a tokens file) are loaded.
fn loaded_tokens(gateway: &Gateway) -> Result<Arc<crate::gateway::Snapshot>, Refusal> {
    let snapshot = gateway.snapshot().ok_or(Refusal::Loading)?;
    if gateway.has_tokens_file() && snapshot.tokens.is_none() {
        return Err(Refusal::Loading);
    }
    Ok(snapshot)
}

/// The identity of the bearer token in `headers`: a token of the tokens file, else an access
/// token of a configured issuer.
async fn identify(gateway: &Gateway, headers: &HeaderMap) -> Result<Arc<Identity>, Refusal> {
    loaded_tokens(gateway)?;
    let value = headers.get(header::AUTHORIZATION).ok_or(Refusal::Missing)?;
    let token = value.to_str().ok().and_then(auth::bearer).ok_or(Refusal::Invalid)?;
    identify_token(gateway, token).await
}

/// The identity of `token`: a token of the tokens file, else an access token of a configured
/// issuer. The console's sign-in checks tokens with it too.
pub(crate) async fn identify_token(gateway: &Gateway, token: &str) -> Result<Arc<Identity>, Refusal> {
    let snapshot = loaded_tokens(gateway)?;
    let tokens = snapshot.tokens.as_ref();
    if let Some(identity) = tokens.and_then(|t| t.authenticate(token)) {
        return Ok(identity.clone());
    }
    let verifier = gateway.oauth().ok_or(Refusal::Invalid)?;
    match verifier.verify(token).await {
        Ok(caller) => Ok(Arc::new(Identity::external(caller))),
        Err(Rejection::Invalid(why)) => {
            tracing::debug!(reason = %why, "refused an access token");
            Err(Refusal::Invalid)
        }
        Err(Rejection::InsufficientScope) => Err(Refusal::Scope),
        Err(Rejection::Unavailable(why)) => {
            tracing::warn!(reason = %why, "could not check an access token: the issuer is unavailable");
            Err(Refusal::Unavailable)
        }
    }
}

/// Admits a request with a valid bearer token, as that token's identity.
async fn require_token(State(gateway): State<Gateway>, mut request: Request, next: Next) -> Response {
    match identify(&gateway, request.headers()).await {
        Ok(identity) => {
            request.headers_mut().remove(header::AUTHORIZATION);
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(refusal) => {
            if !matches!(refusal, Refusal::Loading | Refusal::Unavailable) {
                gateway.metrics().unauthorized();
                tracing::debug!(path = %request.uri().path(), "refused a request without a valid bearer token");
            }
            refusal.into_response(&gateway)
        }
    }
}

#[derive(Clone)]
struct MetricsRoute {
    gateway: Gateway,
    hosts: Option<Arc<[String]>>,
    needs_token: bool,
}

async fn serve_metrics(State(route): State<MetricsRoute>, request: Request) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    let host = host.or_else(|| request.uri().authority().map(|a| a.as_str()));
    if !host_allowed(host, route.hosts.as_deref()) {
        return (StatusCode::FORBIDDEN, "Forbidden: Host header is not allowed\n").into_response();
    }
    if route.needs_token {
        match identify(&route.gateway, request.headers()).await {
            Ok(identity) if identity.is_unscoped() => {}
            Ok(_) => {
                return (StatusCode::FORBIDDEN, "forbidden: metrics need a token that may see every tool\n")
                    .into_response();
            }
            Err(refusal) => {
                if !matches!(refusal, Refusal::Loading | Refusal::Unavailable) {
                    route.gateway.metrics().unauthorized();
                }
                return refusal.into_response(&route.gateway);
            }
        }
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], route.gateway.render_metrics()).into_response()
}
