//! A person's decision on a call that waits for approval: the one operation that `toolkit
//! approvals approve|reject` and the gateway's console both run. The call that waits audits it
//! (its record's decision reads `approved by …` or `rejected by …: reason`), and the state
//! refuses a decision by the caller who asked, a second decision and a late one.

use toolkit_core::Result;
use toolkit_state::{ApprovalRecord, StateStore};

use crate::Caller;

/// Characters of a reason kept; the rest is cut.
pub const MAX_REASON_CHARS: usize = 500;

/// Approves (`approve`) or rejects request `id` as `decider`, with `reason` trimmed (an empty
/// one is none) and cut to [`MAX_REASON_CHARS`]. Returns the request as decided.
pub async fn decide_approval(
    state: &StateStore,
    id: i64,
    decider: &Caller,
    approve: bool,
    reason: Option<&str>,
) -> Result<ApprovalRecord> {
    let reason: Option<String> =
        reason.map(str::trim).filter(|r| !r.is_empty()).map(|r| r.chars().take(MAX_REASON_CHARS).collect());
    let record = state.decide_approval(id, approve, &decider.id, reason.as_deref()).await?;
    tracing::info!(
        id,
        tool = %record.tool,
        caller = %record.caller,
        by = %decider.id,
        decision = if approve { "approved" } else { "rejected" },
        "approval request decided"
    );
    Ok(record)
}
