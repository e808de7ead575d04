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
            Error::new(ErrorKind::Unsupported, format!("tool type `{tool_type}` is not compiled into this build"))
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

/// Collects the rows of one SQL statement into the result shape every SQL connector returns:
/// `{columns: [names], rows: [{column: value}], rowCount, truncated}`, plus `rowsAffected` for a
/// statement without columns. Rows past [`CallLimits::max_rows`], or that would take the rows
/// past [`CallLimits::max_output_bytes`] of JSON, are left out and mark the result truncated.
#[derive(Clone, Debug)]
pub struct RowSet {
    columns: Vec<String>,
    rows: Vec<Value>,
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
    truncated: bool,
}

impl RowSet {
    /// An empty set with these columns; a repeated name (`?column?`) gets `_2`, `_3`... so every
    /// row can be an object keyed by column.
    pub fn new<'a>(columns: impl IntoIterator<Item = &'a str>, limits: &CallLimits) -> Self {
        let mut names: Vec<String> = Vec::new();
        for name in columns {
            let mut candidate = name.to_owned();
            let mut n = 2;
            while names.contains(&candidate) {
                candidate = format!("{name}_{n}");
                n += 1;
            }
            names.push(candidate);
        }
        Self {
            columns: names,
            rows: Vec::new(),
            bytes: 0,
            max_rows: limits.max_rows,
            max_bytes: limits.max_output_bytes,
            truncated: false,
        }
    }

    /// The column names, made unique.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether a row was left out; no further row is taken once it is.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the next row would be left out for the row cap; lets a caller stop reading
    /// before it converts another row.
    pub fn is_full(&self) -> bool {
        self.truncated || self.rows.len() >= self.max_rows
    }

    /// Adds one row of values in column order; returns `false` (and marks the set truncated)
    /// when a cap leaves it out.
    pub fn push(&mut self, values: Vec<Value>) -> bool {
        if self.is_full() {
            self.truncated = true;
            return false;
        }
        let row: Map<String, Value> = self.columns.iter().cloned().zip(values).collect();
        let row = Value::Object(row);
        let size = serde_json::to_string(&row).map_or(0, |s| s.len() + 1);
        if self.bytes.saturating_add(size) > self.max_bytes {
            self.truncated = true;
            return false;
        }
        self.bytes += size;
        self.rows.push(row);
        true
    }

    /// The call's output; `rows_affected` is reported for statements without columns.
    pub fn into_output(self, rows_affected: Option<u64>) -> InvokeOutput {
        let row_count = self.rows.len();
        let mut content = Map::new();
        content.insert("columns".into(), Value::from(self.columns.clone()));
        content.insert("rows".into(), Value::Array(self.rows));
        content.insert("rowCount".into(), Value::from(row_count));
        content.insert("truncated".into(), Value::Bool(self.truncated));
        let mut metadata = Map::new();
        metadata.insert("rowCount".into(), Value::from(row_count));
        if let (true, Some(n)) = (self.columns.is_empty(), rows_affected) {
            content.insert("rowsAffected".into(), Value::from(n));
            metadata.insert("rowsAffected".into(), Value::from(n));
        }
        InvokeOutput { content: Value::Object(content), truncated: self.truncated, metadata }
    }
}

#[cfg(test)]
mod row_set_tests {
    use super::*;

    #[test]
    fn repeated_columns_get_suffixes_and_caps_truncate() {
        let limits = CallLimits { max_rows: 2, ..CallLimits::default() };
        let mut set = RowSet::new(["?column?", "?column?", "a"], &limits);
        assert_eq!(set.columns(), ["?column?", "?column?_2", "a"]);
        assert!(set.push(vec![Value::from(1), Value::from(2), Value::Null]));
        assert!(set.push(vec![Value::from(3), Value::from(4), Value::Null]));
        assert!(set.is_full());
        assert!(!set.push(vec![Value::from(5), Value::from(6), Value::Null]));
        let out = set.into_output(None);
        assert!(out.truncated);
        assert_eq!(out.content["rowCount"], 2);
        assert_eq!(out.content["rows"][1]["?column?_2"], 4);
    }

    #[test]
    fn byte_cap_and_rows_affected() {
        let limits = CallLimits { max_output_bytes: 20, ..CallLimits::default() };
        let mut set = RowSet::new(["t"], &limits);
        assert!(set.push(vec![Value::from("short")]));
        assert!(!set.push(vec![Value::from("far too long for the cap")]));
        assert!(set.is_truncated());
        let out = RowSet::new([], &CallLimits::default()).into_output(Some(3));
        assert_eq!(out.content["rowsAffected"], 3);
        assert_eq!(out.metadata["rowsAffected"], 3);
    }
}
