//! The audit log: one record per call, exec, probe or session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use toolkit_core::{Result, ToolRef};

use crate::codec::{Columns, parse_time, time_text};
use crate::{Decision, SqliteState, db_error};

/// How an audited operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed.
    Error,
}

/// One audit record. Arguments and errors are stored redacted and size-capped by the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Assigned when written.
    #[serde(default)]
    pub id: i64,
    /// When the operation started.
    pub time: DateTime<Utc>,
    /// Who asked (`local:USER` for the CLI, a token's identity for the gateway).
    pub caller: String,
    /// The tool.
    pub tool: ToolRef,
    /// `call`, `exec`, `probe`, `connect`.
    pub operation: String,
    /// Arguments or command, redacted and capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
    /// What the pipeline decided; serialized as its one-line text (the typed form serializes
    /// on its own).
    #[serde(serialize_with = "crate::decision::as_text", deserialize_with = "crate::decision::from_text")]
    pub decision: Decision,
    /// How long it took.
    pub duration_ms: f64,
    /// How it ended.
    pub outcome: Outcome,
    /// Error kind of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Error message of a failure (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which records to read.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this tool.
    pub tool: Option<ToolRef>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

impl SqliteState {
    /// Appends a record durably; returns its id.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<i64> {
        self.writer.submit(record.clone(), false).await
    }

    /// Counts a call of `record.tool` (an error when `record.error` is set) and appends its
    /// audit record, in one durable commit shared with concurrent callers.
    pub async fn record_call_audit(&self, record: &AuditRecord) -> Result<i64> {
        self.writer.submit(record.clone(), true).await
    }

    /// Reads records, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let limit = i64::from(filter.limit.unwrap_or(100));
        let rows = match &filter.tool {
            Some(t) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM audit WHERE namespace = ? AND name = ? ORDER BY id DESC LIMIT ?"
                ))
                .bind(&t.namespace)
                .bind(&t.name)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM audit ORDER BY id DESC LIMIT ?"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(|e| db_error(e, "read audit records"))?;
        Ok(rows.iter().map(from_row).collect())
    }
}

/// The columns [`from_row`] reads, in order.
pub(crate) const COLUMNS: &str = "id, time, caller, namespace, name, operation, arguments, decision, duration_ms, outcome, error_kind, error, decision_detail";

/// A record read from the columns of [`COLUMNS`].
pub(crate) fn from_row(row: &impl Columns) -> AuditRecord {
    AuditRecord {
        id: row.int(0),
        time: parse_time(&row.text(1)),
        caller: row.text(2),
        tool: ToolRef::new(row.text(3), row.text(4)),
        operation: row.text(5),
        arguments: row.text_opt(6).and_then(|s| serde_json::from_str(&s).ok()),
        decision: row
            .text_opt(12)
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_else(|| Decision::Recorded { text: row.text(7) }),
        duration_ms: row.real(8),
        outcome: if row.text(9) == "ok" { Outcome::Ok } else { Outcome::Error },
        error_kind: row.text_opt(10),
        error: row.text_opt(11),
    }
}

/// A record's values as written, in the order of the columns `time, caller, namespace, name,
/// operation, arguments, decision, decision_detail, duration_ms, outcome, error_kind, error`.
pub(crate) struct Values<'a> {
    pub time: String,
    pub caller: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub operation: &'a str,
    pub arguments: Option<String>,
    pub decision: String,
    pub decision_detail: Option<String>,
    pub duration_ms: f64,
    pub outcome: &'static str,
    pub error_kind: Option<&'a str>,
    pub error: Option<&'a str>,
}

impl<'a> Values<'a> {
    /// The values that store `r`.
    pub(crate) fn of(r: &'a AuditRecord) -> Self {
        Values {
            time: time_text(r.time),
            caller: &r.caller,
            namespace: &r.tool.namespace,
            name: &r.tool.name,
            operation: &r.operation,
            arguments: r.arguments.as_ref().map(ToString::to_string),
            decision: r.decision.to_string(),
            decision_detail: serde_json::to_string(&r.decision).ok(),
            duration_ms: r.duration_ms,
            outcome: match r.outcome {
                Outcome::Ok => "ok",
                Outcome::Error => "error",
            },
            error_kind: r.error_kind.as_deref(),
            error: r.error.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_records_are_all_committed_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::StateStore::open(dir.path()).await.unwrap();
        let tool = ToolRef::new("default", "echo");
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let state = state.clone();
                let tool = tool.clone();
                tokio::spawn(async move {
                    let failed = i % 10 == 0;
                    let record = AuditRecord {
                        id: 0,
                        time: chrono::Utc::now(),
                        caller: format!("c{i}"),
                        tool,
                        operation: "call".into(),
                        arguments: Some(serde_json::json!({"i": i})),
                        decision: Decision::Allowed,
                        duration_ms: 0.1,
                        outcome: if failed { Outcome::Error } else { Outcome::Ok },
                        error_kind: failed.then(|| "upstream".into()),
                        error: failed.then(|| format!("boom {i}")),
                    };
                    state.record_call_audit(&record).await.unwrap()
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 200);
        let status = state.status(&tool).await.unwrap().unwrap();
        assert_eq!((status.invocation_count, status.error_count), (200, 20));
        let records = state.audit(&AuditFilter { tool: Some(tool), limit: Some(1000) }).await.unwrap();
        assert_eq!(records.len(), 200);
    }
}
