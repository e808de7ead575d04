//! The approval step of the pipeline.
//!
//! A request goes through approval when its tool declares `spec.approval`, or when its type
//! says calls always do (`TypeInfo::approval_by_default`: types that take commands, such as
//! bash, ssh and kubectl); its connector's classification (or, for a type that classifies
//! nothing, only `approval.required: always`) is then decided with the namespace's
//! `ApprovalPolicy` (k13d's defaults when there is none) and the tool's `approval.required`:
//! allow runs it, block refuses it, and an agent's call that needs approval is recorded as
//! pending in the state store and waits until someone other than its caller approves or rejects
//! it (`toolkit approvals ...`, from any process sharing the state), or until the approval
//! timeout. A call dropped while it waits (its client went away or cancelled) withdraws its
//! request, which is then marked expired.
//!
//! An [`ApprovalNotifier`] given to the runtime hears of each request when it is recorded and
//! when its waiting call sees it decided (approved, rejected or lapsed), whoever decided it.
//!
//! A person's own command (`toolkit tool exec`) is decided the same way, except that a command
//! needing approval runs: the person running it is the one who approves (audited as
//! `OwnCommand`). Blocked commands stay blocked for people too.

use std::time::Duration;

use serde_json::Value;
use toolkit_core::model::{ApprovalRequired, OnTimeout};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{Action, ApprovalSettings, Class, Reason, Verdict, decide};
use toolkit_state::{ApprovalRecord, ApprovalState, Decision, NewApproval, StateStore};

use crate::pipeline::{CallObserver, Work};
use crate::{Caller, PreparedTool, Runtime};

/// How long a call waits for a decision when neither the tool nor the policy says.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);

/// How often a waiting call tells its observer that it still waits.
const NOTICE_EVERY: Duration = Duration::from_secs(5);

/// How often a waiting call looks for a decision.
const POLL: Duration = Duration::from_millis(200);

/// Told of approval requests: each one as it is recorded, and as its waiting call sees it
/// decided. Called on the call's path: queue the news and return, never wait on the network.
pub trait ApprovalNotifier: Send + Sync {
    /// A call waits for a person.
    fn requested(&self, request: &ApprovalRecord);
    /// The request was approved, rejected or lapsed.
    fn decided(&self, request: &ApprovalRecord);
}

impl Runtime {
    /// Passes the request `id`, as stored, to the notifier with `tell`; a failed read is logged.
    async fn notify(&self, id: i64, tell: impl FnOnce(&dyn ApprovalNotifier, &ApprovalRecord)) {
        let Some(notifier) = self.notifier() else { return };
        match self.state().approval(id).await {
            Ok(Some(record)) => tell(notifier.as_ref(), &record),
            Ok(None) => {}
            Err(e) => tracing::warn!(id, error = %e, "could not read the approval request to announce it"),
        }
    }

    /// Decides one request from its classification; waits for a person when the decision says
    /// so. Sets the audit decision; an error refuses the request.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn approval_step(
        &self,
        tool: &PreparedTool,
        caller: &Caller,
        work: Work<'_>,
        verdict: Option<&Verdict>,
        audited_args: Value,
        decision: &mut Decision,
        observer: Option<&dyn CallObserver>,
    ) -> Result<()> {
        let spec = tool.spec();
        let by_default = tool.type_info().is_some_and(|i| i.approval_by_default);
        let required = match &spec.approval {
            Some(a) => a.required,
            None if by_default => ApprovalRequired::Auto,
            None => return Ok(()),
        };
        let verdict = match verdict {
            Some(v) => v.clone(),
            None if required == ApprovalRequired::Always => Verdict::from_reasons(vec![Reason {
                class: Class::Unknown,
                part: "*".into(),
                rule: "unclassified",
                message: "this type of tool does not classify its calls".into(),
            }]),
            None => return Ok(()),
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
                *decision = Decision::AutoApproved { class: verdict.class };
                return Ok(());
            }
            Action::Block => {
                let what = work.noun();
                *decision = Decision::Blocked { reasons: reasons.clone() };
                return Err(Error::new(
                    ErrorKind::Denied,
                    format!("policy blocked the {what}: {}", reasons.join("; ")),
                ));
            }
            Action::RequireApproval if matches!(work, Work::Exec(..)) => {
                *decision = Decision::OwnCommand { class: verdict.class };
                return Ok(());
            }
            Action::RequireApproval => {}
        }
        let timeout = spec.approval.as_ref().and_then(|a| a.timeout).map(|d| d.0).or(policy_timeout);
        let timeout = timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
        let on_timeout = spec.approval.as_ref().map(|a| a.on_timeout).unwrap_or_default();
        let expires_at = chrono::Utc::now() + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
        // The decision is bound to this call: the waiting call checks the hash it reads back.
        let call_hash = toolkit_state::call_hash(tool.reference(), &audited_args);
        let id = self
            .state()
            .request_approval(&NewApproval {
                tool: tool.reference(),
                caller: &caller.id,
                arguments: &audited_args,
                class: verdict.class.as_str(),
                reasons: &reasons,
                expires_at,
                call_hash: &call_hash,
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
        self.notify(id, |n, r| n.requested(r)).await;
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
        if record.call_hash.as_deref().is_some_and(|h| h != call_hash) || record.tool != *tool.reference() {
            *decision = Decision::Blocked { reasons: vec!["the approval request no longer matches the call".into()] };
            return Err(Error::new(
                ErrorKind::Denied,
                format!("approval request {id} was changed after it was asked: it is not this call's any more"),
            ));
        }
        if let Some(notifier) = self.notifier() {
            notifier.decided(&record);
        }
        let by = record.decided_by.as_deref().unwrap_or("?");
        match record.state {
            ApprovalState::Approved => {
                *decision = Decision::Approved { by: by.to_owned() };
                Ok(())
            }
            ApprovalState::Rejected => {
                let why = record.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                *decision = Decision::Rejected { by: by.to_owned(), reason: record.reason.clone() };
                Err(Error::new(ErrorKind::Denied, format!("approval request {id} was rejected by {by}{why}")))
            }
            ApprovalState::Expired | ApprovalState::Pending if on_timeout == OnTimeout::Proceed => {
                *decision = Decision::TimeoutProceeded;
                Ok(())
            }
            ApprovalState::Expired | ApprovalState::Pending => {
                *decision = Decision::TimedOut;
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
