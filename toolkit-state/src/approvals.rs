//! Pending approvals: calls that wait for a person. The calling process records a request and
//! polls it; anyone with the state directory (`toolkit approvals approve ID`, another process)
//! decides it. A decision is one conditional `UPDATE`, so a request is decided at most once,
//! never by its own caller and never after it expired.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use toolkit_core::{Error, ErrorKind, Result, ToolRef};

use crate::codec::{Columns, now, parse_time, time_text};
use crate::{SqliteState, db_error};

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Waiting for a decision.
    Pending,
    /// Approved: the call runs.
    Approved,
    /// Rejected: the call is refused.
    Rejected,
    /// Nobody decided in time.
    Expired,
}

impl ApprovalState {
    /// `pending`, `approved`, `rejected` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "approved" => ApprovalState::Approved,
            "rejected" => ApprovalState::Rejected,
            "expired" => ApprovalState::Expired,
            _ => ApprovalState::Pending,
        }
    }
}

/// A call waiting for (or past) a decision. Arguments are stored redacted by the caller.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// Assigned when recorded.
    pub id: i64,
    /// When the call asked.
    pub time: DateTime<Utc>,
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// The tool.
    pub tool: ToolRef,
    /// Who called.
    pub caller: String,
    /// The call's arguments, redacted.
    pub arguments: serde_json::Value,
    /// The call's class (`read`, `write`, `unknown`, `dangerous`).
    pub class: String,
    /// Why it needs approval.
    pub reasons: Vec<String>,
    /// Where it stands.
    pub state: ApprovalState,
    /// Who decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What exactly was asked: the SHA-256 (hex) of the tool and its canonical arguments as
    /// stored, which the waiting call checks before it acts on a decision. `None` for requests
    /// recorded before it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_hash: Option<String>,
}

/// A new request.
#[derive(Clone, Debug)]
pub struct NewApproval<'a> {
    /// The tool.
    pub tool: &'a ToolRef,
    /// Who calls.
    pub caller: &'a str,
    /// The arguments, already redacted.
    pub arguments: &'a serde_json::Value,
    /// The call's class.
    pub class: &'a str,
    /// Why it needs approval.
    pub reasons: &'a [String],
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// [`ApprovalRecord::call_hash`].
    pub call_hash: &'a str,
}

/// The columns [`from_row`] reads, in order.
pub(crate) const COLUMNS: &str = "id, time, expires_at, namespace, name, caller, arguments, class, reasons, state, decided_by, decided_at, reason, call_hash";

impl SqliteState {
    /// Records a pending request; returns its id.
    pub async fn request_approval(&self, new: &NewApproval<'_>) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO approvals (time, expires_at, namespace, name, caller, arguments, class, reasons, state, call_hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id",
        )
        .bind(now())
        .bind(time_text(new.expires_at))
        .bind(&new.tool.namespace)
        .bind(&new.tool.name)
        .bind(new.caller)
        .bind(new.arguments.to_string())
        .bind(new.class)
        .bind(reasons_text(new.reasons))
        .bind(new.call_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error(e, "record approval request"))?;
        Ok(row.get(0))
    }

    /// One request.
    pub async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "read approval request"))?;
        Ok(row.as_ref().map(from_row))
    }

    /// Pending requests that have not lapsed, oldest first; with `all`, every request, newest
    /// first.
    pub async fn approvals(&self, all: bool) -> Result<Vec<ApprovalRecord>> {
        let query = if all {
            format!("SELECT {COLUMNS} FROM approvals WHERE ? <> '' ORDER BY id DESC LIMIT 500")
        } else {
            format!("SELECT {COLUMNS} FROM approvals WHERE state = 'pending' AND expires_at > ? ORDER BY id")
        };
        let rows = sqlx::query(&query)
            .bind(now())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "read approval requests"))?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// Approves or rejects a pending request as `by`. Refused when the request is unknown,
    /// decided or lapsed, or when `by` is the caller who asked.
    pub async fn decide_approval(
        &self,
        id: i64,
        approve: bool,
        by: &str,
        reason: Option<&str>,
    ) -> Result<ApprovalRecord> {
        let state = if approve { ApprovalState::Approved } else { ApprovalState::Rejected };
        let t = now();
        let done = sqlx::query(
            "UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, reason = ?
             WHERE id = ? AND state = 'pending' AND expires_at > ? AND caller <> ?",
        )
        .bind(state.as_str())
        .bind(by)
        .bind(&t)
        .bind(reason)
        .bind(id)
        .bind(&t)
        .bind(by)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "record approval decision"))?
        .rows_affected();
        let current = self.approval(id).await?.ok_or_else(|| missing("decide", id))?;
        if done == 1 {
            return Ok(current);
        }
        Err(refusal(&current, by))
    }

    /// Marks a pending request expired; returns the request as it stands afterwards (a decision
    /// that came first wins).
    pub async fn expire_approval(&self, id: i64) -> Result<ApprovalRecord> {
        sqlx::query("UPDATE approvals SET state = 'expired', decided_at = ? WHERE id = ? AND state = 'pending'")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "expire approval request"))?;
        self.approval(id).await?.ok_or_else(|| missing("expire", id))
    }
}

/// The error for a request `id` that does not exist, when trying to `verb` it.
pub(crate) fn missing(verb: &str, id: i64) -> Error {
    Error::not_found(format!("{verb} approval request {id}: there is no such request"))
}

/// Why `by` could not decide `current`: its own call, decided already, or lapsed.
pub(crate) fn refusal(current: &ApprovalRecord, by: &str) -> Error {
    let id = current.id;
    if current.caller == by {
        Error::new(ErrorKind::Denied, format!("decide approval request {id}: a caller cannot decide its own call"))
    } else if current.state != ApprovalState::Pending {
        Error::invalid_input(format!("decide approval request {id}: it is {} already", current.state.as_str()))
    } else {
        Error::invalid_input(format!("decide approval request {id}: it expired"))
    }
}

/// The reasons as stored: a JSON array of strings.
pub(crate) fn reasons_text(reasons: &[String]) -> String {
    serde_json::Value::from(reasons.to_vec()).to_string()
}

/// A request read from the columns of [`COLUMNS`].
pub(crate) fn from_row(row: &impl Columns) -> ApprovalRecord {
    ApprovalRecord {
        id: row.int(0),
        time: parse_time(&row.text(1)),
        expires_at: parse_time(&row.text(2)),
        tool: ToolRef::new(row.text(3), row.text(4)),
        caller: row.text(5),
        arguments: serde_json::from_str(&row.text(6)).unwrap_or_default(),
        class: row.text(7),
        reasons: serde_json::from_str(&row.text(8)).unwrap_or_default(),
        state: ApprovalState::parse(&row.text(9)),
        decided_by: row.text_opt(10),
        decided_at: row.text_opt(11).map(|t| parse_time(&t)),
        reason: row.text_opt(12),
        call_hash: row.text_opt(13),
    }
}

/// The hash of one call as [`ApprovalRecord::call_hash`] keeps it: SHA-256 of the tool's
/// `namespace/name`, a newline, and the arguments' JSON with keys in order.
pub fn call_hash(tool: &ToolRef, arguments: &serde_json::Value) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(tool.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical(arguments).as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON text with every object's keys sorted, whatever order the value holds them in.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_hashes_ignore_key_order_and_see_everything_else() {
        let tool = ToolRef::new("prod", "db");
        let a = call_hash(&tool, &serde_json::json!({"b": [1, {"y": 2, "x": 1}], "a": "q"}));
        assert_eq!(a, call_hash(&tool, &serde_json::json!({"a": "q", "b": [1, {"x": 1, "y": 2}]})));
        assert_ne!(a, call_hash(&tool, &serde_json::json!({"a": "q", "b": [{"x": 1, "y": 2}, 1]})));
        assert_ne!(
            a,
            call_hash(&ToolRef::new("prod", "db2"), &serde_json::json!({"a": "q", "b": [1, {"x": 1, "y": 2}]}))
        );
        assert_eq!(a.len(), 64);
    }

    #[tokio::test]
    async fn decided_once_never_by_the_caller_never_after_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::StateStore::open(dir.path()).await.unwrap();
        let b = crate::StateStore::open(dir.path()).await.unwrap();
        let tool = ToolRef::new("default", "k");
        let args = serde_json::json!({"command": "delete pod x"});
        let reasons = vec!["write: `delete pod x`".to_owned()];
        let new = |expires_at| NewApproval {
            tool: &tool,
            caller: "mcp:agent",
            arguments: &args,
            class: "write",
            reasons: &reasons,
            expires_at,
            call_hash: "c0ffee",
        };
        let later = Utc::now() + chrono::Duration::minutes(5);
        let id = a.request_approval(&new(later)).await.unwrap();
        assert_eq!(a.approval(id).await.unwrap().unwrap().call_hash.as_deref(), Some("c0ffee"));
        let pending = b.approvals(false).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (pending[0].id, pending[0].state, pending[0].reasons.clone()),
            (id, ApprovalState::Pending, reasons.clone())
        );

        let own = b.decide_approval(id, true, "mcp:agent", None).await.unwrap_err();
        assert_eq!(own.kind(), ErrorKind::Denied);
        let done = b.decide_approval(id, false, "local:alice", Some("not now")).await.unwrap();
        assert_eq!(
            (done.state, done.decided_by.as_deref(), done.reason.as_deref()),
            (ApprovalState::Rejected, Some("local:alice"), Some("not now"))
        );
        assert_eq!(b.decide_approval(id, true, "local:bob", None).await.unwrap_err().kind(), ErrorKind::InvalidInput);
        // Expiring after a decision keeps the decision.
        assert_eq!(a.expire_approval(id).await.unwrap().state, ApprovalState::Rejected);
        assert!(b.approvals(false).await.unwrap().is_empty());

        let lapsed = a.request_approval(&new(Utc::now() - chrono::Duration::seconds(1))).await.unwrap();
        assert!(b.approvals(false).await.unwrap().is_empty());
        assert_eq!(
            b.decide_approval(lapsed, true, "local:alice", None).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(a.expire_approval(lapsed).await.unwrap().state, ApprovalState::Expired);
        assert_eq!(b.approvals(true).await.unwrap().len(), 2);
        assert_eq!(b.decide_approval(999, true, "local:alice", None).await.unwrap_err().kind(), ErrorKind::NotFound);
    }
}
