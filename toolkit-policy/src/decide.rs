//! What to do with a classified call: allow it, ask a person, or block it.
//!
//! [`decide`] is pure. It takes a [`Verdict`], the namespace's approval settings (k13d's
//! `tool_approval` shape, [`ApprovalSettings`]) and the tool's own `approval.required`
//! (`always`, `never`, `auto`), and applies, in order:
//!
//! 1. an interactive part blocks the call, whatever the settings (nobody is at a terminal);
//! 2. a part matching a blocked pattern blocks it;
//! 3. a dangerous part blocks it when `blockDangerous` is on, and otherwise needs approval
//!    (unless the tool says `never`);
//! 4. `always` needs approval for anything not blocked; `never` allows it;
//! 5. `auto` goes by class: read is allowed when `autoApproveReadOnly` is on (else needs
//!    approval), sensitive needs approval when `requireApprovalForSensitive` is on, write when
//!    `requireApprovalForWrite` is on, unknown when `requireApprovalForUnknown` is on; otherwise
//!    they are allowed. A sensitive part needs approval by that setting also when a write sets
//!    the class (`kubectl get secret x -o yaml > s.yaml` with writes allowed still asks).
//!
//! Settings left out of an `ApprovalPolicy` take the safe side: auto-approve reads, approve
//! sensitive reads, writes and unknowns, block dangerous commands.

use serde::Serialize;
use toolkit_core::Result;
use toolkit_core::model::{ApprovalPolicySpec, ApprovalRequired};

use crate::patterns::BlockedPatterns;
use crate::verdict::{Class, Finding, Reason, Verdict};

/// Approval settings of a namespace (an `ApprovalPolicy`, or k13d's `tool_approval`).
#[derive(Clone, Debug)]
pub struct ApprovalSettings {
    /// Reads run without approval.
    pub auto_approve_read_only: bool,
    /// Sensitive reads (secrets, credentials, local data sent to the network) wait for a person.
    pub require_approval_for_sensitive: bool,
    /// Writes wait for a person.
    pub require_approval_for_write: bool,
    /// Calls that could not be classified wait for a person.
    pub require_approval_for_unknown: bool,
    /// Dangerous calls are refused outright.
    pub block_dangerous: bool,
    /// Commands that are always refused.
    pub blocked_patterns: BlockedPatterns,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            auto_approve_read_only: true,
            require_approval_for_sensitive: true,
            require_approval_for_write: true,
            require_approval_for_unknown: true,
            block_dangerous: true,
            blocked_patterns: BlockedPatterns::default(),
        }
    }
}

impl ApprovalSettings {
    /// Settings from an `ApprovalPolicy` spec; an invalid blocked pattern is a configuration
    /// error.
    pub fn from_spec(spec: &ApprovalPolicySpec) -> Result<Self> {
        let d = ApprovalSettings::default();
        Ok(ApprovalSettings {
            auto_approve_read_only: spec.auto_approve_read_only.unwrap_or(d.auto_approve_read_only),
            require_approval_for_sensitive: spec
                .require_approval_for_sensitive
                .unwrap_or(d.require_approval_for_sensitive),
            require_approval_for_write: spec.require_approval_for_write.unwrap_or(d.require_approval_for_write),
            require_approval_for_unknown: spec.require_approval_for_unknown.unwrap_or(d.require_approval_for_unknown),
            block_dangerous: spec.block_dangerous.unwrap_or(d.block_dangerous),
            blocked_patterns: BlockedPatterns::compile(&spec.blocked_patterns)?,
        })
    }
}

/// What happens to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Run it.
    Allow,
    /// Wait for a person to approve it.
    RequireApproval,
    /// Refuse it.
    Block,
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// What happens.
    pub action: Action,
    /// The verdict's class.
    pub class: Class,
    /// Why: the rule of the decision, then the parts that led to it.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// The call is refused.
    pub fn blocked(&self) -> bool {
        self.action == Action::Block
    }

    /// The call waits for a person.
    pub fn requires_approval(&self) -> bool {
        self.action == Action::RequireApproval
    }
}

/// Decides what happens to a call classified as `verdict`.
pub fn decide(verdict: &Verdict, settings: &ApprovalSettings, approval: ApprovalRequired) -> Decision {
    let of = |class: Class| verdict.reasons.iter().filter(move |r| r.class == class).cloned();
    let done = |action: Action, rule: &'static str, message: String, parts: Vec<Reason>| {
        let mut reasons = vec![Finding::new(verdict.class, rule, message).at("*")];
        reasons.extend(parts);
        Decision { action, class: verdict.class, reasons }
    };

    if verdict.has(Class::Interactive) {
        return done(
            Action::Block,
            "approval.interactive",
            "interactive commands are always refused: nobody is at a terminal".into(),
            of(Class::Interactive).collect(),
        );
    }
    let matched = settings.blocked_patterns.matches(verdict);
    if !matched.is_empty() {
        return done(Action::Block, "approval.blocked-pattern", "a blocked pattern matches".into(), matched);
    }
    if verdict.has(Class::Dangerous) {
        if settings.block_dangerous {
            return done(
                Action::Block,
                "approval.block-dangerous",
                "dangerous commands are refused (blockDangerous)".into(),
                of(Class::Dangerous).collect(),
            );
        }
        if approval != ApprovalRequired::Never {
            return done(
                Action::RequireApproval,
                "approval.dangerous",
                "dangerous commands need approval".into(),
                of(Class::Dangerous).collect(),
            );
        }
    }
    let decisive: Vec<Reason> = verdict.decisive().cloned().collect();
    match approval {
        ApprovalRequired::Always => {
            return done(
                Action::RequireApproval,
                "approval.always",
                "the tool requires approval of every call".into(),
                decisive,
            );
        }
        ApprovalRequired::Never => {
            return done(Action::Allow, "approval.never", "the tool requires no approval".into(), decisive);
        }
        ApprovalRequired::Auto => {}
    }
    if verdict.class > Class::Sensitive && verdict.has(Class::Sensitive) && settings.require_approval_for_sensitive {
        let needs_anyway = match verdict.class {
            Class::Write => !settings.require_approval_for_write,
            Class::Unknown => !settings.require_approval_for_unknown,
            _ => false,
        };
        if needs_anyway {
            return done(
                Action::RequireApproval,
                "approval.sensitive",
                "needs approval: reads secrets or sends local data out (requireApprovalForSensitive)".into(),
                of(Class::Sensitive).collect(),
            );
        }
    }
    let (needs, rule, message) = match verdict.class {
        Class::Read => (!settings.auto_approve_read_only, "approval.read", "reads (autoApproveReadOnly)"),
        Class::Sensitive => (
            settings.require_approval_for_sensitive,
            "approval.sensitive",
            "reads secrets or sends local data out (requireApprovalForSensitive)",
        ),
        Class::Write => (settings.require_approval_for_write, "approval.write", "writes (requireApprovalForWrite)"),
        Class::Unknown => (
            settings.require_approval_for_unknown,
            "approval.unknown",
            "cannot be classified (requireApprovalForUnknown)",
        ),
        // Both were handled above; kept for exhaustiveness.
        Class::Interactive | Class::Dangerous => (true, "approval.dangerous", "dangerous commands need approval"),
    };
    if needs {
        done(Action::RequireApproval, rule, format!("needs approval: {message}"), decisive)
    } else {
        done(Action::Allow, rule, format!("allowed: {message}"), decisive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::classify;

    fn action(cmd: &str, settings: &ApprovalSettings, approval: ApprovalRequired) -> Action {
        decide(&classify(cmd), settings, approval).action
    }

    #[test]
    fn defaults() {
        let s = ApprovalSettings::default();
        assert_eq!(action("ls", &s, ApprovalRequired::Auto), Action::Allow);
        assert_eq!(action("touch x", &s, ApprovalRequired::Auto), Action::RequireApproval);
        assert_eq!(action("frobnicate", &s, ApprovalRequired::Auto), Action::RequireApproval);
        assert_eq!(action("rm -rf /", &s, ApprovalRequired::Auto), Action::Block);
        assert_eq!(action("vim x", &s, ApprovalRequired::Never), Action::Block);
        assert_eq!(action("ls", &s, ApprovalRequired::Always), Action::RequireApproval);
        assert_eq!(action("touch x", &s, ApprovalRequired::Never), Action::Allow);
    }

    #[test]
    fn k13d_example() {
        // The settings of k13d's documented config.yaml.
        let spec = ApprovalPolicySpec {
            auto_approve_read_only: Some(false),
            require_approval_for_write: Some(true),
            require_approval_for_unknown: Some(true),
            require_approval_for_sensitive: None,
            block_dangerous: Some(false),
            approval_timeout: None,
            blocked_patterns: vec!["rm -rf /".into(), "kubectl delete ns kube-system".into()],
        };
        let s = ApprovalSettings::from_spec(&spec).expect("valid");
        assert_eq!(action("ls", &s, ApprovalRequired::Auto), Action::RequireApproval);
        assert_eq!(action("rm -rf /tmp/x", &s, ApprovalRequired::Auto), Action::RequireApproval);
        assert_eq!(action("rm -rf /", &s, ApprovalRequired::Auto), Action::Block);
        assert_eq!(action("rm -rf ~", &s, ApprovalRequired::Auto), Action::RequireApproval);
        assert_eq!(action("kubectl delete namespace kube-system", &s, ApprovalRequired::Never), Action::Block);
        assert_eq!(action("kubectl delete ns dev", &s, ApprovalRequired::Auto), Action::RequireApproval);
    }

    #[test]
    fn sensitive_reads_need_approval_unless_the_policy_allows_them() {
        let s = ApprovalSettings::default();
        let secret = "kubectl get secret db -o yaml";
        assert_eq!(classify(secret).class, Class::Sensitive);
        assert_eq!(action(secret, &s, ApprovalRequired::Auto), Action::RequireApproval);
        let allow = ApprovalSettings { require_approval_for_sensitive: false, ..ApprovalSettings::default() };
        assert_eq!(action(secret, &allow, ApprovalRequired::Auto), Action::Allow);
        // A write that carries a sensitive read still asks when writes alone would not.
        let writes_ok = ApprovalSettings { require_approval_for_write: false, ..ApprovalSettings::default() };
        let d = decide(&classify("kubectl get secret db -o yaml > s.yaml"), &writes_ok, ApprovalRequired::Auto);
        assert_eq!((d.class, d.action), (Class::Write, Action::RequireApproval));
        assert_eq!(d.reasons[0].rule, "approval.sensitive");
        assert_eq!(action("touch x", &writes_ok, ApprovalRequired::Auto), Action::Allow);
    }

    #[test]
    fn reasons_name_the_rule() {
        let d = decide(&classify("ls; rm -rf /"), &ApprovalSettings::default(), ApprovalRequired::Auto);
        assert!(d.blocked());
        assert_eq!(d.reasons[0].rule, "approval.block-dangerous");
        assert!(d.reasons.iter().any(|r| r.rule == "shell.rm.recursive-broad" && r.part == "rm -rf /"));
    }
}
