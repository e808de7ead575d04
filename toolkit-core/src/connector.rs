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
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{ConfigMaps, DocumentFormat, ToolRef};
use crate::model::{Reference, Tool, ToolSpec};
use crate::secret::{SecretResolver, SecretString};
use crate::upstream::UpstreamImporter;
use crate::validate::FieldError;
use crate::verdict::Verdict;

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
    /// The other tools of the catalog, for a tool that uses another one's connection (a
    /// `kubectl` tool runs with the session of the `kubernetes` tool it names).
    pub tools: Arc<dyn ToolLookup>,
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

/// How to make the JSON Schema of one part of a spec, for the CRD and for documentation.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One part of a spec that a type owns: `config`, or another block such as `http`.
#[derive(Clone, Copy)]
pub struct SpecPart {
    /// The field name under `spec`.
    pub name: &'static str,
    /// Whether every tool of the type must set it.
    pub required: bool,
    /// Its schema.
    pub schema: SchemaFn,
}

impl SpecPart {
    /// `spec.config`, read as `T`.
    pub fn config<T: JsonSchema>(required: bool) -> Self {
        Self { name: "config", required, schema: schema_of::<T> }
    }

    /// The block `spec.NAME`, read as `T`.
    pub fn block<T: JsonSchema>(name: &'static str, required: bool) -> Self {
        Self { name, required, schema: schema_of::<T> }
    }
}

impl fmt::Debug for SpecPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpecPart").field("name", &self.name).field("required", &self.required).finish()
    }
}

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a type is, as its connector declares it.
#[derive(Clone, Debug)]
pub struct TypeInfo {
    /// The `spec.type` it serves: lowercase letters, digits and `-`.
    pub name: &'static str,
    /// One line on what the type reaches, for listings.
    pub summary: &'static str,
    /// The parts of a spec the type owns (`config`, `http`...); any other block is refused.
    pub parts: Vec<SpecPart>,
    /// Whether calls go through approval even when the tool declares no `spec.approval`:
    /// true for types that take commands (a shell, kubectl), false where approval is opt-in
    /// (SQL: `readOnly` governs those by default).
    pub approval_by_default: bool,
    /// How long one call may take when the tool sets no `spec.timeout`.
    pub default_timeout: Duration,
}

impl TypeInfo {
    /// A type with no parts of its own, approval only when declared, and a 30s call timeout.
    pub fn new(name: &'static str, summary: &'static str) -> Self {
        Self { name, summary, parts: Vec::new(), approval_by_default: false, default_timeout: Duration::from_secs(30) }
    }

    /// Adds a part the type owns.
    pub fn with(mut self, part: SpecPart) -> Self {
        self.parts.push(part);
        self
    }

    /// Whether the type owns `spec.NAME`.
    pub fn takes(&self, name: &str) -> bool {
        self.parts.iter().any(|p| p.name == name)
    }
}

/// One integration type.
pub trait Connector: Send + Sync + 'static {
    /// The type's name, the parts of a spec it owns and its defaults.
    fn info(&self) -> TypeInfo;

    /// What it supports. The shared behaviour suite checks this against what an instance does.
    fn capabilities(&self) -> Capabilities;

    /// Pure checks of the type's own parts of a spec: no I/O, no secrets.
    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError>;

    /// The Secrets and ConfigMaps a spec references, each with its field path; the catalog
    /// checks that they exist before any call.
    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        let _ = spec;
        Vec::new()
    }

    /// The other tools a spec uses (a `kubectl` tool's `command.connectionRef`); the catalog
    /// checks that they exist and are of a type the reference accepts.
    fn tool_references(&self, spec: &ToolSpec) -> Vec<ToolReference> {
        let _ = spec;
        Vec::new()
    }

    /// Makes relative file paths in the spec relative to `dir`, the manifest's folder.
    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &Path) {
        let _ = (spec, dir);
    }

    /// The arguments schema used when the manifest declares none (e.g. `{query}` for SQL).
    fn default_input_schema(&self) -> Option<Value> {
        None
    }

    /// A session of this tool described without reading a secret, for a session that runs
    /// elsewhere (a bastion pod): the native client's image and command, and its environment
    /// with each credential named by its Secret key. `None` when the type has no such session,
    /// or the spec is invalid.
    fn session_template(&self, spec: &ToolSpec) -> Option<SessionTemplate> {
        let _ = spec;
        None
    }

    /// Builds the instance of one tool. Clients and pools are created here but connect lazily,
    /// and credentials are resolved on first use.
    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>>;
}

/// A tool's reference to another tool of the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolReference {
    /// The field path, such as `spec.command.connectionRef`.
    pub path: String,
    /// The tool named; the referrer's namespace when it names none.
    pub target: crate::model::ObjectRef,
    /// The types the target may have; any type when empty.
    pub types: Vec<&'static str>,
}

/// Finds the other tools of a catalog, for tools that use another one's connection.
pub trait ToolLookup: Send + Sync {
    /// The declared tool `reference`, if it is declared and valid.
    fn tool(&self, reference: &ToolRef) -> Option<Arc<Tool>>;

    /// The instance of `reference`, once the catalog is prepared; an error says why not.
    fn instance(&self, reference: &ToolRef) -> Result<Arc<dyn ToolInstance>>;
}

/// A lookup that finds nothing, for building a tool on its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTools;

impl ToolLookup for NoTools {
    fn tool(&self, _: &ToolRef) -> Option<Arc<Tool>> {
        None
    }

    fn instance(&self, reference: &ToolRef) -> Result<Arc<dyn ToolInstance>> {
        Err(Error::not_found(format!("tool {reference} is not declared")))
    }
}

/// What one request asks of a tool, for its connector to classify.
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    /// An agent's call with its (validated) arguments.
    Call(&'a Map<String, Value>),
    /// A person's command through a session (`toolkit tool exec`).
    Command(&'a [String]),
}

impl Request<'_> {
    /// The text the request carries: the call's string argument `argument` (empty when it is
    /// missing or not a string), or the command's words joined by spaces.
    pub fn text(&self, argument: &str) -> String {
        match self {
            Request::Call(args) => args.get(argument).and_then(Value::as_str).unwrap_or_default().to_owned(),
            Request::Command(words) => words.join(" "),
        }
    }
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

    /// What a request would do (read, write, dangerous...), part by part. The pipeline refuses
    /// anything but reads on `readOnly` tools and decides approvals from it. `None` when the
    /// type does not classify its requests (its engine enforces `readOnly` alone).
    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        let _ = request;
        None
    }

    /// For a tool that leaves its description to its server (an `mcp` tool without
    /// `inputSchema`): follows what the server says of the tool, on the tool's own connection,
    /// calling `changed` whenever that may have changed. The first (and only) tool of
    /// [`crate::upstream::FollowedUpstream::current`] is the server's description of this tool,
    /// which the runtime then serves and validates arguments with. `None` by default.
    fn follow_description(
        &self,
        changed: std::sync::Arc<dyn Fn() + Send + Sync>,
    ) -> Option<Box<dyn crate::upstream::FollowedUpstream>> {
        let _ = changed;
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
    /// The access token the caller presented to the gateway, for a tool that exchanges it for
    /// one of its own (RFC 8693); never sent upstream as it is.
    pub subject_token: Option<crate::SecretString>,
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

/// Where one variable of a [`SessionTemplate`]'s environment comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvSource {
    /// A value safe to show (a host name, a port).
    Value(String),
    /// A Secret key of the tool's namespace, read only where the session runs.
    Secret(crate::model::SecretKeySelector),
}

/// One variable of a [`SessionTemplate`]'s environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvTemplate {
    /// Name, such as `PGPASSWORD`.
    pub name: String,
    /// Where its value comes from.
    pub source: EnvSource,
}

impl EnvTemplate {
    /// A value safe to show.
    pub fn value(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), source: EnvSource::Value(value.into()) }
    }

    /// A Secret key.
    pub fn secret(name: &str, selector: &crate::model::SecretKeySelector) -> Self {
        Self { name: name.to_owned(), source: EnvSource::Secret(selector.clone()) }
    }
}

impl EnvTemplate {
    /// The entries of a local session: each Secret key of `templates` read through `secrets`
    /// from `namespace`, now.
    pub async fn resolve_all(
        templates: &[EnvTemplate],
        secrets: &dyn crate::SecretResolver,
        namespace: &str,
    ) -> Result<Vec<EnvEntry>> {
        let mut out = Vec::with_capacity(templates.len());
        for t in templates {
            out.push(match &t.source {
                EnvSource::Value(v) => EnvEntry::plain(&t.name, v.clone()),
                EnvSource::Secret(selector) => EnvEntry::secret(&t.name, secrets.resolve(namespace, selector).await?),
            });
        }
        Ok(out)
    }
}

/// A session of a tool described without its secrets: what a bastion pod runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionTemplate {
    /// The container image with the native client (`docker.io/library/postgres:17-alpine`).
    pub image: String,
    /// The native client (`["psql"]`).
    pub client: Vec<String>,
    /// The client's environment.
    pub env: Vec<EnvTemplate>,
    /// How one command runs through the client (`toolkit tool exec`).
    pub exec: ExecForm,
    /// The ServiceAccount whose token the pod gets (a Kubernetes tool's own, bound to its
    /// declared RBAC); no token is mounted without one.
    pub service_account: Option<String>,
    /// The namespace the pod must run in when it is not the tool's (where the ServiceAccount
    /// is).
    pub namespace: Option<String>,
}

/// How a command runs through a native client in a pod: `prefix`, then the command's words,
/// joined by spaces into one argument (`psql -c "select 1"`) or each its own (`redis-cli GET k`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecForm {
    /// The client and its options before the command.
    pub prefix: Vec<String>,
    /// Whether the command's words become one argument.
    pub joined: bool,
}

impl ExecForm {
    /// The command line that runs `command`.
    pub fn argv(&self, command: &[String]) -> Vec<String> {
        let mut argv = self.prefix.clone();
        if self.joined {
            argv.push(command.join(" "));
        } else {
            argv.extend(command.iter().cloned());
        }
        argv
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

/// The connectors of this build (and of any program that registers its own), keyed by type
/// name.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    formats: Vec<Arc<dyn DocumentFormat>>,
    importer: Option<Arc<dyn UpstreamImporter>>,
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

    /// Adds a connector under the name its [`TypeInfo`] gives, replacing one of the same name.
    pub fn register(&mut self, connector: impl Connector) -> &mut Self {
        self.register_arc(Arc::new(connector))
    }

    /// [`register`](Self::register) for a connector already shared.
    pub fn register_arc(&mut self, connector: Arc<dyn Connector>) -> &mut Self {
        self.connectors.insert(connector.info().name.to_owned(), connector);
        self
    }

    /// Adds a peer manifest format; the catalog converts its documents into native ones.
    pub fn register_format(&mut self, format: impl DocumentFormat + 'static) -> &mut Self {
        self.formats.push(Arc::new(format));
        self
    }

    /// The peer formats registered, in the order they were.
    pub fn formats(&self) -> &[Arc<dyn DocumentFormat>] {
        &self.formats
    }

    /// Sets what follows the upstream MCP servers of `ToolRegistry` resources.
    pub fn register_importer(&mut self, importer: impl UpstreamImporter + 'static) -> &mut Self {
        self.importer = Some(Arc::new(importer));
        self
    }

    /// What follows registry upstreams, if this build has it.
    pub fn importer(&self) -> Option<&Arc<dyn UpstreamImporter>> {
        self.importer.as_ref()
    }

    /// The connector of `type_name`, or an error listing what this build has.
    pub fn get(&self, type_name: &str) -> Result<&Arc<dyn Connector>> {
        self.connectors.get(type_name).ok_or_else(|| {
            let names = self.type_names();
            let names = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            Error::new(
                ErrorKind::Unsupported,
                format!("tool type `{type_name}` is not in this build; compiled in: {names}"),
            )
        })
    }

    /// Whether `type_name` is registered.
    pub fn contains(&self, type_name: &str) -> bool {
        self.connectors.contains_key(type_name)
    }

    /// The type names registered, sorted.
    pub fn type_names(&self) -> Vec<&str> {
        self.connectors.keys().map(String::as_str).collect()
    }

    /// Iterates over the connectors by type name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Connector>)> {
        self.connectors.iter().map(|(k, v)| (k.as_str(), v))
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
