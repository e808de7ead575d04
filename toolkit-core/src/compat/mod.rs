//! Peer Tool formats, converted into native `toolkit.dev/v1alpha1` documents.

use serde_yaml::Value as Yaml;

use crate::validate::FieldError;

/// The native documents a peer document converts into.
#[derive(Clone, Debug, Default)]
pub struct Converted {
    /// Native documents (Tool, Secret, ApprovalPolicy...).
    pub documents: Vec<Yaml>,
    /// What was passed over or approximated, one line each.
    pub notes: Vec<String>,
}

/// Whether `value` is a k13d configuration file (it has no `apiVersion`).
pub fn is_k13d_config(value: &Yaml) -> bool {
    value.get("authorization").and_then(|a| a.get("tool_approval")).is_some()
        || value.get("tools").and_then(|t| t.get("custom")).is_some()
}

/// Converts a peer document; `None` when its format is not one toolkit reads.
pub fn convert(value: &Yaml) -> Option<Result<Converted, FieldError>> {
    let _ = value;
    None
}
