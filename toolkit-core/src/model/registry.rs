//! `ToolRegistry`: a named group of tools, inline or discovered.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::{ApprovalSpec, RateLimit, ToolSpec};
use super::status::{Condition, RegistryPhase};
use super::values::{Authentication, McpServerSpec};

/// Groups tools and discovers them.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "toolkit.dev",
    version = "v1alpha1",
    kind = "ToolRegistry",
    namespaced,
    doc = "A named group of tools: declared inline, imported from upstream MCP servers, or discovered from labelled Services.",
    status = "ToolRegistryStatus",
    shortname = "tr",
    category = "toolkit",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.discoveredTools","description":"Tools found: inline, upstream, discovered Services and member Tools"}"#,
    printcolumn = r#"{"name":"Available","type":"integer","jsonPath":".status.availableTools","description":"Tools that are available"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolRegistrySpec {
    /// What the registry is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tools declared inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<RegistryTool>,
    /// Tools discovered from Services with matching labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<ToolRegistryDiscovery>,
    /// Upstream MCP servers whose tools are imported, each under a name prefix, and kept in
    /// sync with the server's `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<RegistryUpstream>,
    /// The rate limit of each tool imported from an upstream that sets none: a bucket per
    /// tool and one per caller, as a declared tool's `rateLimit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The approval rules of each tool imported from an upstream that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
}

/// An upstream MCP server whose tools a registry imports.
///
/// Each upstream tool whose name passes `allow` and `block` becomes a tool of the registry's
/// namespace named `prefix` + the upstream name, with the upstream's description, input schema
/// and annotations. All of them share one connection to the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryUpstream {
    /// Name of the upstream within the registry: lowercase letters, digits and `-`.
    pub name: String,
    /// How to reach the server.
    pub mcp: McpServerSpec,
    /// Prepended to every imported tool's name; `NAME_` when omitted, `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Glob patterns (`*`, `?`, `[abc]`) of upstream tool names to import; every tool when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Glob patterns of upstream tool names never imported; they win over `allow`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
    /// Credentials sent to a server reached by `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// The rate limit of each tool imported from this upstream (the registry's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The approval rules of each tool imported from this upstream (the registry's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
}

impl RegistryUpstream {
    /// The prefix of imported tool names: `prefix`, or `NAME_`.
    pub fn effective_prefix(&self) -> String {
        self.prefix.clone().unwrap_or_else(|| format!("{}_", self.name))
    }

    /// Whether the upstream tool `name` passes `allow` and `block`. Patterns that do not parse
    /// match nothing (validation reports them).
    pub fn admits(&self, name: &str) -> bool {
        let matches = |p: &String| glob::Pattern::new(p).is_ok_and(|p| p.matches(name));
        (self.allow.is_empty() || self.allow.iter().any(matches)) && !self.block.iter().any(matches)
    }
}

/// A tool declared inside a registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryTool {
    /// Name of the tool (unique in the namespace).
    pub name: String,
    /// Its spec.
    pub spec: ToolSpec,
}

/// Discovery of tools by labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolRegistryDiscovery {
    /// Labels a Service must carry.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Namespaces searched; the registry's own when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Name of the Service port a discovered tool is reached on; the Service's first port
    /// when omitted. A Service without a port of that name is discovered but unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// `ToolRegistry.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRegistryStatus {
    /// `Ready` when every tool found is available, `Degraded` when some are, `Failed` when
    /// none is or the spec is invalid.
    #[serde(default)]
    pub phase: RegistryPhase,
    /// Tools found: inline, upstream, discovered Services and member Tools.
    #[serde(default, alias = "discoveredCount")]
    pub discovered_tools: u32,
    /// Of those, the ones available (a member Tool counts when its phase is `Ready`).
    #[serde(default, alias = "availableCount")]
    pub available_tools: u32,
    /// Each tool found, where it comes from, and whether it is available.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<RegistryMember>,
    /// `Validated`, `ToolsDiscovered` (at least one tool found) and `AllToolsReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Where a tool of a registry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum MemberSource {
    /// Declared in `spec.tools`.
    Inline,
    /// An upstream MCP server of `spec.upstreams` (its tools are imported by the gateway).
    Upstream,
    /// A Service labelled `toolkit.dev/tool: "true"` (or `omnia.altairalabs.ai/tool: "true"`).
    Service,
    /// A `Tool` carrying `spec.discovery.matchLabels`.
    Tool,
}

/// One tool a registry found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryMember {
    /// The tool's name (for a Service, its `tool-name` annotation or the Service's name).
    pub name: String,
    /// Where it comes from.
    pub source: MemberSource,
    /// The namespace of a discovered Service or member Tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Where a discovered Service is reached: `http://NAME.NAMESPACE.svc:PORT/PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// What it does, from the Service's `tool-description` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it can be served.
    pub available: bool,
    /// Why it is not available, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
