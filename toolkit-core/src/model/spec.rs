//! `Tool.spec`: what every tool has, whatever its type, and the parts its type owns.
//!
//! The core knows the fields every tool shares (description, schemas, readOnly, timeout,
//! limits, rateLimit, approval, permissions, enabled...). `spec.config` and the other blocks
//! of a type (`spec.http`, `spec.mcp`, `spec.command`...) are kept as JSON here and read by
//! the type's connector into its own types ([`ToolSpec::config_as`], [`ToolSpec::block_as`]),
//! so a connector outside this workspace can add a type with settings of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::status::ToolStatus;
use crate::duration::Duration;
use crate::validate::FieldError;

/// A declared external system or invocable tool.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[kube(
    group = "toolkit.dev",
    version = "v1alpha1",
    kind = "Tool",
    namespaced,
    doc = "A system an agent may reach through toolkit (a database, a cache, an HTTP API, a shell...): its type, connection settings, limits and approvals. The operator validates it, resolves the Secrets it names, probes it, and reports what it found in status.",
    status = "ToolStatus",
    shortname = "tl",
    category = "toolkit",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type","description":"What the tool reaches"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase","description":"Pending, Ready, Failed or Disabled"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the latest probe succeeded"}"#,
    printcolumn = r#"{"name":"Last Probe","type":"date","jsonPath":".status.lastProbe.time","description":"When the latest probe ran"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// The type: a connection (`postgres`, `redis`...) or an invocable tool (`http`, `mcp`...),
    /// served by the connector registered under this name.
    #[serde(rename = "type")]
    pub type_: String,
    /// Human-readable name, 1-64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The name agents call the tool by over MCP, instead of `NAME` (`NAMESPACE__NAME` outside
    /// the default namespace): 1-128 characters of `A-Za-z0-9_-.`, unique in the catalog. For
    /// names Kubernetes objects cannot have, such as `run_query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9_.-]+$"))]
    pub mcp_name: Option<String>,
    /// What the tool does, shown to agents; 1-1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A version string of the tool definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free-form tags for grouping and discovery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A disabled tool is kept but not served or probed; true when omitted.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Connectivity check: `true`, `false`, or `{enabled, interval, timeout}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::bool_or_object")]
    pub probe: Option<ProbeSetting>,
    /// Idle timeout of bastion sessions opened for this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
    /// Timeout of one call; 30s when omitted (60s for command types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Connection settings, in the shape the type's connector defines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserve_unknown")]
    pub config: Option<Value>,
    /// Refuse writes: calls the connector classifies as more than reads are refused, and the
    /// engine runs the rest read-only where it can (read-only transaction, ACL...).
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// JSON Schema of the call arguments (draft-07 or 2020-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserve_unknown")]
    pub input_schema: Option<Value>,
    /// JSON Schema of the structured result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserve_unknown")]
    pub output_schema: Option<Value>,
    /// Token-bucket rate limit for calls, per tool and per caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Output caps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Engine-native permissions of the tool's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsSpec>,
    /// Human approval of calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
    /// Hints for agents (MCP tool annotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// The other blocks of the type (`http`, `mcp`, `command`...), by field name, as written.
    /// Which names a type takes is its connector's to say; validation refuses the others.
    #[serde(flatten)]
    #[schemars(skip)]
    pub blocks: BTreeMap<String, Value>,
}

/// The fields every spec has, in the order they are written; any other field is a block.
pub const COMMON_FIELDS: &[&str] = &[
    "type",
    "displayName",
    "mcpName",
    "description",
    "version",
    "tags",
    "enabled",
    "probe",
    "idleTimeout",
    "timeout",
    "config",
    "readOnly",
    "inputSchema",
    "outputSchema",
    "rateLimit",
    "limits",
    "permissions",
    "approval",
    "annotations",
];

impl Default for ToolSpec {
    fn default() -> Self {
        Self {
            type_: String::new(),
            display_name: None,
            mcp_name: None,
            description: None,
            version: None,
            tags: Vec::new(),
            enabled: true,
            probe: None,
            idle_timeout: None,
            timeout: None,
            config: None,
            read_only: false,
            input_schema: None,
            output_schema: None,
            rate_limit: None,
            limits: None,
            permissions: None,
            approval: None,
            annotations: None,
            blocks: BTreeMap::new(),
        }
    }
}

impl ToolSpec {
    /// A spec of `type_` with everything else left out.
    pub fn of_type(type_: impl Into<String>) -> Self {
        Self { type_: type_.into(), ..Self::default() }
    }

    /// `spec.config` read as `T`; `None` when the manifest has none. Every key `T` does not
    /// take is reported at once, naming the type's keys (`spec.config.hostnme: unknown field;
    /// did you mean `hostname`?`), then the first value of a wrong shape.
    pub fn config_as<T: DeserializeOwned + JsonSchema>(&self) -> Result<Option<T>, Vec<FieldError>> {
        self.config.as_ref().map(|v| crate::config::read::<T>("spec.config", v, &self.type_)).transpose()
    }

    /// The block `name` (`spec.http`...) read as `T`, like [`config_as`](Self::config_as).
    pub fn block_as<T: DeserializeOwned + JsonSchema>(&self, name: &str) -> Result<Option<T>, Vec<FieldError>> {
        self.blocks.get(name).map(|v| crate::config::read::<T>(&format!("spec.{name}"), v, &self.type_)).transpose()
    }

    /// `spec.config` read as `T` for a connector that checks further: problems go into
    /// `errs`, keys `T` does not take are reported and left out, and `None` means there is no
    /// config or a value has the wrong shape.
    pub fn read_config<T: DeserializeOwned + JsonSchema>(&self, errs: &mut Vec<FieldError>) -> Option<T> {
        crate::config::read_into::<T>("spec.config", self.config.as_ref()?, &self.type_, errs)
    }

    /// The block `name` read as `T` like [`read_config`](Self::read_config).
    pub fn read_block<T: DeserializeOwned + JsonSchema>(&self, name: &str, errs: &mut Vec<FieldError>) -> Option<T> {
        crate::config::read_into::<T>(&format!("spec.{name}"), self.blocks.get(name)?, &self.type_, errs)
    }

    /// Sets the block `name` to `value` serialized (for programs that build specs).
    pub fn with_block(mut self, name: &str, value: impl Serialize) -> Self {
        self.blocks.insert(name.to_owned(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    /// Sets the block `name` to `value` serialized, when there is one.
    pub fn with_block_opt(self, name: &str, value: Option<impl Serialize>) -> Self {
        match value {
            Some(v) => self.with_block(name, v),
            None => self,
        }
    }

    /// Sets `spec.config` to `value` serialized.
    pub fn with_config(mut self, value: impl Serialize) -> Self {
        self.config = Some(serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }
}

impl<'de> Deserialize<'de> for ToolSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SpecVisitor)
    }
}

/// Reads the shared fields with their own types (so an error names the field's path) and keeps
/// every other field as a block.
struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = ToolSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Tool spec (a mapping with at least `type`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolSpec, A::Error> {
        let mut spec = ToolSpec::default();
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            match key.as_str() {
                "type" => spec.type_ = map.next_value()?,
                "displayName" => spec.display_name = map.next_value()?,
                "mcpName" => spec.mcp_name = map.next_value()?,
                "description" => spec.description = map.next_value()?,
                "version" => spec.version = map.next_value()?,
                "tags" => spec.tags = map.next_value()?,
                "enabled" => spec.enabled = map.next_value()?,
                "probe" => spec.probe = map.next_value()?,
                "idleTimeout" => spec.idle_timeout = map.next_value()?,
                "timeout" => spec.timeout = map.next_value()?,
                "config" => spec.config = map.next_value()?,
                "readOnly" => spec.read_only = map.next_value()?,
                "inputSchema" => spec.input_schema = map.next_value()?,
                "outputSchema" => spec.output_schema = map.next_value()?,
                "rateLimit" => spec.rate_limit = map.next_value()?,
                "limits" => spec.limits = map.next_value()?,
                "permissions" => spec.permissions = map.next_value()?,
                "approval" => spec.approval = map.next_value()?,
                "annotations" => spec.annotations = map.next_value()?,
                _ => {
                    let value: Value = map.next_value()?;
                    spec.blocks.insert(key, value);
                }
            }
        }
        Ok(spec)
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `probe: true`, `probe: false` or `probe: {enabled, interval, timeout}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProbeSetting {
    /// On or off with defaults.
    Enabled(bool),
    /// Detailed settings.
    Detailed(ProbeSpec),
}

impl ProbeSetting {
    /// The effective settings.
    pub fn spec(&self) -> ProbeSpec {
        match self {
            ProbeSetting::Enabled(enabled) => ProbeSpec { enabled: *enabled, ..ProbeSpec::default() },
            ProbeSetting::Detailed(spec) => spec.clone(),
        }
    }
}

/// Probe settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeSpec {
    /// Whether the tool is probed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How often a long-running gateway or operator probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// How long one probe may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// For http tools: the path requested instead of the URL's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        Self { enabled: true, interval: None, timeout: None, path: None }
    }
}

/// Token-bucket rate limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained rate, 1-10000 per minute.
    pub requests_per_minute: u32,
    /// Calls allowed at once above the rate, 1-1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Output caps of one call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Rows returned by a query at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
    /// Bytes of output at most; longer output is truncated and marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
}

/// Permission plan of the tool's identity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionsSpec {
    /// `declare` plans only; `enforce` applies the plan.
    #[serde(default)]
    pub mode: PermissionMode,
    /// The engine identity the grants are for; the connection user when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Engine-specific rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::preserve_unknown_list")]
    pub rules: Vec<serde_json::Value>,
}

/// Whether permissions are only planned or also applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PermissionMode {
    /// Plan and report only.
    #[default]
    Declare,
    /// Apply the plan.
    Enforce,
}

/// Approval of calls by a human.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalSpec {
    /// `always`, `never`, or `auto` (decided by the command's class).
    #[serde(default)]
    pub required: ApprovalRequired,
    /// How long a call waits for a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// What happens when nobody decides in time.
    #[serde(default)]
    pub on_timeout: OnTimeout,
}

/// When approval is required.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalRequired {
    /// Every call.
    Always,
    /// No call.
    Never,
    /// By classification of the call.
    #[default]
    Auto,
}

/// What a timed-out approval does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnTimeout {
    /// Fail closed.
    #[default]
    Reject,
    /// Run the call anyway.
    Proceed,
}

/// MCP tool annotations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolAnnotations {
    /// A title for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}
