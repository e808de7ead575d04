//! One lazily made, reconnecting MCP client connection to one server, shared by every use of
//! it (a tool's calls, probes and sessions; all tools imported from a registry upstream).
//!
//! The connection is made on first use: a stdio server is started in a process group of its
//! own with a clean environment (a few variables such as `PATH` and `HOME`, then the declared
//! `env`, secrets resolved at that moment), and killed with its group when the connection is
//! dropped; an HTTP server is reached with rmcp's streamable HTTP client over reqwest. A
//! connection found closed is made again on next use, and a request that fails because the
//! transport broke drops it. The server's `notifications/tools/list_changed` and every new
//! connection bump a generation that importers watch.

use std::collections::VecDeque;
use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use process_wrap::tokio::{CommandWrap, KillOnDrop, ProcessGroup};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    JsonObject, Tool,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt as _};
use tokio::io::AsyncReadExt as _;
use tokio::sync::{Mutex, watch};
use toolkit_core::connector::EnvEntry;
use toolkit_core::secret::{SecretString, redact_text};
use toolkit_core::{Error, ErrorKind, Result};
use tracing::Instrument as _;

use crate::auth::Resolver;
use crate::config::{Endpoint, ServerConfig};
use crate::errors::{self, UpstreamText};

/// Time allowed to start (or reach) a server and finish `initialize`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time a closing stdio server gets before its process group is killed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Variables a stdio server inherits from toolkit; everything else it gets from `env`.
const INHERITED_ENV: &[&str] =
    &["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT"];

/// Lines of a stdio server's stderr kept for error messages, and characters per line.
const STDERR_LINES: usize = 5;
const STDERR_LINE_MAX: usize = 300;

/// The rmcp client handler: it only listens for tool list changes.
#[derive(Clone)]
pub(crate) struct Events {
    changes: Arc<watch::Sender<u64>>,
}

impl ClientHandler for Events {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), Implementation::new("toolkit", env!("CARGO_PKG_VERSION")))
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changes.send_modify(|generation| *generation += 1);
    }
}

/// One live connection.
pub(crate) struct Live {
    service: RunningService<RoleClient, Events>,
    /// Secret values handed to the server, to redact its stderr.
    secrets: Vec<SecretString>,
    stderr: Arc<StdMutex<VecDeque<String>>>,
}

impl Live {
    fn is_closed(&self) -> bool {
        self.service.is_closed() || self.service.peer().is_transport_closed()
    }

    /// `name version` of the server, when it said.
    pub(crate) fn server_version(&self) -> Option<String> {
        let info = self.service.peer().peer_info()?;
        let server = info.server_info.as_ref()?;
        Some(format!("{} {}", server.name, server.version).trim().to_owned())
    }

    /// The protocol version agreed on.
    pub(crate) fn protocol_version(&self) -> Option<String> {
        self.service.peer().peer_info().map(|i| i.protocol_version.to_string())
    }

    /// The last lines the server wrote to stderr, redacted, on one line.
    fn stderr_tail(&self) -> Option<String> {
        let lines = self.stderr.lock().ok()?;
        (!lines.is_empty()).then(|| redact_text(&lines.iter().cloned().collect::<Vec<_>>().join(" | "), &self.secrets))
    }
}

/// A shared, lazily connected client of one server.
pub(crate) struct McpClient {
    server: ServerConfig,
    resolver: Resolver,
    /// The token of one caller, for a server reached with that caller's exchanged token.
    bearer: Option<SecretString>,
    connect_timeout: Duration,
    slot: Mutex<Option<Arc<Live>>>,
    changes: Arc<watch::Sender<u64>>,
    tools: StdMutex<Option<(u64, Arc<Vec<Tool>>)>>,
}

impl fmt::Debug for McpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpClient").field("server", &self.server.label()).finish_non_exhaustive()
    }
}

impl McpClient {
    pub(crate) fn new(server: ServerConfig, resolver: Resolver) -> Self {
        Self {
            server,
            resolver,
            bearer: None,
            connect_timeout: CONNECT_TIMEOUT,
            slot: Mutex::new(None),
            changes: Arc::new(watch::Sender::new(0)),
            tools: StdMutex::new(None),
        }
    }

    /// The same client, allowed at most `timeout` (and never more than [`CONNECT_TIMEOUT`]) to
    /// connect: a tool's own timeout bounds its connection too.
    pub(crate) fn with_connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout.map_or(CONNECT_TIMEOUT, |t| t.min(CONNECT_TIMEOUT));
        self
    }

    /// A client of the same server with a connection of its own, sending `token` as a bearer
    /// token instead of the configured credentials.
    pub(crate) fn with_bearer(&self, token: SecretString) -> Self {
        let mut client = Self::new(self.server.clone(), self.resolver.clone());
        client.connect_timeout = self.connect_timeout;
        client.bearer = Some(token);
        client
    }

    pub(crate) fn server(&self) -> &ServerConfig {
        &self.server
    }

    pub(crate) fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Bumped on every new connection and every `notifications/tools/list_changed`.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The live connection, made now if there is none or it closed.
    pub(crate) async fn connect(&self) -> Result<Arc<Live>> {
        // Held while connecting, so concurrent first uses share one connection attempt.
        let mut slot = self.slot.lock().await;
        if let Some(live) = slot.as_ref().filter(|l| !l.is_closed()) {
            return Ok(live.clone());
        }
        if let Some(old) = slot.take() {
            tracing::debug!(server = %self.server.label(), "MCP connection closed; reconnecting");
            close(old).await;
        }
        let live = match tokio::time::timeout(self.connect_timeout, self.open()).await {
            Ok(result) => Arc::new(result?),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connect to the MCP server {}", self.server.label()),
                )
                .with_context("timeout", format!("{:?}", self.connect_timeout)));
            }
        };
        *slot = Some(live.clone());
        self.changes.send_modify(|generation| *generation += 1);
        Ok(live)
    }

    /// Whether there is no open connection (none made yet, or it closed).
    pub(crate) async fn is_disconnected(&self) -> bool {
        self.slot.lock().await.as_ref().is_none_or(|l| l.is_closed())
    }

    /// Drops `live` if it is still the current connection.
    async fn forget(&self, live: &Arc<Live>) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|l| Arc::ptr_eq(l, live))
            && let Some(old) = slot.take()
        {
            close(old).await;
        }
    }

    /// Passes `result` through; a failure that broke the transport drops the connection, and the
    /// server's last stderr lines are added to it.
    async fn checked<T>(&self, live: &Arc<Live>, result: Result<T>) -> Result<T> {
        match result {
            Err(e) if errors::breaks_connection(&e) => {
                self.forget(live).await;
                let e = e.with_context("server", self.server.label());
                Err(match live.stderr_tail() {
                    Some(tail) => e.with_context("stderr", tail),
                    None => e,
                })
            }
            other => other,
        }
    }

    /// Every tool of the server; cached until the list changes or the connection is made again.
    pub(crate) async fn list_tools(&self) -> Result<Arc<Vec<Tool>>> {
        let live = self.connect().await?;
        let generation = *self.changes.borrow();
        if let Ok(cached) = self.tools.lock()
            && let Some((g, tools)) = cached.as_ref()
            && *g == generation
        {
            return Ok(tools.clone());
        }
        let listed = live.service.peer().list_all_tools().await.map_err(|e| {
            errors::request(e, "list the tools of the MCP server").with_context("server", self.server.label())
        });
        let tools = Arc::new(self.checked(&live, listed).await?);
        if let Ok(mut cached) = self.tools.lock() {
            *cached = Some((generation, tools.clone()));
        }
        Ok(tools)
    }

    /// Calls `name` with `arguments`.
    pub(crate) async fn call(&self, name: &str, arguments: JsonObject) -> Result<CallToolResult> {
        let live = self.connect().await?;
        let action = format!("call `{name}` on the MCP server");
        let mut params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        // The CLIENT span of the call; its trace context rides in `_meta` (SEP-414).
        let span = tracing::debug_span!(
            "mcp.client",
            otel.name = %format!("tools/call {name}"),
            otel.kind = "client",
            "mcp.method.name" = "tools/call",
            "gen_ai.operation.name" = "execute_tool",
            "gen_ai.tool.name" = name,
        );
        let mut meta = JsonObject::new();
        toolkit_core::trace::inject(&span, &mut |key, value| {
            meta.insert(key.to_owned(), value.into());
        });
        if !meta.is_empty() {
            params.meta = Some(rmcp::model::RequestMetaObject(rmcp::model::MetaObject(meta)));
        }
        let answer = match live.service.peer().call_tool_once(params).instrument(span).await {
            Ok(CallToolResponse::Complete(result)) => Ok(result),
            Ok(CallToolResponse::InputRequired(_)) => Err(Error::unsupported(action)
                .with_source(UpstreamText("the server asked for more input, which toolkit cannot give".into()))),
            Ok(_) => Err(Error::unsupported(action)
                .with_source(UpstreamText("the server answered with a task, which toolkit does not poll".into()))),
            Err(e) => Err(errors::request(e, &action)),
        };
        self.checked(&live, answer).await
    }

    /// Closes the connection (a stdio server is stopped).
    pub(crate) async fn close(&self) {
        if let Some(live) = self.slot.lock().await.take() {
            close(live).await;
        }
    }

    async fn open(&self) -> Result<Live> {
        let label = self.server.label();
        let mut secrets = Vec::new();
        let stderr = Arc::new(StdMutex::new(VecDeque::new()));
        let events = Events { changes: self.changes.clone() };
        let started = match &self.server.endpoint {
            Endpoint::Stdio { command, env } => {
                let env = self.resolver.env(env, &mut secrets).await?;
                let transport = spawn(command, &env, &label, &secrets, &stderr)?;
                events.serve(transport).await
            }
            Endpoint::Http { url } => {
                let client = match &self.bearer {
                    Some(token) => bearer_client(token, &mut secrets)?,
                    None => http_client(&self.resolver, self.server.auth.as_ref(), &mut secrets).await?,
                };
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                events.serve(StreamableHttpClientTransport::with_client(client, config)).await
            }
        };
        match started {
            Ok(service) => {
                let live = Live { service, secrets, stderr };
                tracing::debug!(server = %label, version = ?live.server_version(), "connected to MCP server");
                Ok(live)
            }
            Err(e) => {
                let mut err = errors::initialize(&e, &label);
                let tail = stderr.lock().ok().map(|l| l.iter().cloned().collect::<Vec<_>>().join(" | "));
                if let Some(tail) = tail.filter(|t| !t.is_empty()) {
                    err = err.with_context("stderr", redact_text(&tail, &secrets));
                }
                Err(err)
            }
        }
    }
}

/// Builds the reqwest client of one HTTP connection, with the credentials as default headers.
pub(crate) async fn http_client(
    resolver: &Resolver,
    auth: Option<&crate::config::AuthConfig>,
    secrets: &mut Vec<SecretString>,
) -> Result<reqwest::Client> {
    let headers = match auth {
        Some(auth) => resolver.headers(auth, secrets).await?,
        None => reqwest::header::HeaderMap::new(),
    };
    client_with(headers)
}

/// The reqwest client of a connection that sends `token` as a bearer token.
fn bearer_client(token: &SecretString, secrets: &mut Vec<SecretString>) -> Result<reqwest::Client> {
    secrets.push(token.clone());
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::new(ErrorKind::Upstream, "use the exchanged token: it holds characters headers cannot carry")
    })?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    client_with(headers)
}

/// A reqwest client for MCP servers and token endpoints: no redirects, a connect timeout, and
/// `headers` on every request.
pub(crate) fn client_with(headers: reqwest::header::HeaderMap) -> Result<reqwest::Client> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        // rmcp's advice: idle pooled connections stall on Linux delayed ACKs.
        .pool_max_idle_per_host(0)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .map_err(|e| Error::config("set up the http client").with_source(e))
}

/// Installs ring as the process's rustls provider unless one is installed already.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: some provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Starts a stdio server in a process group of its own, killed with it when dropped.
fn spawn(
    command: &[String],
    env: &[EnvEntry],
    label: &str,
    secrets: &[SecretString],
    tail: &Arc<StdMutex<VecDeque<String>>>,
) -> Result<TokioChildProcess> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::config("start the stdio MCP server: the command is empty"));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env_clear();
    for name in INHERITED_ENV {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    for entry in env {
        cmd.env(&entry.name, entry.value.expose());
    }
    let mut wrapped = CommandWrap::from(cmd);
    wrapped.wrap(KillOnDrop).wrap(ProcessGroup::leader());
    let (transport, stderr) = TokioChildProcess::builder(wrapped).stderr(Stdio::piped()).spawn().map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => ErrorKind::Config,
            _ => ErrorKind::Unreachable,
        };
        Error::new(kind, format!("start the stdio MCP server `{program}`")).with_source(e)
    })?;
    if let Some(stderr) = stderr {
        tokio::spawn(read_stderr(stderr, label.to_owned(), secrets.to_vec(), tail.clone()));
    }
    Ok(transport)
}

/// Logs a stdio server's stderr at debug level, redacted, and keeps its last lines.
async fn read_stderr(
    mut stderr: tokio::process::ChildStderr,
    label: String,
    secrets: Vec<SecretString>,
    tail: Arc<StdMutex<VecDeque<String>>>,
) {
    let mut buf = [0u8; 4096];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                keep_line(&mut line, &label, &secrets, &tail);
            } else if line.len() < STDERR_LINE_MAX * 4 {
                line.push(b);
            }
        }
    }
    keep_line(&mut line, &label, &secrets, &tail);
}

fn keep_line(line: &mut Vec<u8>, label: &str, secrets: &[SecretString], tail: &StdMutex<VecDeque<String>>) {
    let text = String::from_utf8_lossy(line).trim().chars().take(STDERR_LINE_MAX).collect::<String>();
    line.clear();
    if text.is_empty() {
        return;
    }
    let text = redact_text(&text, secrets);
    tracing::debug!(server = %label, "MCP server stderr: {text}");
    if let Ok(mut lines) = tail.lock() {
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(text);
    }
}

/// Closes a connection: the transport is closed (a stdio server gets its stdin closed, then
/// SIGTERM, then SIGKILL to its group); after [`CLOSE_TIMEOUT`] the rest happens in the
/// background.
async fn close(live: Arc<Live>) {
    match Arc::try_unwrap(live) {
        Ok(mut live) => {
            let _ = live.service.close_with_timeout(CLOSE_TIMEOUT).await;
        }
        // In use by a call in flight: cancel it; the last holder's drop finishes the job.
        Err(shared) => shared.service.cancellation_token().cancel(),
    }
}
