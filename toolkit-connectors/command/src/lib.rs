#![doc = include_str!("../README.md")]

mod invoke;
mod kubeconfig;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::{CommandSpec, ConnectionConfig};
use toolkit_core::secret::SecretResolver;
use toolkit_core::validate::FieldError;
use toolkit_core::{ConnectorRegistry, Error, Result, ToolSpec, ToolType};

pub use invoke::{Program, program};
pub use kubeconfig::KubeConnection;

/// How long a command may run when the tool sets no `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Adds the kubectl connector to `registry`.
#[cfg(feature = "kubectl")]
pub fn register_kubectl(registry: &mut ConnectorRegistry) {
    registry.register(CommandConnector(ToolType::Kubectl));
}

/// Adds the bash connector to `registry`.
#[cfg(feature = "bash")]
pub fn register_bash(registry: &mut ConnectorRegistry) {
    registry.register(CommandConnector(ToolType::Bash));
}

/// Adds both connectors (whichever features are on).
pub fn register(registry: &mut ConnectorRegistry) {
    let _ = &registry;
    #[cfg(feature = "kubectl")]
    register_kubectl(registry);
    #[cfg(feature = "bash")]
    register_bash(registry);
}

/// The `kubectl` or `bash` connector.
#[derive(Debug, Clone, Copy)]
pub struct CommandConnector(pub ToolType);

impl Connector for CommandConnector {
    fn tool_type(&self) -> ToolType {
        self.0
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if self.0 == ToolType::Kubectl && spec.command.as_ref().and_then(|c| c.connection_ref.as_ref()).is_none() {
            errs.push(FieldError::new(
                "spec.command.connectionRef",
                "a kubectl tool names the kubernetes tool whose credentials it uses",
            ));
        }
        if let Some(dir) = spec.command.as_ref().and_then(|c| c.working_dir.as_deref())
            && !std::path::Path::new(dir).is_absolute()
        {
            errs.push(FieldError::new("spec.command.workingDir", format!("`{dir}` is not an absolute path")));
        }
        errs
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(invoke::input_schema(self.0))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        Ok(Arc::new(CommandTool::new(self.0, &ctx, None)))
    }
}

/// One bash or kubectl tool.
pub struct CommandTool {
    type_: ToolType,
    qualified_name: String,
    namespace: String,
    command: CommandSpec,
    timeout: Duration,
    working_dir: Option<PathBuf>,
    secrets: Arc<dyn SecretResolver>,
    config_maps: Arc<ConfigMaps>,
    /// The kubernetes connection of a kubectl tool, as resolved from `connectionRef`.
    connection: Option<KubeConnection>,
}

impl fmt::Debug for CommandTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandTool")
            .field("type", &self.type_)
            .field("tool", &self.qualified_name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CommandTool {
    /// A tool of `type_` from its build context; a kubectl tool also takes the kubernetes
    /// connection its `connectionRef` names (the caller resolves the reference, as only it
    /// sees the catalog).
    pub fn new(type_: ToolType, ctx: &BuildContext, connection: Option<(ConnectionConfig, String)>) -> Self {
        let command = ctx.spec().command.clone().unwrap_or_default();
        Self {
            type_,
            qualified_name: ctx.qualified_name(),
            namespace: ctx.namespace.clone(),
            timeout: ctx.spec().timeout.map_or(DEFAULT_TIMEOUT, |d| d.get()),
            working_dir: command.working_dir.as_ref().map(PathBuf::from),
            command,
            secrets: ctx.secrets.clone(),
            config_maps: ctx.config_maps.clone(),
            connection: connection.map(|(config, namespace)| KubeConnection { config, namespace }),
        }
    }

    /// `namespace/name`.
    pub fn qualified_name(&self) -> &str {
        &self.qualified_name
    }

    fn not_ready(&self, what: &str) -> Error {
        Error::config(what.to_owned()).with_context("tool", &self.qualified_name)
    }
}

#[async_trait]
impl ToolInstance for CommandTool {
    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }
}
