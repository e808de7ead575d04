//! `ToolRegistry`: a named group of tools, inline or discovered.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::ToolSpec;
use super::status::{Condition, RegistryPhase};

/// Groups tools and discovers them.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "toolkit.dev",
    version = "v1alpha1",
    kind = "ToolRegistry",
    namespaced,
    status = "ToolRegistryStatus",
    shortname = "tlr",
    category = "toolkit",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Available","type":"integer","jsonPath":".status.availableCount"}"#,
    printcolumn = r#"{"name":"Discovered","type":"integer","jsonPath":".status.discoveredCount"}"#
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
