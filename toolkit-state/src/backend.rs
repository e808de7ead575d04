//! The operations a state backend offers the runtime, the CLI and the gateway.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use toolkit_core::model::{LastProbe, ToolPhase, ToolStatus};
use toolkit_core::{Result, ToolRef};

use crate::{ApprovalRecord, AuditFilter, AuditRecord, NewApproval, SessionRecord, SessionState, SqliteState};

/// Where status, counters, probes, audit records, sessions and approvals are kept. Every
/// operation is durable when it returns; several processes may share one backend.
#[async_trait]
pub trait StateBackend: Send + Sync {
    /// Where the state is, for messages (`sqlite:/var/lib/toolkit/state.db`).
    fn describe(&self) -> String;

    /// Appends an audit record that counts no call; returns its id.
    async fn append_audit(&self, record: &AuditRecord) -> Result<i64>;
    /// Counts a call of `record.tool` (an error when `record.outcome` is one) and appends its
    /// audit record in one commit; returns its id.
    async fn record_call_audit(&self, record: &AuditRecord) -> Result<i64>;
    /// Reads audit records, newest first.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;

    /// Records a call waiting for approval; returns its id.
    async fn request_approval(&self, new: &NewApproval<'_>) -> Result<i64>;
    /// One approval request.
    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>>;
    /// Pending requests, or all recent ones.
    async fn approvals(&self, all: bool) -> Result<Vec<ApprovalRecord>>;
    /// Approves or rejects a pending request as `by`; refused for the caller who asked.
    async fn decide_approval(&self, id: i64, approve: bool, by: &str, reason: Option<&str>) -> Result<ApprovalRecord>;
    /// Marks a pending request expired; a decided one keeps its decision.
    async fn expire_approval(&self, id: i64) -> Result<ApprovalRecord>;

    /// Records a new active session.
    async fn create_session(
        &self,
        id: &str,
        tool: &ToolRef,
        kind: &str,
        pid: u32,
        idle_timeout_secs: u64,
    ) -> Result<()>;
    /// Notes that a session is alive (when `alive`; with when it was last used, if known);
    /// returns its state.
    async fn heartbeat(&self, id: &str, alive: bool, last_active: Option<DateTime<Utc>>) -> Result<SessionState>;
    /// Ends a session; false when it had ended already.
    async fn end_session(&self, id: &str, reason: &str) -> Result<bool>;
    /// Ends every active session of a tool; returns how many.
    async fn end_tool_sessions(&self, tool: &ToolRef, reason: &str) -> Result<u64>;
    /// Active sessions, or all recent ones.
    async fn sessions(&self, all: bool) -> Result<Vec<SessionRecord>>;

    /// Records a probe and the phase it leads to.
    async fn record_probe(&self, tool: &ToolRef, probe: &LastProbe, phase: ToolPhase) -> Result<()>;
    /// Sets a tool's phase.
    async fn set_phase(&self, tool: &ToolRef, phase: ToolPhase) -> Result<()>;
    /// Counts a call without an audit record.
    async fn record_call(&self, tool: &ToolRef, error: Option<&str>) -> Result<()>;
    /// Every tool's status.
    async fn statuses(&self) -> Result<BTreeMap<ToolRef, ToolStatus>>;
    /// One tool's status.
    async fn status(&self, tool: &ToolRef) -> Result<Option<ToolStatus>>;
    /// A tool's latest probes, newest first.
    async fn probe_history(&self, tool: &ToolRef, limit: u32) -> Result<Vec<LastProbe>>;

    /// Closes connections; the backend is not used afterwards.
    async fn close(&self);
}

#[async_trait]
impl StateBackend for SqliteState {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.dir().join(crate::DB_FILE).display())
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<i64> {
        SqliteState::append_audit(self, record).await
    }

    async fn record_call_audit(&self, record: &AuditRecord) -> Result<i64> {
        SqliteState::record_call_audit(self, record).await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        SqliteState::audit(self, filter).await
    }

    async fn request_approval(&self, new: &NewApproval<'_>) -> Result<i64> {
        SqliteState::request_approval(self, new).await
    }

    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>> {
        SqliteState::approval(self, id).await
    }

    async fn approvals(&self, all: bool) -> Result<Vec<ApprovalRecord>> {
        SqliteState::approvals(self, all).await
    }

    async fn decide_approval(&self, id: i64, approve: bool, by: &str, reason: Option<&str>) -> Result<ApprovalRecord> {
        SqliteState::decide_approval(self, id, approve, by, reason).await
    }

    async fn expire_approval(&self, id: i64) -> Result<ApprovalRecord> {
        SqliteState::expire_approval(self, id).await
    }

    async fn create_session(
        &self,
        id: &str,
        tool: &ToolRef,
        kind: &str,
        pid: u32,
        idle_timeout_secs: u64,
    ) -> Result<()> {
        SqliteState::create_session(self, id, tool, kind, pid, idle_timeout_secs).await
    }

    async fn heartbeat(&self, id: &str, alive: bool, last_active: Option<DateTime<Utc>>) -> Result<SessionState> {
        SqliteState::heartbeat(self, id, alive, last_active).await
    }

    async fn end_session(&self, id: &str, reason: &str) -> Result<bool> {
        SqliteState::end_session(self, id, reason).await
    }

    async fn end_tool_sessions(&self, tool: &ToolRef, reason: &str) -> Result<u64> {
        SqliteState::end_tool_sessions(self, tool, reason).await
    }

    async fn sessions(&self, all: bool) -> Result<Vec<SessionRecord>> {
        SqliteState::sessions(self, all).await
    }

    async fn record_probe(&self, tool: &ToolRef, probe: &LastProbe, phase: ToolPhase) -> Result<()> {
        SqliteState::record_probe(self, tool, probe, phase).await
    }

    async fn set_phase(&self, tool: &ToolRef, phase: ToolPhase) -> Result<()> {
        SqliteState::set_phase(self, tool, phase).await
    }

    async fn record_call(&self, tool: &ToolRef, error: Option<&str>) -> Result<()> {
        SqliteState::record_call(self, tool, error).await
    }

    async fn statuses(&self) -> Result<BTreeMap<ToolRef, ToolStatus>> {
        SqliteState::statuses(self).await
    }

    async fn status(&self, tool: &ToolRef) -> Result<Option<ToolStatus>> {
        SqliteState::status(self, tool).await
    }

    async fn probe_history(&self, tool: &ToolRef, limit: u32) -> Result<Vec<LastProbe>> {
        SqliteState::probe_history(self, tool, limit).await
    }

    async fn close(&self) {
        SqliteState::close(self).await;
    }
}
