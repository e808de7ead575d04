//! Status of `Tool` and `ToolRegistry`.

use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a tool stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ToolPhase {
    /// Not probed yet.
    #[default]
    Pending,
    /// Valid and reachable.
    Ready,
    /// Reachable with problems, or failing some calls.
    Degraded,
    /// Invalid, or its probe failed.
    Error,
    /// `enabled: false`.
    Disabled,
}

impl ToolPhase {
    /// The name as written in status.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolPhase::Pending => "Pending",
            ToolPhase::Ready => "Ready",
            ToolPhase::Degraded => "Degraded",
            ToolPhase::Error => "Error",
            ToolPhase::Disabled => "Disabled",
        }
    }
}

impl fmt::Display for ToolPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ToolPhase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "Pending" => ToolPhase::Pending,
            "Ready" => ToolPhase::Ready,
            "Degraded" => ToolPhase::Degraded,
            "Error" => ToolPhase::Error,
            "Disabled" => ToolPhase::Disabled,
            other => return Err(format!("unknown phase `{other}`")),
        })
    }
}

/// A Kubernetes-style condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, such as `Ready` or `Valid`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    pub last_transition_time: DateTime<Utc>,
    /// The generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The outcome of the latest probe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastProbe {
    /// When it ran.
    pub time: DateTime<Utc>,
    /// Whether it succeeded.
    pub ok: bool,
    /// Round-trip time in milliseconds.
    pub latency_ms: f64,
    /// Version reported by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Error kind, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Error message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `Tool.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolStatus {
    /// Where the tool stands.
    #[serde(default)]
    pub phase: ToolPhase,
    /// Conditions (`Valid`, `Ready`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The latest probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe: Option<LastProbe>,
    /// Calls made.
    #[serde(default)]
    pub invocation_count: u64,
    /// Calls that failed.
    #[serde(default)]
    pub error_count: u64,
    /// The latest call error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where a registry stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RegistryPhase {
    /// Not reconciled yet.
    #[default]
    Pending,
    /// Every tool is available.
    Ready,
    /// Some tools are unavailable.
    Degraded,
    /// No tool is available.
    Failed,
}
