//! What a reconcile found, as `Tool.status`: the three conditions, the phase they lead to,
//! whether the status changed enough to be written, and which transitions deserve an Event.
//! Everything here is pure; the reconciler gathers the findings.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use toolkit_core::model::{Condition, LastProbe, ToolPhase, ToolStatus};

/// The objects the spec names in the cluster (an `MCPServer`, an agent's Service) exist and
/// were read; only tools that name such objects have this condition.
pub const REFERENCES_RESOLVED: &str = "ReferencesResolved";
/// The spec passes the checks of `toolkit validate`.
pub const VALIDATED: &str = "Validated";
/// Every Secret and ConfigMap key the spec names exists and was read.
pub const CREDENTIALS_RESOLVED: &str = "CredentialsResolved";
/// The latest probe succeeded.
pub const READY: &str = "Ready";
/// `spec.permissions` in `declare` mode: the plan was made and recorded in the status.
pub const PERMISSIONS_DECLARED: &str = "PermissionsDeclared";
/// `spec.permissions` in `enforce` mode: the plan was applied.
pub const PERMISSIONS_APPLIED: &str = "PermissionsApplied";
/// Sessions of the tool can run in bastion pods (its type has a pod session and its
/// credentials resolve); only tools whose type has pod sessions have this condition, and it
/// does not decide the phase.
pub const BASTION_READY: &str = "BastionReady";

/// One condition as a reconcile found it, before it gets its transition time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    /// A CamelCase reason.
    pub reason: &'static str,
    /// One line for people, never a secret.
    pub message: String,
}

impl Finding {
    /// A condition that holds.
    pub fn yes(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: "True", reason, message: message.into() }
    }

    /// A condition that does not hold.
    pub fn no(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: "False", reason, message: message.into() }
    }

    /// A condition that was not checked, because an earlier one failed.
    pub fn unknown(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: "Unknown", reason, message: message.into() }
    }
}

/// What one reconcile of a tool found.
#[derive(Clone, Debug)]
pub struct Findings {
    /// Whether `spec.enabled` is false.
    pub disabled: bool,
    /// The `ReferencesResolved` condition, for a tool that names objects of the cluster.
    pub references: Option<Finding>,
    /// The `Validated` condition.
    pub validated: Finding,
    /// The `CredentialsResolved` condition.
    pub credentials: Finding,
    /// The `Ready` condition.
    pub ready: Finding,
    /// The probe that ran, if one did.
    pub probe: Option<LastProbe>,
    /// The `BastionReady` condition, for a type with pod sessions.
    pub bastion: Option<Finding>,
    /// Bastion sessions open now.
    pub active_sessions: u32,
    /// `PermissionsDeclared` or `PermissionsApplied`, and the plan, for a tool with
    /// `spec.permissions` that could be reached.
    pub permissions: Option<(&'static str, Finding, toolkit_core::model::PermissionsStatus)>,
}

impl Findings {
    /// The phase the conditions lead to: `Disabled` when the tool is off, `Failed` when any
    /// condition is `False`, `Ready` when all three are `True`, `Pending` otherwise.
    pub fn phase(&self) -> ToolPhase {
        let all: Vec<&Finding> = self.conditions().into_iter().map(|(_, f)| f).collect();
        if self.disabled {
            ToolPhase::Disabled
        } else if all.iter().any(|c| c.status == "False") {
            ToolPhase::Failed
        } else if all.iter().all(|c| c.status == "True") {
            ToolPhase::Ready
        } else {
            ToolPhase::Pending
        }
    }

    /// The condition that decided the phase: the first that does not hold, else `Ready`.
    pub fn deciding(&self) -> (&'static str, &Finding) {
        self.conditions().into_iter().find(|(_, c)| c.status != "True").unwrap_or((READY, &self.ready))
    }

    /// The conditions in the order they are checked.
    fn conditions(&self) -> Vec<(&'static str, &Finding)> {
        let mut all = Vec::with_capacity(4);
        if let Some(r) = &self.references {
            all.push((REFERENCES_RESOLVED, r));
        }
        all.extend([(VALIDATED, &self.validated), (CREDENTIALS_RESOLVED, &self.credentials), (READY, &self.ready)]);
        all
    }

    /// The status to write over `old`: conditions keep their transition time while their
    /// status stays, and the last probe stays when no probe ran this time.
    pub fn status(&self, old: &ToolStatus, generation: Option<i64>, now: DateTime<Utc>) -> ToolStatus {
        let condition = |type_: &str, f: &Finding| {
            let previous = old.conditions.iter().find(|c| c.type_ == type_);
            Condition {
                type_: type_.to_owned(),
                status: f.status.to_owned(),
                reason: Some(f.reason.to_owned()),
                message: Some(f.message.clone()),
                last_transition_time: match previous {
                    Some(p) if p.status == f.status => p.last_transition_time,
                    _ => now,
                },
                observed_generation: generation,
            }
        };
        ToolStatus {
            phase: self.phase(),
            conditions: self
                .conditions()
                .into_iter()
                .chain(self.permissions.as_ref().map(|(type_, f, _)| (*type_, f)))
                .chain(self.bastion.as_ref().map(|b| (BASTION_READY, b)))
                .map(|(type_, f)| condition(type_, f))
                .collect(),
            observed_generation: generation,
            last_probe: self.probe.clone().or_else(|| old.last_probe.clone()),
            invocation_count: old.invocation_count,
            error_count: old.error_count,
            last_error: old.last_error.clone(),
            active_sessions: self.active_sessions,
            // A plan stays until the tool is reached again.
            permissions: self.permissions.as_ref().map(|(_, _, p)| p.clone()).or_else(|| old.permissions.clone()),
        }
    }
}

/// The reason of a failed probe, from its error's kind: a wrong password is
/// `AuthenticationFailed`, never just "not ready".
pub fn probe_reason(error_kind: Option<&str>) -> &'static str {
    match error_kind {
        Some("auth") => "AuthenticationFailed",
        Some("unreachable") => "Unreachable",
        Some("timeout") => "ProbeTimeout",
        Some("denied") => "PermissionDenied",
        Some("config" | "invalid_input") => "ConfigurationRejected",
        _ => "ProbeFailed",
    }
}

/// The JSON merge patch that turns `old` into `new`: changed values, and `null` for what `new`
/// no longer has (a merge patch would otherwise keep `lastProbe.error` after a probe succeeds).
pub fn merge_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for key in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, value) in n {
                match o.get(key) {
                    Some(before) if before == value => {}
                    Some(before @ Value::Object(_)) if value.is_object() => {
                        patch.insert(key.clone(), merge_patch(before, value));
                    }
                    _ => {
                        patch.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

/// Whether `new` says something `old` does not: anything but the time and latency of the probe
/// (which change at every probe) and condition transition times. A probe older than `refresh`
/// is worth writing anew, so that `Last Probe` stays true.
pub fn worth_writing(old: &ToolStatus, new: &ToolStatus, refresh: chrono::Duration) -> bool {
    let strip = |s: &ToolStatus| {
        let mut s = s.clone();
        if let Some(p) = s.last_probe.as_mut() {
            p.time = DateTime::<Utc>::MIN_UTC;
            p.latency_ms = 0.0;
        }
        s
    };
    if strip(old) != strip(new) {
        return true;
    }
    match (&old.last_probe, &new.last_probe) {
        (Some(o), Some(n)) => n.time - o.time >= refresh,
        _ => false,
    }
}

/// Whether going from `old` to `new` is a transition worth an Event: another phase, or the same
/// phase for another reason (a wrong password after the server went away).
pub fn is_transition(old: &ToolStatus, new: &ToolStatus) -> bool {
    let main = [REFERENCES_RESOLVED, VALIDATED, CREDENTIALS_RESOLVED, READY];
    let deciding = |s: &ToolStatus| {
        s.conditions
            .iter()
            .filter(|c| main.contains(&c.type_.as_str()))
            .find(|c| c.status != "True")
            .or_else(|| s.conditions.iter().find(|c| c.type_ == READY))
            .map(|c| (c.type_.clone(), c.reason.clone()))
    };
    old.phase != new.phase || old.conditions.is_empty() || deciding(old) != deciding(new)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ready() -> Findings {
        Findings {
            disabled: false,
            references: None,
            validated: Finding::yes("Valid", "the spec is valid"),
            credentials: Finding::yes("Resolved", "1 secret key resolved"),
            ready: Finding::yes("ProbeSucceeded", "answered"),
            probe: None,
            bastion: None,
            active_sessions: 0,
            permissions: None,
        }
    }

    #[test]
    fn phase_follows_the_conditions() {
        let mut f = ready();
        assert_eq!(f.phase(), ToolPhase::Ready);
        f.ready = Finding::unknown("NotProbed", "waiting");
        assert_eq!(f.phase(), ToolPhase::Pending);
        f.credentials = Finding::no("SecretNotFound", "spec.config.credentialsRef: secret x does not exist");
        assert_eq!(f.phase(), ToolPhase::Failed);
        assert_eq!(f.deciding().0, CREDENTIALS_RESOLVED);
        f.disabled = true;
        assert_eq!(f.phase(), ToolPhase::Disabled);
    }

    #[test]
    fn transition_times_stay_while_the_status_stays() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let t1 = DateTime::<Utc>::from_timestamp(2_000, 0).unwrap();
        let first = ready().status(&ToolStatus::default(), Some(1), t0);
        let second = ready().status(&first, Some(1), t1);
        assert!(second.conditions.iter().all(|c| c.last_transition_time == t0));
        assert!(!worth_writing(&first, &second, chrono::Duration::minutes(1)));
        assert!(!is_transition(&first, &second));
        let mut failed = ready();
        failed.ready = Finding::no("AuthenticationFailed", "password authentication failed");
        let third = failed.status(&second, Some(1), t1);
        assert_eq!(third.conditions[2].last_transition_time, t1);
        assert!(worth_writing(&second, &third, chrono::Duration::minutes(1)));
        assert!(is_transition(&second, &third));
    }

    #[test]
    fn merge_patch_nulls_what_is_gone() {
        let old = json!({"phase": "Failed", "lastProbe": {"ok": false, "error": "refused"}});
        let new = json!({"phase": "Ready", "lastProbe": {"ok": true}});
        assert_eq!(merge_patch(&old, &new), json!({"phase": "Ready", "lastProbe": {"ok": true, "error": null}}));
    }

    #[test]
    fn probe_reasons_name_authentication() {
        assert_eq!(probe_reason(Some("auth")), "AuthenticationFailed");
        assert_eq!(probe_reason(Some("unreachable")), "Unreachable");
        assert_eq!(probe_reason(None), "ProbeFailed");
    }
}
