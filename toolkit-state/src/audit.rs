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

impl Outcome {
    /// The word stored and shown: `ok` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
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

/// Which records to read: every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this tool.
    pub tool: Option<ToolRef>,
    /// At most this many, newest first (100 when not given).
    pub limit: Option<u32>,
    /// Only records of this caller (exactly, such as `token:ci`).
    pub caller: Option<String>,
    /// Only decisions of this kind: one of [`Decision::KINDS`] (records written before
    /// decisions were typed match none).
    pub decision: Option<String>,
    /// Only records that ended so.
    pub outcome: Option<Outcome>,
    /// Only records that started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only records that started before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only records older than this id: the next page after a page whose last id it is.
    pub before: Option<i64>,
}

/// A value bound to a placeholder of [`AuditFilter::select`].
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

impl AuditFilter {
    /// The `SELECT` that reads the records, newest first, and the values of its placeholders in
    /// order; `mark(n)` writes the placeholder of the `n`th value (from 1) in the backend's SQL.
    pub(crate) fn select(&self, mark: impl Fn(usize) -> String) -> (String, Vec<Param>) {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        let mut add = |column: &str, op: &str, value: Param| {
            params.push(value);
            conditions.push(format!("{column} {op} {}", mark(params.len())));
        };
        if let Some(t) = &self.tool {
            add("namespace", "=", Param::Text(t.namespace.clone()));
            add("name", "=", Param::Text(t.name.clone()));
        }
        if let Some(caller) = &self.caller {
            add("caller", "=", Param::Text(caller.clone()));
        }
        if let Some(kind) = &self.decision {
            // The typed form is serialized with its tag first: `{"kind":"approved",...}`.
            let kind = kind.replace(['%', '_', '"', '\\'], "");
            add("decision_detail", "LIKE", Param::Text(format!("{{\"kind\":\"{kind}\"%")));
        }
        if let Some(outcome) = self.outcome {
            add("outcome", "=", Param::Text(outcome.as_str().to_owned()));
        }
        if let Some(since) = self.since {
            add("time", ">=", Param::Text(time_text(since)));
        }
        if let Some(until) = self.until {
            add("time", "<", Param::Text(time_text(until)));
        }
        if let Some(before) = self.before {
            add("id", "<", Param::Int(before));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        params.push(Param::Int(i64::from(self.limit.unwrap_or(100))));
        let sql = format!("SELECT {COLUMNS} FROM audit{filter} ORDER BY id DESC LIMIT {}", mark(params.len()));
        (sql, params)
    }
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

    /// Reads the records `filter` selects, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let (sql, params) = filter.select(|_| "?".to_owned());
        let mut query = sqlx::query(&sql);
        for param in params {
            query = match param {
                Param::Text(text) => query.bind(text),
                Param::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(&self.pool).await.map_err(|e| db_error(e, "read audit records"))?;
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
            outcome: r.outcome.as_str(),
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
        let records =
            state.audit(&AuditFilter { tool: Some(tool), limit: Some(1000), ..AuditFilter::default() }).await.unwrap();
        assert_eq!(records.len(), 200);
    }

    #[tokio::test]
    async fn filters_select_by_caller_decision_outcome_time_and_page() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::StateStore::open(dir.path()).await.unwrap();
        let start = chrono::Utc::now() - chrono::Duration::hours(1);
        let decisions = [
            Decision::Allowed,
            Decision::Approved { by: "local:al".into() },
            Decision::Rejected { by: "b".into(), reason: None },
        ];
        for i in 0..6_i64 {
            let record = AuditRecord {
                id: 0,
                time: start + chrono::Duration::minutes(i),
                caller: format!("c{}", i % 2),
                tool: ToolRef::new("default", if i < 3 { "a" } else { "b" }),
                operation: "call".into(),
                arguments: None,
                decision: decisions[(i % 3) as usize].clone(),
                duration_ms: 1.0,
                outcome: if i == 5 { Outcome::Error } else { Outcome::Ok },
                error_kind: None,
                error: None,
            };
            state.append_audit(&record).await.unwrap();
        }
        let ids = |filter: AuditFilter| {
            let state = state.clone();
            async move { state.audit(&filter).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>() }
        };
        assert_eq!(ids(AuditFilter::default()).await, [6, 5, 4, 3, 2, 1]);
        assert_eq!(ids(AuditFilter { caller: Some("c1".into()), ..AuditFilter::default() }).await, [6, 4, 2]);
        assert_eq!(ids(AuditFilter { decision: Some("approved".into()), ..AuditFilter::default() }).await, [5, 2]);
        assert_eq!(ids(AuditFilter { outcome: Some(Outcome::Error), ..AuditFilter::default() }).await, [6]);
        let window = AuditFilter {
            since: Some(start + chrono::Duration::minutes(1)),
            until: Some(start + chrono::Duration::minutes(3)),
            ..AuditFilter::default()
        };
        assert_eq!(ids(window).await, [3, 2]);
        let page = AuditFilter {
            tool: Some(ToolRef::new("default", "b")),
            before: Some(6),
            limit: Some(1),
            ..AuditFilter::default()
        };
        assert_eq!(ids(page).await, [5]);
    }
}
