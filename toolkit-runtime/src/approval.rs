//! The approval step of the call pipeline.
//!
//! Tools whose type takes commands (`bash`, `ssh`, `kubectl`) have every call classified by
//! `toolkit-policy`; SQL tools only when they declare `spec.approval` (otherwise `readOnly`
//! alone governs them); any other tool only with `approval.required: always`. The namespace's
//! `ApprovalPolicy` (k13d's defaults when there is none) and the tool's `approval.required`
//! then decide: allow runs the call, block refuses it, and a call that needs approval is
//! recorded as pending in the state store and waits until someone other than its caller
//! approves or rejects it (`toolkit approvals ...`, from any process sharing the state
//! directory), or until the approval timeout. A call dropped while it waits (its client went
//! away or cancelled) withdraws its request, which is then marked expired.

use std::time::Duration;

use serde_json::{Map, Value};
use toolkit_core::model::{ApprovalRequired, OnTimeout};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{Action, ApprovalSettings, Class, CommandKind, Reason, Verdict, classify, decide};
use toolkit_state::{ApprovalState, NewApproval, StateStore};

use crate::pipeline::CallObserver;
use crate::{Caller, PreparedTool, Runtime};

/// How long a call waits for a decision when neither the tool nor the policy says.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);

/// How often a waiting call tells its observer that it still waits.
const NOTICE_EVERY: Duration = Duration::from_secs(5);

/// How often a waiting call looks for a decision.
const POLL: Duration = Duration::from_millis(200);

impl Runtime {
    /// Classifies and decides one call; waits for a person when the decision says so. Sets the
    /// audit decision; an error refuses the call.
    pub(crate) async fn approval_step(
        &self,
        tool: &PreparedTool,
        caller: &Caller,
        args: &Map<String, Value>,
        audited_args: Value,
        decision: &mut String,
        observer: Option<&dyn CallObserver>,
    ) -> Result<()> {
        let spec = tool.spec();
        let required = spec.approval.as_ref().map(|a| a.required).unwrap_or_default();
        let verdict = match CommandKind::for_tool_type(spec.type_) {
            Some(kind @ (CommandKind::Shell | CommandKind::Kubectl)) => {
                classify(kind, args.get("command").and_then(Value::as_str).unwrap_or_default())
            }
            Some(kind @ CommandKind::Sql(_)) if spec.approval.is_some() => {
                classify(kind, args.get("query").and_then(Value::as_str).unwrap_or_default())
            }
            _ if required == ApprovalRequired::Always => Verdict::from_reasons(vec![Reason {
                class: Class::Unknown,
                part: "*".into(),
                rule: "approval.always",
                message: "the tool asks for approval of every call".into(),
            }]),
            _ => return Ok(()),
        };
        let policy = self.catalog().approval_policies.iter().find(|(r, _)| r.namespace == tool.reference().namespace);
        let (settings, policy_timeout) = match policy {
            Some((reference, (p, _))) => (
                ApprovalSettings::from_spec(&p.spec)
                    .map_err(|e| Error::config(format!("apply approvalpolicy {reference}: {}", e.message())))?,
                p.spec.approval_timeout.map(|d| d.0),
            ),
            None => (ApprovalSettings::default(), None),
        };
        let verdict_decision = decide(&verdict, &settings, required);
        let reasons: Vec<String> = verdict_decision.reasons.iter().map(ToString::to_string).collect();
        match verdict_decision.action {
            Action::Allow => {
                *decision = format!("auto-approved ({})", verdict.class);
                return Ok(());
            }
            Action::Block => {
                *decision = format!("blocked: {}", reasons.join("; "));
                return Err(Error::new(ErrorKind::Denied, format!("policy blocked the call: {}", reasons.join("; "))));
            }
            Action::RequireApproval => {}
        }
        let timeout = spec.approval.as_ref().and_then(|a| a.timeout).map(|d| d.0).or(policy_timeout);
        let timeout = timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
        let on_timeout = spec.approval.as_ref().map(|a| a.on_timeout).unwrap_or_default();
        let expires_at = chrono::Utc::now() + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
        let id = self
            .state()
            .request_approval(&NewApproval {
                tool: tool.reference(),
                caller: &caller.id,
                arguments: &audited_args,
                class: verdict.class.as_str(),
                reasons: &reasons,
                expires_at,
            })
            .await?;
        tracing::warn!(
            tool = %tool.reference(),
            caller = %caller.id,
            "call waits for approval: toolkit approvals approve {id} (or reject {id}), within {timeout:?}"
        );
        // A call dropped while it waits (its client went away or cancelled) takes its request
        // off the list instead of leaving it pending for someone to approve in vain.
        let mut withdraw = Withdraw { state: Some(self.state().clone()), id };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut next_notice = tokio::time::Instant::now();
        let record = loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break self.state().expire_approval(id).await?;
            }
            if let Some(observer) = observer
                && now >= next_notice
            {
                let left = (deadline - now).as_secs();
                observer.waiting(&format!(
                    "waiting for approval {id}: `toolkit approvals approve {id}` (or reject {id}); {left}s left"
                ));
                next_notice = now + NOTICE_EVERY;
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
            match self.state().approval(id).await? {
                Some(r) if r.state != ApprovalState::Pending => break r,
                Some(_) => {}
                None => return Err(Error::internal(format!("wait for approval {id}: the request disappeared"))),
            }
        };
        withdraw.state = None;
        let by = record.decided_by.as_deref().unwrap_or("?");
        match record.state {
            ApprovalState::Approved => {
                *decision = format!("approved by {by}");
                Ok(())
            }
            ApprovalState::Rejected => {
                let why = record.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                *decision = format!("rejected by {by}{why}");
                Err(Error::new(ErrorKind::Denied, format!("approval request {id} was rejected by {by}{why}")))
            }
            ApprovalState::Expired | ApprovalState::Pending if on_timeout == OnTimeout::Proceed => {
                *decision = "timed out, proceeded (onTimeout: proceed)".into();
                Ok(())
            }
            ApprovalState::Expired | ApprovalState::Pending => {
                *decision = "timed out".into();
                Err(Error::new(ErrorKind::Denied, format!("approval request {id} was not decided within {timeout:?}")))
            }
        }
    }
}

/// Expires a pending request when the call waiting on it is dropped before it ends.
struct Withdraw {
    state: Option<StateStore>,
    id: i64,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        let (Some(state), Ok(handle)) = (self.state.take(), tokio::runtime::Handle::try_current()) else { return };
        let id = self.id;
        handle.spawn(async move {
            if let Err(e) = state.expire_approval(id).await {
                tracing::warn!(id, error = %e, "could not withdraw the approval request of a dropped call");
            }
        });
    }
}
