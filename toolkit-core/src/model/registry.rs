//! `ToolRegistry`: a named group of tools, inline or discovered.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::ToolSpec;
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
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.discoveredCount","description":"Tools found, inline and discovered"}"#,
    printcolumn = r#"{"name":"Available","type":"integer","jsonPath":".status.availableCount","description":"Tools that are Ready"}"#,
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
}

/// `ToolRegistry.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRegistryStatus {
    /// Where the registry stands.
    #[serde(default)]
    pub phase: RegistryPhase,
    /// Tools found (inline and discovered).
    #[serde(default)]
    pub discovered_count: u32,
    /// Tools that are Ready.
    #[serde(default)]
    pub available_count: u32,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
