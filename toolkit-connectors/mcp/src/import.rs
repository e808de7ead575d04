//! Importing every tool of an upstream MCP server (a `ToolRegistry` upstream) and keeping the
//! import in sync: the [`McpImporter`] this crate registers as the build's
//! [`UpstreamImporter`].
//!
//! [`UpstreamImport::start`] runs a task that connects, lists the server's tools, keeps those
//! that pass the upstream's `allow` and `block` globs, and publishes them as [`ImportedTool`]s:
//! a `Tool` of type `mcp` named `prefix` + the upstream name, with the upstream's description,
//! title, schemas and annotations, and an instance that calls the tool on the one connection
//! the upstream's tools share. It lists again on `notifications/tools/list_changed` and after
//! reconnecting (a stdio server that died is started again, with backoff while it fails). A
//! failure keeps the tools last published: their calls fail `unreachable` until it is back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::Tool as McpToolDef;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use toolkit_core::connector::ToolInstance;
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::{Reference, RegistryUpstream, Tool, ToolAnnotations, ToolSpec};
use toolkit_core::secret::SecretResolver;
use toolkit_core::upstream::{FollowContext, FollowedUpstream, Imported, ImportedTool, UpstreamImporter};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, Result};

use crate::McpTool;
use crate::auth::Resolver;
use crate::client::McpClient;
use crate::config::{ServerConfig, server_references, upstream_server};

/// How often a following task checks that its connection is still open.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);
/// Wait before retrying a failed connection, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The build's [`UpstreamImporter`]: checks an upstream's server and follows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct McpImporter;

impl UpstreamImporter for McpImporter {
    fn validate(&self, upstream: &RegistryUpstream, path: &str) -> Vec<FieldError> {
        let mut errs = Vec::new();
        upstream_server(path, upstream, &mut errs);
        errs
    }

    fn references(&self, upstream: &RegistryUpstream, path: &str) -> Vec<Reference> {
        server_references(&format!("{path}.mcp"), &upstream.mcp, upstream.authentication.as_ref())
    }

    fn follow(&self, ctx: FollowContext, changed: Arc<dyn Fn() + Send + Sync>) -> Result<Box<dyn FollowedUpstream>> {
        let import = UpstreamImport::start(&ctx.namespace, &ctx.upstream, ctx.secrets, ctx.config_maps)?;
        forward(&import, changed);
        Ok(Box::new(import))
    }
}

/// Calls `changed` on each change of what `import` contributes; ends when the import is dropped
/// (its sender goes with its task).
fn forward(import: &UpstreamImport, changed: Arc<dyn Fn() + Send + Sync>) {
    let mut updates = import.subscribe();
    tokio::spawn(async move {
        while updates.changed().await.is_ok() {
            changed();
        }
    });
}

#[async_trait]
impl FollowedUpstream for UpstreamImport {
    fn current(&self) -> Imported {
        (*self.state.borrow().clone()).clone()
    }

    async fn shutdown(&self) {
        UpstreamImport::shutdown(self).await;
    }
}

/// An upstream followed in the background; dropping it stops the task.
pub struct UpstreamImport {
    state: watch::Receiver<Arc<Imported>>,
    client: Arc<McpClient>,
    /// Whether the connection is this import's own (closed with it), not a tool's.
    owns_client: bool,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for UpstreamImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamImport").field("client", &self.client).finish_non_exhaustive()
    }
}

impl Drop for UpstreamImport {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UpstreamImport {
    /// Starts following `upstream` of a registry in `namespace` (needs a tokio runtime). Fails
    /// when its connection settings are invalid.
    pub fn start(
        namespace: &str,
        upstream: &RegistryUpstream,
        secrets: Arc<dyn SecretResolver>,
        config_maps: Arc<ConfigMaps>,
    ) -> Result<Self> {
        let server = server_of(upstream)?;
        let resolver = Resolver { namespace: namespace.to_owned(), secrets, config_maps };
        let client = Arc::new(McpClient::new(server, resolver));
        Ok(Self::on(client, true, namespace, upstream))
    }

    /// Follows what the server of `client` lists, as `upstream` admits it, on that connection.
    fn on(client: Arc<McpClient>, owns_client: bool, namespace: &str, upstream: &RegistryUpstream) -> Self {
        let (tx, state) = watch::channel(Arc::new(Imported::default()));
        let follower =
            Follower { namespace: namespace.to_owned(), upstream: upstream.clone(), client: client.clone(), tx };
        let task = tokio::spawn(follower.run());
        Self { state, client, owns_client, task }
    }

    /// Follows the server's description of `tool`'s upstream tool, on the tool's connection;
    /// `changed` is called whenever it may have changed.
    pub(crate) fn describe(tool: &McpTool, namespace: &str, changed: Arc<dyn Fn() + Send + Sync>) -> Self {
        let upstream = RegistryUpstream {
            name: "described".into(),
            prefix: Some(String::new()),
            allow: vec![glob::Pattern::escape(&tool.tool_name)],
            ..RegistryUpstream::default()
        };
        let import = Self::on(tool.client.clone(), false, namespace, &upstream);
        forward(&import, changed);
        import
    }

    /// Changes of what the upstream contributes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Imported>> {
        self.state.clone()
    }

    /// What the upstream contributes now.
    pub fn current(&self) -> Arc<Imported> {
        self.state.borrow().clone()
    }

    /// Stops following and closes the connection (a stdio server is stopped) when it is the
    /// import's own.
    pub async fn shutdown(&self) {
        self.task.abort();
        if self.owns_client {
            self.client.close().await;
        }
    }
}

fn server_of(upstream: &RegistryUpstream) -> Result<ServerConfig> {
    let mut errs = Vec::new();
    let server = upstream_server("spec.upstream", upstream, &mut errs);
    match server {
        Some(s) if errs.is_empty() => Ok(s),
        _ if errs.is_empty() => {
            Err(Error::config(format!("import upstream `{}`: set `url` or `command`", upstream.name)))
        }
        _ => Err(config_error(format_args!("import upstream `{}`", upstream.name), &errs)),
    }
}

struct Follower {
    namespace: String,
    upstream: RegistryUpstream,
    client: Arc<McpClient>,
    tx: watch::Sender<Arc<Imported>>,
}

impl Follower {
    async fn run(self) {
        let label = self.client.server().label();
        let mut changes = self.client.changes();
        let mut backoff = FIRST_BACKOFF;
        let mut last: Option<Vec<McpToolDef>> = None;
        let mut failing = false;
        loop {
            // Connecting bumps the generation; seeing it before listing avoids listing twice.
            let listed = match self.client.connect().await {
                Ok(_) => {
                    changes.borrow_and_update();
                    self.client.list_tools().await
                }
                Err(e) => Err(e),
            };
            match listed {
                Ok(tools) => {
                    backoff = FIRST_BACKOFF;
                    if failing {
                        tracing::info!(upstream = %self.upstream.name, server = %label, "upstream reachable again");
                        failing = false;
                    }
                    let admitted: Vec<McpToolDef> =
                        tools.iter().filter(|t| self.upstream.admits(&t.name)).cloned().collect();
                    if last.as_ref() != Some(&admitted) || self.tx.borrow().error.is_some() || !self.tx.borrow().settled
                    {
                        let imported = self.imported(&admitted);
                        tracing::debug!(upstream = %self.upstream.name, tools = imported.len(), "upstream tools listed");
                        self.tx.send_replace(Arc::new(Imported { settled: true, tools: imported, error: None }));
                        last = Some(admitted);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(upstream = %self.upstream.name, "import the tools of an upstream (retrying): {e}");
                        failing = true;
                    }
                    let tools = self.tx.borrow().tools.clone();
                    self.tx.send_replace(Arc::new(Imported { settled: true, tools, error: Some(e.to_string()) }));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
            // Until the list changes or the connection goes away.
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        break;
                    }
                    () = tokio::time::sleep(LIVENESS_CHECK) => {
                        if self.client.is_disconnected().await {
                            break;
                        }
                    }
                }
            }
        }
    }

    fn imported(&self, tools: &[McpToolDef]) -> Vec<ImportedTool> {
        let prefix = self.upstream.effective_prefix();
        let mut out: Vec<ImportedTool> = tools
            .iter()
            .filter(|t| {
                let usable = !t.name.is_empty() && !t.name.contains('/') && !t.name.chars().any(char::is_control);
                if !usable {
                    tracing::warn!(upstream = %self.upstream.name, tool = ?t.name, "not imported: unusable tool name");
                }
                usable
            })
            .map(|t| {
                let name = format!("{prefix}{}", t.name);
                let mut tool = Tool::new(&name, self.spec_of(t));
                tool.metadata.namespace = Some(self.namespace.clone());
                let instance: Arc<dyn ToolInstance> = Arc::new(McpTool {
                    client: self.client.clone(),
                    exchange: None,
                    namespace: self.namespace.clone(),
                    describe: false,
                    tool_name: t.name.to_string(),
                    read_only: false,
                });
                ImportedTool { name, upstream_name: t.name.to_string(), tool: Arc::new(tool), instance }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }

    fn spec_of(&self, t: &McpToolDef) -> ToolSpec {
        let hints = t.annotations.as_ref();
        let title = t.title.clone().or_else(|| hints.and_then(|a| a.title.clone()));
        ToolSpec {
            display_name: title.filter(|s| !s.trim().is_empty() && s.chars().count() <= 64),
            description: t.description.as_ref().map(|d| d.to_string()).filter(|d| !d.trim().is_empty()),
            input_schema: Some(Value::Object((*t.input_schema).clone())),
            output_schema: t.output_schema.as_ref().map(|s| Value::Object((**s).clone())),
            rate_limit: self.upstream.rate_limit.clone(),
            approval: self.upstream.approval.clone(),
            annotations: hints.map(|a| ToolAnnotations {
                title: a.title.clone(),
                read_only_hint: a.read_only_hint,
                destructive_hint: a.destructive_hint,
                idempotent_hint: a.idempotent_hint,
                open_world_hint: a.open_world_hint,
            }),
            ..ToolSpec::of_type(crate::TYPE)
                .with_block(
                    "mcp",
                    crate::config::McpSpec {
                        tool_name: Some(t.name.to_string()),
                        ..crate::config::McpSpec::from_server(&self.upstream.mcp)
                    },
                )
                .with_block_opt("authentication", self.upstream.authentication.as_ref())
        }
    }
}
