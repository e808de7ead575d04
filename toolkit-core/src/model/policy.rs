//! `ApprovalPolicy`: namespace-wide approval settings (the k13d `tool_approval` shape).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::Condition;
use crate::duration::Duration;

/// How calls of command and SQL tools in a namespace are approved.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "toolkit.dev",
    version = "v1alpha1",
    kind = "ApprovalPolicy",
    namespaced,
    doc = "How the calls of command and SQL tools in a namespace are approved: what runs on its own, what waits for a person, what is refused.",
    shortname = "ap",
    category = "toolkit",
    status = "ApprovalPolicyStatus",
    printcolumn = r#"{"name":"Valid","type":"string","jsonPath":".status.conditions[?(@.type==\"Validated\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalPolicySpec {
    /// Read-only calls run without approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approve_read_only: Option<bool>,
    /// Writes wait for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval_for_write: Option<bool>,
    /// Sensitive reads (Secrets, raw kubeconfigs, credentials, local data sent to the network)
    /// wait for a human; the default is `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval_for_sensitive: Option<bool>,
    /// Unclassifiable calls wait for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval_for_unknown: Option<bool>,
    /// Dangerous calls are refused outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_dangerous: Option<bool>,
    /// How long a call waits for a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<Duration>,
    /// Command patterns that are always refused, matched against the parsed command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_patterns: Vec<String>,
}

/// `ApprovalPolicy.status`, written by the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalPolicyStatus {
    /// `Validated`: the policy passes the checks local mode applies (known fields, blocked
    /// patterns that compile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
