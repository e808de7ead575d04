//! What the gateway serves and how: [`GatewayConfig`], and the `Host` and `Origin` allow-lists
//! that keep a browser page from reaching a local gateway through DNS rebinding.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use toolkit_core::ConnectorRegistry;

use axum::http::uri::Authority;
use toolkit_core::{Error, Result, SecretString};

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// How long shutdown waits for calls in flight, by default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Host names a loopback listener answers to (any port).
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Everything [`serve`](crate::serve) needs.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Manifest files or folders.
    pub tools: Vec<PathBuf>,
    /// State directory (counters, audit).
    pub state_dir: PathBuf,
    /// How clients connect.
    pub transport: Transport,
    /// Reload the catalog when a manifest changes, and tell clients.
    pub watch: bool,
    /// How long shutdown waits for calls in flight before closing sessions.
    pub drain_timeout: Duration,
    /// Where rate-limit budgets are kept.
    pub rate_limits: RateLimitConfig,
    /// The connectors and peer formats manifests are read with.
    pub connectors: ConnectorRegistry,
    /// Caps on tool calls running at once.
    pub calls: CallCaps,
    /// Read tools from a Kubernetes cluster instead of `tools` (`--kubernetes`).
    pub cluster: Option<ClusterConfig>,
    /// Where approval requests are announced.
    pub webhooks: crate::webhook::WebhookConfig,
}

/// Tools, registries and policies from a Kubernetes API (watched), and call counts reported to
/// each Tool's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The namespace read; every namespace when `None`.
    pub namespace: Option<String>,
    /// How often call counts are added to `Tool.status` (`--status-interval`, 30s).
    pub status_interval: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { namespace: None, status_interval: Duration::from_secs(30) }
    }
}

impl GatewayConfig {
    /// A configuration with the defaults of the command line: watch on, 30s drain, rate limits
    /// in memory.
    pub fn new(tools: Vec<PathBuf>, state_dir: PathBuf, transport: Transport) -> Self {
        Self {
            tools,
            state_dir,
            transport,
            watch: true,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            rate_limits: RateLimitConfig::default(),
            connectors: toolkit_connectors::registry(),
            calls: CallCaps::default(),
            cluster: None,
            webhooks: crate::webhook::WebhookConfig::default(),
        }
    }
}

/// Tool calls running at once, on any transport; a call past a cap is refused at once (a
/// tool error saying which cap), never queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallCaps {
    /// Calls one caller (token, or client) may have running (`--max-calls-per-identity`, 32).
    pub per_identity: usize,
    /// Calls of one tool running, for all callers (`--max-calls-per-tool`, 64).
    pub per_tool: usize,
}

impl Default for CallCaps {
    fn default() -> Self {
        Self { per_identity: 32, per_tool: 64 }
    }
}

/// Where rate-limit budgets are kept: in this process (the default), or in Redis, shared by
/// every gateway that uses the same Redis.
#[derive(Clone, Debug, Default)]
pub struct RateLimitConfig {
    /// `redis://` URL of the shared budgets (may hold a password, so it never prints).
    pub redis: Option<SecretString>,
    /// When Redis is unavailable, admit calls (with a warning) instead of refusing them.
    pub fail_open: bool,
}

/// How clients connect.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant, reason = "made once at startup")]
pub enum Transport {
    /// MCP streamable HTTP at `/mcp`, with `/healthz` and `/readyz`.
    Http(HttpConfig),
    /// MCP over the process's stdin and stdout (one client).
    Stdio,
}

/// The HTTP listener.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Host names (`HOST` or `HOST:PORT`) accepted in addition to the loopback names; `*`
    /// accepts any `Host` and `Origin`.
    pub allowed_hosts: Vec<String>,
    /// Allow a non-loopback address without tokens.
    pub insecure: bool,
    /// Serve every request on its own, without `Mcp-Session-Id` sessions.
    pub stateless: bool,
    /// The tokens file: when set, every request to `/mcp` and `/metrics` needs a bearer token
    /// from it, on any address.
    pub tokens: Option<PathBuf>,
    /// A second listener serving only `/metrics` (and the probes), without tokens.
    pub metrics_listen: Option<SocketAddr>,
    /// Access tokens of identity providers: when set, every request to `/mcp` and `/metrics`
    /// needs a bearer token, from the tokens file or from one of these issuers.
    pub oauth: Option<crate::oauth::OAuthConfig>,
    /// Caps on connections, sessions and calls, and the HTTP timeouts.
    pub limits: HttpLimits,
    /// The web console at `/ui`: whether it is served, and who may decide approvals there.
    pub console: crate::console::ConsoleConfig,
}

/// What one gateway lets its clients hold at once, and how long it waits for them. Each limit
/// is a command-line flag; the defaults suit one gateway serving a team's agents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Open TCP connections, authenticated or not; past it a connection gets 503 and is
    /// closed (`--max-connections`, 1024).
    pub max_connections: usize,
    /// Time a client has to send a request's headers, from when its connection waits for a
    /// request: a connection that sends nothing, or sends headers slowly, is closed after it, as
    /// is an idle keep-alive connection (`--header-read-timeout`, 10s).
    pub header_read_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed: a stalled
    /// body, or a client that stopped reading its stream (`--idle-timeout`, 120s; streams send
    /// a ping every 15s).
    pub idle_timeout: Duration,
    /// MCP sessions open at once, for all callers (`--max-sessions`, 1000).
    pub max_sessions: usize,
    /// MCP sessions one identity may hold (`--max-sessions-per-identity`, 100). At either cap
    /// the least recently used session without a request in flight is closed to make room;
    /// when every session is busy, `initialize` is refused.
    pub max_sessions_per_identity: usize,
    /// A session with no request for this long is closed (`--session-idle-timeout`, 5m).
    pub session_idle_timeout: Duration,
    /// Bytes of one request body (`--max-body-bytes`, 4 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_sessions: 1000,
            max_sessions_per_identity: 100,
            session_idle_timeout: Duration::from_secs(300),
            max_body_bytes: 4 << 20,
        }
    }
}

impl HttpConfig {
    /// A loopback-safe listener on `listen`, without tokens.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            allowed_hosts: Vec::new(),
            insecure: false,
            stateless: false,
            tokens: None,
            metrics_listen: None,
            oauth: None,
            limits: HttpLimits::default(),
            console: crate::console::ConsoleConfig::default(),
        }
    }

    /// Refuses a listener anyone could reach without a token.
    pub fn check(&self) -> Result<()> {
        if !self.listen.ip().is_loopback() && self.tokens.is_none() && self.oauth.is_none() && !self.insecure {
            return Err(Error::config(format!(
                "listen on {}: without --tokens anyone who can reach this address could call every tool",
                self.listen
            ))
            .with_context(
                "hint",
                "pass --tokens FILE (or --oauth-issuer) to require bearer tokens, keep the default loopback address, \
                 or pass --insecure on a trusted network",
            ));
        }
        for host in &self.allowed_hosts {
            parse_host(host)?;
        }
        Ok(())
    }

    /// The `Host` values accepted, or `None` when any is (`--allowed-host '*'`).
    pub fn allowed_hosts(&self) -> Option<Vec<String>> {
        if self.allowed_hosts.iter().any(|h| h.trim() == "*") {
            return None;
        }
        let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect();
        let ip = self.listen.ip();
        if !ip.is_loopback() && !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        hosts.extend(self.allowed_hosts.iter().map(|h| h.trim().to_owned()));
        hosts.dedup();
        Some(hosts)
    }

    /// The browser origins accepted: `http` and `https` on each accepted host (any port
    /// unless the host names one).
    pub fn allowed_origins(&self) -> Option<Vec<String>> {
        let hosts = self.allowed_hosts()?;
        let mut origins = Vec::new();
        for host in hosts {
            let Ok((name, port)) = parse_host(&host) else { continue };
            let port = port.map_or_else(|| "*".to_owned(), |p| p.to_string());
            for scheme in ["http", "https"] {
                origins.push(format!("{scheme}://{name}:{port}"));
            }
        }
        Some(origins)
    }
}

/// Whether a request's `Host` (or HTTP/2 `:authority`) is one of `allowed` (`None`: any).
/// Names compare without case and IPv6 brackets; an allowed name without a port accepts any.
pub fn host_allowed(host: Option<&str>, allowed: Option<&[String]>) -> bool {
    let Some(allowed) = allowed else { return true };
    let Some(authority) = host.and_then(|h| Authority::try_from(h.trim()).ok()) else { return false };
    let normal = |h: &str| h.trim_matches(['[', ']']).to_ascii_lowercase();
    let (name, port) = (normal(authority.host()), authority.port_u16());
    allowed.iter().any(|entry| {
        let (allowed_name, allowed_port) = match Authority::try_from(entry.trim()) {
            Ok(a) => (normal(a.host()), a.port_u16()),
            Err(_) => (normal(entry.trim()), None),
        };
        allowed_name == name && allowed_port.is_none_or(|p| Some(p) == port)
    })
}

/// Splits `HOST` or `HOST:PORT` into a URL-ready host (IPv6 in brackets) and a port.
fn parse_host(value: &str) -> Result<(String, Option<u16>)> {
    let value = value.trim();
    let bad = || {
        Error::config(format!("--allowed-host `{value}` is not a host name"))
            .with_context("hint", "write HOST or HOST:PORT, such as gateway.internal or 10.0.0.5:8787")
    };
    if let Ok(IpAddr::V6(ip)) = value.parse::<IpAddr>() {
        return Ok((format!("[{ip}]"), None));
    }
    if value.is_empty() || value.contains(['@', '/', '?', '#']) {
        return Err(bad());
    }
    let authority = Authority::try_from(value).map_err(|_| bad())?;
    let host = authority.host();
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), authority.port_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(listen: &str, extra: &[&str]) -> HttpConfig {
        let mut c = HttpConfig::new(listen.parse().unwrap());
        c.allowed_hosts = extra.iter().map(|s| (*s).to_owned()).collect();
        c
    }

    #[test]
    fn loopback_needs_no_flag() {
        assert!(http("127.0.0.1:8787", &[]).check().is_ok());
        assert!(http("[::1]:0", &[]).check().is_ok());
    }

    #[test]
    fn public_address_needs_tokens_or_insecure() {
        let err = http("0.0.0.0:8787", &[]).check().unwrap_err();
        assert!(err.to_string().contains("without --tokens") && err.to_string().contains("--insecure"), "{err}");
        let mut c = http("0.0.0.0:8787", &[]);
        c.insecure = true;
        assert!(c.check().is_ok());
        let mut c = http("0.0.0.0:8787", &[]);
        c.tokens = Some("tokens.yaml".into());
        assert!(c.check().is_ok());
    }

    #[test]
    fn hosts_are_matched_like_rmcp_does() {
        let c = http("127.0.0.1:8787", &["gw.internal:9000"]);
        let allowed = c.allowed_hosts();
        let ok = |h: &str| host_allowed(Some(h), allowed.as_deref());
        assert!(ok("localhost:8787") && ok("LOCALHOST") && ok("[::1]:1") && ok("127.0.0.1"));
        assert!(ok("gw.internal:9000"));
        assert!(!ok("gw.internal:9001") && !ok("evil.example") && !ok("evil.example:8787"));
        assert!(!host_allowed(None, allowed.as_deref()));
        assert!(host_allowed(Some("anything"), None));
    }

    #[test]
    fn loopback_hosts_and_origins() {
        let c = http("127.0.0.1:8787", &["gw.internal:9000"]);
        let hosts = c.allowed_hosts().unwrap();
        assert_eq!(hosts, ["localhost", "127.0.0.1", "::1", "gw.internal:9000"]);
        let origins = c.allowed_origins().unwrap();
        assert!(origins.contains(&"http://localhost:*".to_owned()));
        assert!(origins.contains(&"http://[::1]:*".to_owned()));
        assert!(origins.contains(&"https://gw.internal:9000".to_owned()));
    }

    #[test]
    fn a_specific_public_address_is_a_host() {
        let mut c = http("10.1.2.3:8787", &[]);
        c.insecure = true;
        assert!(c.allowed_hosts().unwrap().contains(&"10.1.2.3".to_owned()));
    }

    #[test]
    fn star_accepts_any_host() {
        assert!(http("127.0.0.1:0", &["*"]).allowed_hosts().is_none());
    }

    #[test]
    fn bad_hosts_are_refused() {
        for bad in ["", "http://x", "a/b", "user@host"] {
            assert!(http("127.0.0.1:0", &[bad]).check().is_err(), "{bad}");
        }
    }
}
