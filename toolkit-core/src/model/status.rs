//! Status of `Tool` and `ToolRegistry`.

use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a tool stands, derived from its conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ToolPhase {
    /// Valid, and not probed yet (or its probe has not answered).
    #[default]
    Pending,
    /// Valid, credentials resolved, and the latest probe succeeded.
    Ready,
    /// Invalid, its credentials cannot be resolved, or its latest probe failed. Older state
    /// wrote `Error` and `Degraded`; both read as `Failed`.
    #[serde(alias = "Error", alias = "Degraded")]
    Failed,
    /// `enabled: false`: kept, but neither served nor probed.
    Disabled,
}

impl ToolPhase {
    /// The name as written in status.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolPhase::Pending => "Pending",
            ToolPhase::Ready => "Ready",
            ToolPhase::Failed => "Failed",
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
            "Failed" | "Error" | "Degraded" => ToolPhase::Failed,
            "Disabled" => ToolPhase::Disabled,
            other => return Err(format!("unknown phase `{other}`")),
        })
    }
}

/// A Kubernetes-style condition: one aspect of a resource, `True`, `False` or `Unknown`, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What the condition is about: `Validated`, `CredentialsResolved` or `Ready` on a Tool.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Why, in one CamelCase word (`FieldInvalid`, `SecretNotFound`, `AuthenticationFailed`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why, in one line for people: the field path or the server's answer, never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed.
    pub last_transition_time: DateTime<Utc>,
    /// The `metadata.generation` of the spec the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The outcome of the latest probe: connect, authenticate and ask the server its version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastProbe {
    /// When it ran.
    pub time: DateTime<Utc>,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long the probe took, in milliseconds.
    pub latency_ms: f64,
    /// The version the server reported, when the probe succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The class of the failure (`auth`, `unreachable`, `timeout`...), when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// What failed, in one line with secrets redacted, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `Tool.status`: what the operator (or local mode's state) last found about the tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolStatus {
    /// Where the tool stands: `Pending`, `Ready`, `Failed` or `Disabled`, derived from the
    /// conditions.
    #[serde(default)]
    pub phase: ToolPhase,
    /// `Validated` (the spec passes the checks of `toolkit validate`), `CredentialsResolved`
    /// (every Secret and ConfigMap key it names exists) and `Ready` (the latest probe succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The latest probe; absent until one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe: Option<LastProbe>,
    /// Calls made through a gateway or the CLI.
    #[serde(default)]
    pub invocation_count: u64,
    /// Calls that failed, of those.
    #[serde(default)]
    pub error_count: u64,
    /// The latest call error, with secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Bastion sessions open now (their Lease renewed within the idle timeout).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub active_sessions: u32,
    /// The engine grants planned from `spec.permissions` (and applied, in `enforce` mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsStatus>,
}

/// `Tool.status.permissions`: the plan the operator made from `spec.permissions`, and what the
/// engine said was granted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsStatus {
    /// `declare` (planned only) or `enforce` (applied).
    pub mode: crate::model::PermissionMode,
    /// The engine identity the plan is for.
    #[serde(default)]
    pub principal: String,
    /// The statements (SQL GRANTs, `ACL SETUSER`, RBAC manifests) in the order they apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
    /// What the engine says is granted (after applying, in `enforce` mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub current: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
