//! The `agent` type: another agent as a tool taking one `input` string.
//!
//! Over MCP (`transport: streamableHttp`, or a URL ending in `/mcp`) the agent is the tool
//! named `spec.agent.name` of the server at `url`, called with `{"input": ...}` on a shared
//! connection. Over plain HTTP the tool POSTs `{"input": ...}` as JSON to `url` and returns
//! the body: parsed when it is JSON, as text otherwise.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use toolkit_core::connector::{
    BuildContext, CallLimits, Capabilities, Connector, EnvEntry, Invocation, InvokeOutput, Invoker, Probe, ProbeReport,
    Session, ToolInstance,
};
use toolkit_core::model::Authentication;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, ErrorKind, Reference, Result, SpecPart, ToolSpec, TypeInfo};

use crate::auth::Resolver;
use crate::client::{McpClient, http_client};
use crate::config::{AgentConfig, AgentSpec, AgentVia, Endpoint, ServerConfig};
use crate::errors::{UpstreamText, clip};
use crate::invoke::{capped, output};

/// The `spec.type` of agents.
pub const AGENT_TYPE: &str = "agent";

/// The `agent` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentConnector;

impl Connector for AgentConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(AGENT_TYPE, "Another agent, asked over MCP or HTTP")
            .with(SpecPart::block::<AgentSpec>("agent", true))
            .with(SpecPart::block::<Authentication>("authentication", false))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, session: true, invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        AgentConfig::parse(spec).1
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        let auth = spec.block_as::<Authentication>("authentication").ok().flatten();
        auth.map(|a| a.references("spec.authentication")).unwrap_or_default()
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {"input": {"type": "string", "description": "What to ask the agent"}},
            "required": ["input"]
        }))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let cfg = AgentConfig::from_spec(ctx.spec())
            .map_err(|errs| config_error(format_args!("build agent tool {}", ctx.qualified_name()), &errs))?;
        let resolver = Resolver {
            namespace: ctx.namespace.clone(),
            secrets: ctx.secrets.clone(),
            config_maps: ctx.config_maps.clone(),
        };
        let mcp = (cfg.via == AgentVia::Mcp).then(|| {
            let server = ServerConfig { endpoint: Endpoint::Http { url: cfg.url.clone() }, auth: cfg.auth.clone() };
            let timeout = ctx.spec().timeout.map(|d| d.get());
            Arc::new(McpClient::new(server, resolver.clone()).with_connect_timeout(timeout))
        });
        Ok(Arc::new(AgentTool { cfg: Arc::new(cfg), mcp, resolver, http: Arc::new(OnceCell::new()) }))
    }
}

/// One agent: its MCP client, or its HTTP client made on first use.
#[derive(Clone)]
struct AgentTool {
    cfg: Arc<AgentConfig>,
    mcp: Option<Arc<McpClient>>,
    resolver: Resolver,
    http: Arc<OnceCell<reqwest::Client>>,
}

impl fmt::Debug for AgentTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentTool").field("name", &self.cfg.name).field("url", &self.cfg.url.as_str()).finish()
    }
}

impl AgentTool {
    async fn ask(&self, input: &str, limits: &CallLimits) -> Result<InvokeOutput> {
        if let Some(client) = &self.mcp {
            let mut args = Map::new();
            args.insert("input".into(), Value::String(input.to_owned()));
            let result = client.call(&self.cfg.name, args).await?;
            return output(result, &self.cfg.name, limits);
        }
        let client = self
            .http
            .get_or_try_init(|| async { http_client(&self.resolver, self.cfg.auth.as_ref(), &mut Vec::new()).await })
            .await?;
        let action = format!("ask agent `{}`", self.cfg.name);
        let resp = client
            .post(self.cfg.url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json, text/plain;q=0.9, */*;q=0.5"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(json!({"input": input}).to_string())
            .send()
            .await
            .map_err(|e| http_error(&e, &action))?;
        let status = resp.status();
        let is_json = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim().ends_with("json")));
        let (body, cut) = read_capped(resp, limits.max_output_bytes).await.map_err(|e| http_error(&e, &action))?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            let kind = match status.as_u16() {
                401 | 403 => ErrorKind::Auth,
                404 => ErrorKind::Config,
                400 | 422 => ErrorKind::InvalidInput,
                _ => ErrorKind::Upstream,
            };
            return Err(Error::new(kind, action)
                .with_context("status", status.as_u16())
                .with_source(UpstreamText(clip(text.trim())))
                .set_retryable(status.is_server_error() || status.as_u16() == 429));
        }
        let content = match serde_json::from_str::<Value>(&text) {
            Ok(v) if is_json && !cut => v,
            _ => Value::String(text),
        };
        let mut out = capped(content, limits.max_output_bytes);
        out.truncated |= cut;
        out.metadata.insert("status".into(), Value::from(status.as_u16()));
        Ok(out)
    }
}

/// Up to `max` bytes of the body, and whether more was left unread.
async fn read_capped(mut resp: reqwest::Response, max: usize) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = max.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

fn http_error(e: &reqwest::Error, action: &str) -> Error {
    let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable };
    // The deepest cause ("Connection refused"), without reqwest's wrapping.
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Error::new(kind, action.to_owned()).with_source(UpstreamText(cause.to_string()))
}

fn input_of(arguments: &Map<String, Value>) -> Result<&str> {
    arguments
        .get("input")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_input("ask the agent: `input` must be a string"))
}

#[async_trait]
impl ToolInstance for AgentTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.clone()))
    }

    async fn shutdown(&self) {
        if let Some(client) = &self.mcp {
            client.close().await;
        }
    }
}

#[async_trait]
impl Invoker for AgentTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        self.ask(input_of(&call.arguments)?, &call.limits).await
    }
}

#[async_trait]
impl Probe for AgentTool {
    /// Over MCP: the server answers `initialize` and lists the agent's tool. Over HTTP: the URL
    /// answers a `HEAD` with any status but 401, 403 and 5xx (agents rarely serve `HEAD`).
    async fn probe(&self) -> Result<ProbeReport> {
        let mut report = ProbeReport::default();
        if let Some(client) = &self.mcp {
            let live = client.connect().await?;
            let tools = client.list_tools().await?;
            if !tools.iter().any(|t| t.name == self.cfg.name) {
                return Err(Error::not_found(format!("find agent `{}` on the MCP server", self.cfg.name))
                    .with_context("server", self.cfg.url.as_str()));
            }
            report.server_version = live.server_version();
            report.details.insert("transport".into(), "streamableHttp".into());
            return Ok(report);
        }
        let client = self
            .http
            .get_or_try_init(|| async { http_client(&self.resolver, self.cfg.auth.as_ref(), &mut Vec::new()).await })
            .await?;
        let action = format!("reach agent `{}`", self.cfg.name);
        let resp = client.head(self.cfg.url.clone()).send().await.map_err(|e| http_error(&e, &action))?;
        let status = resp.status();
        if matches!(status.as_u16(), 401 | 403) || status.is_server_error() {
            let kind = if status.is_server_error() { ErrorKind::Upstream } else { ErrorKind::Auth };
            return Err(Error::new(kind, action).with_context("status", status.as_u16()));
        }
        if let Some(server) = resp.headers().get(reqwest::header::SERVER).and_then(|v| v.to_str().ok()) {
            report.server_version = Some(server.to_owned());
        }
        report.details.insert("transport".into(), "http".into());
        report.details.insert("status".into(), status.as_u16().to_string());
        Ok(report)
    }
}

#[async_trait]
impl Session for AgentTool {
    fn env(&self) -> Vec<EnvEntry> {
        vec![EnvEntry::plain("AGENT_URL", self.cfg.url.as_str()), EnvEntry::plain("AGENT_NAME", self.cfg.name.clone())]
    }

    /// The words of the command are the input.
    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let input = command.join(" ");
        if input.trim().is_empty() {
            return Err(Error::invalid_input("ask the agent: give the input as the command"));
        }
        self.ask(&input, limits).await
    }
}
