//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use toolkit_core::SecretString;

use crate::config::{CallCaps, DEFAULT_LISTEN, GatewayConfig, HttpConfig, HttpLimits, RateLimitConfig, Transport};
use crate::console::{Approver, ConsoleConfig};
use crate::oauth::OAuthConfig;

/// Serve the declared tools to AI agents over MCP: streamable HTTP at /mcp (default) or stdio.
/// Every call runs through toolkit's pipeline: validated, rate-limited, checked by policy,
/// capped, redacted and audited.
#[derive(Debug, Parser)]
#[command(name = "toolkit-gateway", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Manifest file or folder (repeatable); watched for changes.
    #[arg(long = "tools", env = "TOOLKIT_TOOLS", value_delimiter = ':', default_value = "./tools")]
    pub tools: Vec<PathBuf>,

    /// Read Tools, ToolRegistries and ApprovalPolicies (and the Secrets and ConfigMaps they
    /// name) from the Kubernetes API instead of --tools, and follow their changes; call counts
    /// are added to each Tool's status. KUBECONFIG, ~/.kube/config or the pod's service account.
    #[cfg(feature = "kubernetes")]
    #[arg(long, env = "TOOLKIT_KUBERNETES", conflicts_with = "tools")]
    pub kubernetes: bool,

    /// With --kubernetes: the namespace to read (default: every namespace).
    #[cfg(feature = "kubernetes")]
    #[arg(long, short = 'n', value_name = "NS", requires = "kubernetes")]
    pub namespace: Option<String>,

    /// With --kubernetes: how often call counts are added to Tool status.
    #[cfg(feature = "kubernetes")]
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration, requires = "kubernetes")]
    pub status_interval: Duration,

    /// State (counters, audit, approvals): a directory for SQLite, or a postgres:// URL shared
    /// by several gateways and CLIs (give a URL with a password through TOOLKIT_STATE, not on
    /// the command line).
    #[arg(long, env = "TOOLKIT_STATE", hide_env_values = true, default_value = "./.toolkit")]
    pub state: PathBuf,

    /// Address of the HTTP listener; a non-loopback address needs --tokens (or --insecure).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Serve one client on stdin/stdout instead of HTTP (logs go to stderr; no tokens).
    #[arg(long, conflicts_with_all = ["listen", "insecure", "allowed_hosts", "stateless", "tokens", "metrics_listen", "oauth_issuers", "oauth_resource", "oauth_audience", "oauth_introspection_url",
        "max_connections", "header_read_timeout", "idle_timeout", "max_sessions", "max_sessions_per_identity",
        "session_idle_timeout", "max_body_bytes", "no_ui", "approvers", "behind_tls", "console_client_id"])]
    pub stdio: bool,

    /// API tokens file (YAML: `tokens: [{name, tokenSha256 | tokenRef, namespaces, tools}]`);
    /// every request to /mcp and /metrics then needs `Authorization: Bearer TOKEN`, even on
    /// loopback. Watched for changes.
    #[arg(long, value_name = "FILE", env = "TOOLKIT_GATEWAY_TOKENS")]
    pub tokens: Option<PathBuf>,

    /// Accept access tokens (JWTs) from this OAuth 2.1 / OpenID issuer (repeatable); /mcp then
    /// needs a bearer token from the tokens file or an issuer, and publishes its Protected
    /// Resource Metadata. Needs --oauth-resource or --oauth-audience.
    #[arg(long = "oauth-issuer", value_name = "URL", env = "TOOLKIT_OAUTH_ISSUERS", value_delimiter = ',')]
    pub oauth_issuers: Vec<String>,

    /// The gateway's public URL of /mcp: the resource named in its metadata, and the audience
    /// tokens must carry unless --oauth-audience says otherwise.
    #[arg(long, value_name = "URL", env = "TOOLKIT_OAUTH_RESOURCE")]
    pub oauth_resource: Option<String>,

    /// The audience (`aud`) tokens must name; the resource by default.
    #[arg(long, value_name = "AUD", env = "TOOLKIT_OAUTH_AUDIENCE")]
    pub oauth_audience: Option<String>,

    /// A scope every access token must hold (repeatable); without it, 403 insufficient_scope.
    #[arg(long = "oauth-scope", value_name = "SCOPE", requires = "oauth_issuers")]
    pub oauth_scopes: Vec<String>,

    /// The claim --oauth-grant values are looked for in (a space-separated string or an array).
    #[arg(long, value_name = "CLAIM", default_value = "scope", requires = "oauth_issuers")]
    pub oauth_claim: String,

    /// VALUE=NAMESPACE/TOOL[,…]: a token whose claim holds VALUE may see and call those tools
    /// (globs; repeatable, grants add up). Without any, a valid token may call every tool.
    #[arg(long = "oauth-grant", value_name = "VALUE=TOOLS", value_parser = OAuthConfig::parse_grant, requires = "oauth_issuers")]
    pub oauth_grants: Vec<(String, Vec<String>)>,

    /// The least time between two fetches of an issuer's keys (a token naming a key not held
    /// fetches them again, once this has passed since the last fetch).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, requires = "oauth_issuers")]
    pub oauth_jwks_min_refresh: Duration,

    /// Accept opaque access tokens too, asking this RFC 7662 introspection endpoint about each
    /// (answers kept for a minute at most).
    #[arg(long, value_name = "URL", env = "TOOLKIT_OAUTH_INTROSPECTION_URL", requires_all = ["oauth_issuers", "oauth_client_id"])]
    pub oauth_introspection_url: Option<String>,

    /// The gateway's client id for introspection; its secret comes from TOOLKIT_OAUTH_CLIENT_SECRET.
    #[arg(long, value_name = "ID", env = "TOOLKIT_OAUTH_CLIENT_ID")]
    pub oauth_client_id: Option<String>,

    /// Also serve /metrics (and the probes) on this address, without tokens.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Keep rate-limit budgets in the Redis at this redis:// URL, shared by every gateway using
    /// it; prefer the environment variable, as the URL may hold a password.
    #[arg(long, value_name = "URL", env = "TOOLKIT_RATE_LIMIT_REDIS", hide_env_values = true, value_parser = secret)]
    pub rate_limit_redis: Option<SecretString>,

    /// When the rate-limit Redis is unavailable, admit calls (with a warning) instead of
    /// refusing them.
    #[arg(long, requires = "rate_limit_redis")]
    pub rate_limit_fail_open: bool,

    /// Post each call that waits for approval to this webhook URL (repeatable; Slack and
    /// Microsoft Teams incoming webhooks accept it); prefer the environment variable, as such a
    /// URL is its own credential.
    #[arg(long = "approval-webhook", value_name = "URL", env = "TOOLKIT_APPROVAL_WEBHOOKS", value_delimiter = ',', hide_env_values = true, value_parser = secret)]
    pub approval_webhooks: Vec<SecretString>,

    /// Also post approval decisions (approved, rejected, lapsed) to the webhooks.
    #[arg(long, requires = "approval_webhooks")]
    pub approval_webhook_decisions: bool,

    /// The gateway's URL as people reach it (such as `https://toolkit.example.com`), for links to
    /// the console in notifications.
    #[arg(long, value_name = "URL", env = "TOOLKIT_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Also accept this Host (HOST or HOST:PORT; repeatable); `*` accepts any Host and Origin.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,

    /// Allow listening on a non-loopback address without --tokens (anyone who reaches it can
    /// call every tool).
    #[arg(long)]
    pub insecure: bool,

    /// Serve each HTTP request on its own, without sessions (no change notifications to
    /// clients that initialized with a handshake).
    #[arg(long)]
    pub stateless: bool,

    /// Open connections at most; past it a new connection gets 503.
    #[arg(long, value_name = "N", default_value_t = HttpLimits::default().max_connections, value_parser = at_least_one)]
    pub max_connections: usize,

    /// Time a client has to send a request's headers (also ends idle keep-alive connections).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = positive_duration)]
    pub header_read_timeout: Duration,

    /// Close a connection on which nothing is read or written for this long.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = positive_duration)]
    pub idle_timeout: Duration,

    /// MCP sessions open at once, for all callers.
    #[arg(long, value_name = "N", default_value_t = HttpLimits::default().max_sessions, value_parser = at_least_one)]
    pub max_sessions: usize,

    /// MCP sessions one identity (token) may hold; at a cap the least recently used idle
    /// session is closed to make room.
    #[arg(long, value_name = "N", default_value_t = HttpLimits::default().max_sessions_per_identity, value_parser = at_least_one)]
    pub max_sessions_per_identity: usize,

    /// Close a session with no request for this long.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = positive_duration)]
    pub session_idle_timeout: Duration,

    /// Tool calls one identity may have running at once.
    #[arg(long, value_name = "N", default_value_t = CallCaps::default().per_identity, value_parser = at_least_one)]
    pub max_calls_per_identity: usize,

    /// Calls of one tool running at once, for all callers.
    #[arg(long, value_name = "N", default_value_t = CallCaps::default().per_tool, value_parser = at_least_one)]
    pub max_calls_per_tool: usize,

    /// Bytes of one request body; larger bodies get 413.
    #[arg(long, value_name = "BYTES", default_value_t = HttpLimits::default().max_body_bytes, value_parser = at_least_one)]
    pub max_body_bytes: usize,

    /// Do not serve the web console at /ui.
    #[arg(long)]
    pub no_ui: bool,

    /// May decide approvals in the web console (repeatable): a token name of --tokens (`ops`),
    /// a caller id (`local:alice`), or `oidc:SUBJECT`; `=NS1,NS2` limits it to tools of those
    /// namespaces. Everyone else may only read the console.
    #[arg(long = "approver", value_name = "NAME[=NS,…]", value_parser = Approver::parse)]
    pub approvers: Vec<Approver>,

    /// Browsers reach the gateway through TLS (a proxy in front of it): the console's cookies
    /// are marked Secure.
    #[arg(long)]
    pub behind_tls: bool,

    /// The console's client id at the OAuth issuers: people sign in there (authorization code
    /// with PKCE, redirect URI `<public URL>/ui/login/callback`); its secret, if the issuer
    /// wants one, comes from TOOLKIT_CONSOLE_CLIENT_SECRET.
    #[arg(long, value_name = "ID", env = "TOOLKIT_CONSOLE_CLIENT_ID", requires = "oauth_issuers")]
    pub console_client_id: Option<String>,

    /// Do not watch the manifests for changes.
    #[arg(long)]
    pub no_watch: bool,

    /// How long shutdown waits for calls in flight.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More log output (-v debug, -vv trace); TOOLKIT_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

const AFTER_HELP: &str = "Clients connect to http://127.0.0.1:8787/mcp, or launch `toolkit-gateway --stdio`.\n\
Exit codes: 0 ok, 1 failed, 2 usage, 3 configuration (manifests or tokens unreadable, address refused or in use).";

/// Flag values that may hold a password.
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::new(value))
}

/// A count of at least one.
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A duration longer than zero, such as `10s` or `5m`.
fn positive_duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

impl Cli {
    /// The OAuth settings of the flags, if an issuer is given.
    fn oauth(&self) -> Option<OAuthConfig> {
        if self.oauth_issuers.is_empty() {
            return None;
        }
        let resource = self.oauth_resource.clone().or_else(|| self.oauth_audience.clone()).unwrap_or_default();
        let mut config = OAuthConfig::new(self.oauth_issuers.clone(), resource);
        config.audience = self.oauth_audience.clone();
        config.required_scopes = self.oauth_scopes.clone();
        config.claim = self.oauth_claim.clone();
        config.grants = self.oauth_grants.clone();
        config.jwks_min_refresh = self.oauth_jwks_min_refresh;
        config.introspection = self.oauth_introspection_url.clone().map(|url| crate::oauth::Introspection {
            url,
            client_id: self.oauth_client_id.clone().unwrap_or_default(),
            client_secret: std::env::var("TOOLKIT_OAUTH_CLIENT_SECRET")
                .ok()
                .filter(|s| !s.is_empty())
                .map(SecretString::new),
        });
        Some(config)
    }

    /// The gateway configuration these flags describe.
    pub fn config(&self) -> GatewayConfig {
        let transport = if self.stdio {
            Transport::Stdio
        } else {
            Transport::Http(HttpConfig {
                listen: self.listen,
                allowed_hosts: self.allowed_hosts.clone(),
                insecure: self.insecure,
                stateless: self.stateless,
                tokens: self.tokens.clone(),
                metrics_listen: self.metrics_listen,
                oauth: self.oauth(),
                limits: HttpLimits {
                    max_connections: self.max_connections,
                    header_read_timeout: self.header_read_timeout,
                    idle_timeout: self.idle_timeout,
                    max_sessions: self.max_sessions,
                    max_sessions_per_identity: self.max_sessions_per_identity,
                    session_idle_timeout: self.session_idle_timeout,
                    max_body_bytes: self.max_body_bytes,
                },
                console: ConsoleConfig {
                    enabled: !self.no_ui,
                    approvers: self.approvers.clone(),
                    behind_tls: self.behind_tls,
                    client_id: self.console_client_id.clone(),
                    client_secret: std::env::var("TOOLKIT_CONSOLE_CLIENT_SECRET")
                        .ok()
                        .filter(|s| !s.is_empty())
                        .map(SecretString::new),
                    public_url: self.public_url.clone(),
                },
            })
        };
        let mut config = GatewayConfig::new(self.tools.clone(), self.state.clone(), transport);
        config.watch = !self.no_watch;
        config.drain_timeout = self.drain_timeout;
        config.calls = CallCaps { per_identity: self.max_calls_per_identity, per_tool: self.max_calls_per_tool };
        config.rate_limits =
            RateLimitConfig { redis: self.rate_limit_redis.clone(), fail_open: self.rate_limit_fail_open };
        config.webhooks = crate::webhook::WebhookConfig {
            urls: self.approval_webhooks.clone(),
            decisions: self.approval_webhook_decisions,
            public_url: self.public_url.clone(),
        };
        #[cfg(feature = "kubernetes")]
        if self.kubernetes {
            config.cluster = Some(crate::config::ClusterConfig {
                namespace: self.namespace.clone(),
                status_interval: self.status_interval,
            });
        }
        config
    }
}
