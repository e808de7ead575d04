#![doc = include_str!("../README.md")]

mod invoke;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, ToolInstance, ToolLookup};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::{EnvVar, ObjectRef, Reference};
use toolkit_core::secret::SecretResolver;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Request, Result, SpecPart, ToolRef, ToolReference, ToolSpec, TypeInfo, Verdict};
use toolkit_policy::CommandKind;

pub use invoke::{Program, program};

/// The `spec.type` of kubectl tools.
pub const KUBECTL: &str = "kubectl";
/// The `spec.type` of bash tools.
pub const BASH: &str = "bash";

/// How long a command may run when the tool sets no `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Adds the kubectl connector to `registry`.
#[cfg(feature = "kubectl")]
pub fn register_kubectl(registry: &mut ConnectorRegistry) {
    registry.register(CommandConnector::Kubectl);
}

/// Adds the bash connector to `registry`.
#[cfg(feature = "bash")]
pub fn register_bash(registry: &mut ConnectorRegistry) {
    registry.register(CommandConnector::Bash);
}

/// Adds both connectors (whichever features are on).
pub fn register(registry: &mut ConnectorRegistry) {
    let _ = &registry;
    #[cfg(feature = "kubectl")]
    register_kubectl(registry);
    #[cfg(feature = "bash")]
    register_bash(registry);
}

/// A command tool (`kubectl`, `bash`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandSpec {
    /// Allow pipes and lists (runs through `bash -c`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_shell: bool,
    /// The tool whose session gives the commands their connection environment: required for
    /// kubectl (a kubernetes tool, for `KUBECONFIG`), optional for bash (any tool with sessions,
    /// such as a postgres tool for `psql`'s `PG*` variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_ref: Option<ObjectRef>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Fixed environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// An inline script (imported inline tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// The `kubectl` or `bash` connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandConnector {
    /// kubectl's arguments, run against the kubernetes tool named by `connectionRef`.
    Kubectl,
    /// A command line.
    Bash,
}

impl CommandConnector {
    /// The type name.
    pub fn name(self) -> &'static str {
        match self {
            CommandConnector::Kubectl => KUBECTL,
            CommandConnector::Bash => BASH,
        }
    }

    fn command_kind(self) -> CommandKind {
        match self {
            CommandConnector::Kubectl => CommandKind::Kubectl,
            CommandConnector::Bash => CommandKind::Shell,
        }
    }
}

impl Connector for CommandConnector {
    fn info(&self) -> TypeInfo {
        let summary = match self {
            CommandConnector::Kubectl => "kubectl commands against a kubernetes tool",
            CommandConnector::Bash => "Shell commands on the machine toolkit runs on",
        };
        TypeInfo {
            approval_by_default: true,
            default_timeout: DEFAULT_TIMEOUT,
            ..TypeInfo::new(self.name(), summary)
                .with(SpecPart::block::<CommandSpec>("command", *self == CommandConnector::Kubectl))
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let command = spec.read_block::<CommandSpec>("command", &mut errs);
        if *self == CommandConnector::Kubectl && command.as_ref().and_then(|c| c.connection_ref.as_ref()).is_none() {
            errs.push(FieldError::new(
                "spec.command.connectionRef",
                "a kubectl tool names the kubernetes tool whose credentials it uses",
            ));
        }
        if let Some(dir) = command.as_ref().and_then(|c| c.working_dir.as_deref())
            && !std::path::Path::new(dir).is_absolute()
        {
            errs.push(FieldError::new("spec.command.workingDir", format!("`{dir}` is not an absolute path")));
        }
        for (i, var) in command.iter().flat_map(|c| c.env.iter()).enumerate() {
            errs.extend(toolkit_core::model::check_value_source(
                &format!("spec.command.env[{i}]"),
                var.value.as_ref(),
                var.value_from.as_ref(),
            ));
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        let command = spec.block_as::<CommandSpec>("command").ok().flatten().unwrap_or_default();
        Reference::env("spec.command.env", &command.env)
    }

    fn tool_references(&self, spec: &ToolSpec) -> Vec<ToolReference> {
        let command = spec.block_as::<CommandSpec>("command").ok().flatten().unwrap_or_default();
        // kubectl needs a KUBECONFIG, which kubernetes tools' sessions give; bash takes any.
        let types = if *self == CommandConnector::Kubectl { vec!["kubernetes"] } else { Vec::new() };
        command
            .connection_ref
            .into_iter()
            .map(|target| ToolReference { path: "spec.command.connectionRef".to_owned(), target, types: types.clone() })
            .collect()
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(invoke::input_schema(*self))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let command = ctx
            .spec()
            .block_as::<CommandSpec>("command")
            .map_err(|errs| config_error(format_args!("build {} tool {}", self.name(), ctx.qualified_name()), &errs))?
            .unwrap_or_default();
        Ok(Arc::new(CommandTool::new(*self, &ctx, command)))
    }
}

/// One bash or kubectl tool.
pub struct CommandTool {
    kind: CommandConnector,
    qualified_name: String,
    namespace: String,
    command: CommandSpec,
    timeout: Duration,
    working_dir: Option<PathBuf>,
    secrets: Arc<dyn SecretResolver>,
    config_maps: Arc<ConfigMaps>,
    /// The tool whose session env the commands run with, and where to find it.
    connection: Option<ToolRef>,
    tools: Arc<dyn ToolLookup>,
}

impl fmt::Debug for CommandTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandTool")
            .field("type", &self.kind.name())
            .field("tool", &self.qualified_name)
            .field("connection", &self.connection.as_ref().map(ToString::to_string))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CommandTool {
    /// A tool of `kind` from its build context and its `spec.command`.
    pub fn new(kind: CommandConnector, ctx: &BuildContext, command: CommandSpec) -> Self {
        let connection = command
            .connection_ref
            .as_ref()
            .map(|r| ToolRef::new(r.namespace.as_deref().unwrap_or(&ctx.namespace), &r.name));
        Self {
            kind,
            qualified_name: ctx.qualified_name(),
            namespace: ctx.namespace.clone(),
            timeout: ctx.spec().timeout.map_or(DEFAULT_TIMEOUT, |d| d.get()),
            working_dir: command.working_dir.as_ref().map(PathBuf::from),
            command,
            secrets: ctx.secrets.clone(),
            config_maps: ctx.config_maps.clone(),
            connection,
            tools: ctx.tools.clone(),
        }
    }

    /// `namespace/name`.
    pub fn qualified_name(&self) -> &str {
        &self.qualified_name
    }
}

#[async_trait]
impl ToolInstance for CommandTool {
    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::classify(self.kind.command_kind(), &request.text("command")))
    }
}
