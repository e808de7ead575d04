//! k13d configuration files (`config.yaml`, no `apiVersion`).
//!
//! `authorization.tool_approval` becomes an `ApprovalPolicy`, with k13d's defaults written out
//! for the settings the file leaves unset (k13d fills them in the same way). Each entry of
//! `tools.custom` becomes a `bash` tool whose script is the entry's command. k13d configuration
//! has no namespaces, so everything lands in `default`. The rest of the file (models, storage,
//! credentials...) is not about tools; its sections are named in a note, never their contents.

use serde_yaml::Value as Yaml;

use crate::Converted;
use crate::fields::{Fields, document, named, object_name, tool_document};
use toolkit_core::duration::Duration;
use toolkit_core::model::{
    ApprovalPolicy, ApprovalPolicySpec, ApprovalRequired, ApprovalSpec, DEFAULT_NAMESPACE, ToolSpec,
};
use toolkit_core::validate::FieldError;

/// The name of the ApprovalPolicy made from `authorization.tool_approval`.
pub(crate) const POLICY_NAME: &str = "k13d-tool-approval";

/// Converts one k13d configuration file.
pub(crate) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    let mut notes = Vec::new();
    let mut documents = Vec::new();
    let mut skipped: Vec<String> =
        root.keys().filter(|k| !matches!(*k, "authorization" | "tools")).map(str::to_owned).collect();

    if let Some(authorization) = root.map("authorization")? {
        skipped.extend(authorization.keys().filter(|k| *k != "tool_approval").map(|k| authorization.at(k)));
        if let Some(approval) = authorization.map("tool_approval")? {
            let mut policy = ApprovalPolicy::new(POLICY_NAME, policy(&approval)?);
            policy.metadata.namespace = Some(DEFAULT_NAMESPACE.to_owned());
            documents.push(document(&policy)?);
            notes.push(format!("authorization.tool_approval became ApprovalPolicy {DEFAULT_NAMESPACE}/{POLICY_NAME}"));
        }
    }
    if let Some(tools) = root.map("tools")? {
        skipped.extend(tools.keys().filter(|k| *k != "custom").map(|k| tools.at(k)));
        for tool in tools.maps("custom")? {
            documents.push(custom_tool(&tool, &mut notes)?);
        }
    }
    if !skipped.is_empty() {
        notes.push(format!("k13d settings not about tools were not imported: {}", skipped.join(", ")));
    }
    Ok(Converted { documents, notes, deferred: Vec::new() })
}

/// `tool_approval`, with k13d's defaults for what the file leaves out.
fn policy(approval: &Fields<'_>) -> Result<ApprovalPolicySpec, FieldError> {
    approval.allow(&[
        "auto_approve_read_only",
        "require_approval_for_write",
        "require_approval_for_unknown",
        "block_dangerous",
        "blocked_patterns",
        "approval_timeout_seconds",
    ])?;
    let timeout = match approval.u32("approval_timeout_seconds")? {
        None => 60,
        Some(0) => {
            return Err(FieldError::new(approval.at("approval_timeout_seconds"), "must be at least 1"));
        }
        Some(seconds) => seconds,
    };
    Ok(ApprovalPolicySpec {
        auto_approve_read_only: Some(approval.bool("auto_approve_read_only")?.unwrap_or(true)),
        require_approval_for_write: Some(approval.bool("require_approval_for_write")?.unwrap_or(true)),
        require_approval_for_unknown: Some(approval.bool("require_approval_for_unknown")?.unwrap_or(true)),
        require_approval_for_sensitive: None,
        block_dangerous: Some(approval.bool("block_dangerous")?.unwrap_or(false)),
        approval_timeout: Some(Duration::from_secs(u64::from(timeout))),
        blocked_patterns: approval.strings("blocked_patterns")?,
    })
}

/// One `tools.custom` entry: `{name, description, command, require_approval}`.
fn custom_tool(tool: &Fields<'_>, notes: &mut Vec<String>) -> Result<Yaml, FieldError> {
    tool.allow(&["name", "description", "command", "require_approval"])?;
    let original = tool.required_str("name")?;
    let name = object_name(original)
        .ok_or_else(|| FieldError::new(tool.at("name"), format!("`{original}` gives no valid tool name")))?;
    if name != original {
        notes.push(format!(
            "{}: tool `{original}` is named `{name}` (Kubernetes names cannot hold `_`)",
            tool.at("name")
        ));
    }
    // `require_approval: false` leaves the decision to the namespace's ApprovalPolicy rather than
    // exempting a shell command from approval on import.
    let approval = match tool.bool("require_approval")? {
        Some(true) => Some(ApprovalSpec { required: ApprovalRequired::Always, ..ApprovalSpec::default() }),
        _ => None,
    };
    let spec =
        ToolSpec { type_: "bash".into(), description: tool.string("description")?, approval, ..ToolSpec::default() }
            .with_block("command", crate::native::Command { script: tool.required_str("command")?.to_owned() });
    tool_document(named(&name, Some(DEFAULT_NAMESPACE)), spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::manifest::parse;
    use toolkit_core::model::Tool;

    fn run(text: &str) -> Result<Converted, FieldError> {
        convert(&serde_yaml::from_str(text).unwrap())
    }

    #[test]
    fn tool_approval_becomes_a_policy() {
        let out =
            run("authorization:\n  default_tui_role: admin\n  tool_approval:\n    auto_approve_read_only: false\n\
             \x20   blocked_patterns: ['rm -rf /']\n    approval_timeout_seconds: 90\nllm: {api_key: sk-hunter2}\n")
            .unwrap();
        let policy: ApprovalPolicy = parse(out.documents[0].clone()).unwrap();
        assert_eq!(policy.metadata.name.as_deref(), Some(POLICY_NAME));
        let spec = policy.spec;
        assert_eq!(spec.auto_approve_read_only, Some(false));
        assert_eq!(spec.require_approval_for_write, Some(true));
        assert_eq!(spec.approval_timeout, Some(Duration::from_secs(90)));
        assert_eq!(spec.blocked_patterns, ["rm -rf /"]);
        let notes = out.notes.join("\n");
        assert!(notes.contains("llm, authorization.default_tui_role"), "{notes}");
        assert!(!notes.contains("hunter2"), "{notes}");
    }

    #[test]
    fn custom_tools_become_bash_tools() {
        let out = run("tools:\n  custom:\n  - {name: my_tool, description: d, command: /path/to/script.sh, require_approval: true}\n").unwrap();
        let tool: Tool = parse(out.documents[0].clone()).unwrap();
        assert_eq!(tool.metadata.name.as_deref(), Some("my-tool"));
        assert_eq!(tool.spec.type_, "bash");
        assert_eq!(tool.spec.blocks["command"]["script"], "/path/to/script.sh");
        assert_eq!(tool.spec.approval.unwrap().required, ApprovalRequired::Always);
        assert!(out.notes[0].contains("`my_tool` is named `my-tool`"), "{:?}", out.notes);
    }

    #[test]
    fn refusals_name_the_field() {
        let err = run("tools:\n  custom:\n  - {name: t, command: x, args: [a]}\n").unwrap_err();
        assert_eq!(err.path, "tools.custom[0].args");
        let err = run("authorization:\n  tool_approval: {approval_timeout_seconds: soon}\n").unwrap_err();
        assert_eq!(err.path, "authorization.tool_approval.approval_timeout_seconds");
    }
}
