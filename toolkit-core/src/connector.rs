//! The four connector traits, the per-tool instance that bundles them, and the registry.
//!
//! A connector crate defines one statically typed struct per tool (a Postgres pool, an HTTP
//! client) that implements the traits its engine supports; [`ToolInstance`] hands them to the
//! runtime as trait objects. The traits use `async-trait` throughout so that the runtime can hold
//! `Arc<dyn ToolInstance>`.
//!
//! * [`Probe`]: a type-specific connectivity check.
//! * [`Session`]: a live connection, with the env a native client needs and commands run
//!   through it.
//! * [`PermissionProvisioner`]: engine-native grants, planned in `declare` mode and applied in
//!   `enforce` mode.
//! * [`Invoker`]: performs one tool call.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::ConfigMaps;
use crate::model::{Tool, ToolSpec, ToolType};
use crate::secret::{SecretResolver, SecretString};
use crate::validate::FieldError;

/// What a connector supports; an operation it does not support returns
/// [`ErrorKind::Unsupported`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Has a connectivity probe.
    pub probe: bool,
    /// Opens sessions (native client env and exec).
    pub session: bool,
    /// Performs agent calls.
    pub invoke: bool,
    /// Plans engine-native permissions.
    pub permissions_plan: bool,
    /// Applies engine-native permissions.
    pub permissions_apply: bool,
    /// Enforces `readOnly: true` at the engine, not only in toolkit.
    pub read_only: bool,
}

/// Everything a connector needs to build one tool's instance.
#[derive(Clone)]
pub struct BuildContext {
    /// The tool, as loaded and validated.
    pub tool: Arc<Tool>,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Resolves credentials when they are needed.
    pub secrets: Arc<dyn SecretResolver>,
    /// ConfigMaps loaded beside the manifests.
    pub config_maps: Arc<ConfigMaps>,
}

impl BuildContext {
    /// The spec of the tool.
    pub fn spec(&self) -> &ToolSpec {
        &self.tool.spec
    }

    /// `namespace/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext").field("tool", &self.qualified_name()).finish_non_exhaustive()
    }
}

/// One integration type.
pub trait Connector: Send + Sync + 'static {
    /// The `spec.type` it serves.
    fn tool_type(&self) -> ToolType;

    /// What it supports.
    fn capabilities(&self) -> Capabilities;

    /// Pure checks of the type-specific parts of a spec: no I/O, no secrets.
    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError>;

    /// The arguments schema used when the manifest declares none (e.g. `{query}` for SQL).
    fn default_input_schema(&self) -> Option<Value> {
        None
    }

    /// Builds the instance of one tool. Clients and pools are created here but connect lazily,
    /// and credentials are resolved on first use.
    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>>;
}

/// One tool's live handle, bundling the traits its connector implements.
#[async_trait]
pub trait ToolInstance: Send + Sync {
    /// The connectivity check.
    fn probe(&self) -> Option<&dyn Probe> {
        None
    }

    /// The agent-facing call.
    fn invoker(&self) -> Option<&dyn Invoker> {
        None
    }

    /// Engine-native permissions.
    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        None
    }

    /// Opens a session: a live connection with the env of a native client.
    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Err(Error::unsupported("open a session: this tool type has no sessions"))
    }

    /// Closes pools and connections.
    async fn shutdown(&self) {}
}

/// What a successful probe learned. Latency is measured by the caller.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// Version string of the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Further facts (engine name, cluster health...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// A type-specific connectivity check.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Connects, authenticates and asks the server something cheap.
    async fn probe(&self) -> Result<ProbeReport>;
}

/// Caps applied to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    /// Rows returned at most.
    pub max_rows: usize,
    /// Output bytes at most.
    pub max_output_bytes: usize,
    /// Time allowed.
    pub timeout: Duration,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self { max_rows: 1000, max_output_bytes: 1024 * 1024, timeout: Duration::from_secs(30) }
    }
}

/// One call's input.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    /// The arguments, already validated against the input schema.
    pub arguments: Map<String, Value>,
    /// Caps.
    pub limits: CallLimits,
}

/// One call's output.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InvokeOutput {
    /// The result as JSON.
    pub content: Value,
    /// Whether rows or bytes were cut by a cap.
    pub truncated: bool,
    /// Facts about the call (row count, status code, ...).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl InvokeOutput {
    /// An output with no metadata.
    pub fn new(content: Value) -> Self {
        Self { content, truncated: false, metadata: Map::new() }
    }
}

/// Performs one tool call.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// Runs the call.
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput>;
}

/// An environment variable for a native client.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvEntry {
    /// Name, such as `PGHOST`.
    pub name: String,
    /// Value; secret ones print as `[redacted]`.
    pub value: EnvValue,
}

/// A plain or secret environment value.
#[derive(Clone, Debug, PartialEq)]
pub enum EnvValue {
    /// Safe to show.
    Plain(String),
    /// Never shown.
    Secret(SecretString),
}

impl EnvValue {
    /// The value to hand to a child process.
    pub fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(s) => s,
            EnvValue::Secret(s) => s.expose(),
        }
    }
}

impl fmt::Display for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvValue::Plain(s) => f.write_str(s),
            EnvValue::Secret(s) => fmt::Display::fmt(s, f),
        }
    }
}

impl EnvEntry {
    /// A plain entry.
    pub fn plain(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), value: EnvValue::Plain(value.into()) }
    }

    /// A secret entry.
    pub fn secret(name: &str, value: SecretString) -> Self {
        Self { name: name.to_owned(), value: EnvValue::Secret(value) }
    }
}

/// A live connection to the tool's system.
#[async_trait]
pub trait Session: Send + Sync {
    /// The environment a native client needs (e.g. `PGHOST`, `PGPASSWORD`).
    fn env(&self) -> Vec<EnvEntry>;

    /// The native client, such as `["psql"]`, if the engine has one.
    fn client(&self) -> Option<Vec<String>> {
        None
    }

    /// Runs one command (a query, a Redis command...) through the connection.
    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput>;

    /// Closes the connection.
    async fn close(&self) {}
}

/// A plan of engine-native grants.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionPlan {
    /// The engine identity the plan is for.
    pub principal: String,
    /// Statements (SQL GRANTs, `ACL SETUSER`, RBAC YAML) in the order they apply.
    pub statements: Vec<String>,
    /// What is granted now, as far as the engine tells.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub current: Vec<String>,
}

/// Engine-native permissions.
#[async_trait]
pub trait PermissionProvisioner: Send + Sync {
    /// The plan for the tool's declared permissions.
    async fn plan(&self) -> Result<PermissionPlan>;

    /// Applies a plan (only in `enforce` mode).
    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let _ = plan;
        Err(Error::unsupported("apply permissions: this engine has no grants to apply"))
    }
}

/// The connectors compiled into this build, keyed by type.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: BTreeMap<ToolType, Arc<dyn Connector>>,
}

impl fmt::Debug for ConnectorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.connectors.keys()).finish()
    }
}

impl ConnectorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connector, replacing one of the same type.
    pub fn register(&mut self, connector: impl Connector) -> &mut Self {
        self.connectors.insert(connector.tool_type(), Arc::new(connector));
        self
    }

    /// The connector of `tool_type`, or an error listing what this build has.
    pub fn get(&self, tool_type: ToolType) -> Result<&Arc<dyn Connector>> {
        self.connectors.get(&tool_type).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("tool type `{tool_type}` is not compiled into this build"),
            )
            .with_context("available", self.type_names().join(", "))
        })
    }

    /// Whether `tool_type` is compiled in.
    pub fn contains(&self, tool_type: ToolType) -> bool {
        self.connectors.contains_key(&tool_type)
    }

    /// The types compiled in, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        self.connectors.keys().map(|t| t.as_str()).collect()
    }

    /// Iterates over the connectors.
    pub fn iter(&self) -> impl Iterator<Item = (&ToolType, &Arc<dyn Connector>)> {
        self.connectors.iter()
    }
}
