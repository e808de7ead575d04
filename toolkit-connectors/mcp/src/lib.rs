#![doc = include_str!("../README.md")]

mod agent;
mod auth;
mod client;
mod config;
mod errors;
mod exchange;
pub mod import;
mod invoke;
mod probe;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::Authentication;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use agent::{AGENT_TYPE, AgentConnector};
pub use client::CONNECT_TIMEOUT;
pub use config::{AgentConfig, AgentSpec, AgentVia, AuthConfig, Endpoint, McpConfig, McpSpec, ServerConfig};

use auth::Resolver;
use client::McpClient;

/// The `spec.type` of tools of upstream MCP servers.
pub const TYPE: &str = "mcp";

/// Adds the mcp connector to `registry`, and with it the importer of `ToolRegistry` upstreams.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(McpConnector);
    registry.register_importer(import::McpImporter);
}

/// Adds the agent connector to `registry`.
pub fn register_agent(registry: &mut ConnectorRegistry) {
    registry.register(AgentConnector);
}

/// The `mcp` type: one tool of an upstream MCP server.
#[derive(Debug, Clone, Copy, Default)]
pub struct McpConnector;

impl Connector for McpConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "One tool of an upstream MCP server")
            .with(SpecPart::block::<McpSpec>("mcp", true))
            .with(SpecPart::block::<Authentication>("authentication", false))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, session: true, invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        McpConfig::parse(spec).1
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        let Some(mcp) = spec.block_as::<McpSpec>("mcp").ok().flatten() else { return Vec::new() };
        let auth = spec.block_as::<Authentication>("authentication").ok().flatten();
        config::server_references("spec.mcp", &mcp.server(), auth.as_ref())
    }

    fn default_input_schema(&self) -> Option<Value> {
        // Served until the server has described the tool (and when it cannot be asked).
        Some(json!({"type": "object", "additionalProperties": true}))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let cfg = McpConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build mcp tool {}", ctx.qualified_name()), &errs))?;
        let resolver = Resolver {
            namespace: ctx.namespace.clone(),
            secrets: ctx.secrets.clone(),
            config_maps: ctx.config_maps.clone(),
        };
        let timeout = spec.timeout.map(|d| d.get());
        let exchange = match &cfg.server.auth {
            Some(AuthConfig::TokenExchange(x)) => Some(exchange::Exchanger::new(x.clone())?),
            _ => None,
        };
        let client = Arc::new(McpClient::new(cfg.server, resolver).with_connect_timeout(timeout));
        // Without a declared schema the server's is served; a server reached with each caller's
        // token cannot be asked without one.
        let describe = spec.input_schema.is_none() && exchange.is_none();
        Ok(Arc::new(McpTool {
            client,
            exchange,
            namespace: ctx.namespace.clone(),
            describe,
            tool_name: cfg.tool_name,
            read_only: spec.read_only,
        }))
    }
}

/// One tool of an upstream server: the shared client and the tool's name there.
pub(crate) struct McpTool {
    /// The connection of the tool, or, when it exchanges the caller's token, the one made
    /// without credentials (probes) that callers' connections are made from.
    pub(crate) client: Arc<McpClient>,
    /// Set when the server is reached with each caller's exchanged token.
    pub(crate) exchange: Option<exchange::Exchanger>,
    /// The tool's namespace.
    pub(crate) namespace: String,
    /// Whether the server's description of the tool is followed and served.
    pub(crate) describe: bool,
    pub(crate) tool_name: String,
    pub(crate) read_only: bool,
}

impl fmt::Debug for McpTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpTool").field("client", &self.client).field("tool", &self.tool_name).finish()
    }
}

#[async_trait]
impl ToolInstance for McpTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn follow_description(
        &self,
        changed: Arc<dyn Fn() + Send + Sync>,
    ) -> Option<Box<dyn toolkit_core::upstream::FollowedUpstream>> {
        self.describe.then(|| {
            Box::new(import::UpstreamImport::describe(self, &self.namespace, changed))
                as Box<dyn toolkit_core::upstream::FollowedUpstream>
        })
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        session::open(self).await
    }

    async fn shutdown(&self) {
        if let Some(x) = &self.exchange {
            x.close_all().await;
        }
        self.client.close().await;
    }
}
