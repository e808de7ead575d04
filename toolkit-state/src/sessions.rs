//! Bastion session records: who holds a session to which tool, and whether it must end.

use chrono::{DateTime, Utc};
use serde::Serialize;
use toolkit_core::{Result, ToolRef};

use crate::codec::{Columns, now, parse_time};
use crate::{SqliteState, db_error};

/// Whether a session is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Running.
    Active,
    /// Ended (closed, idle, paused or its process died).
    Ended,
}

/// One session.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// Unique id.
    pub id: String,
    /// The tool.
    pub tool: ToolRef,
    /// `shell`, `client` or `exec`.
    pub kind: String,
    /// Process holding the session.
    pub pid: Option<u32>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// When the person last used the session (its terminal's last input or output), as its
    /// holder last reported; `None` until it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<DateTime<Utc>>,
    /// Idle timeout in seconds.
    pub idle_timeout_secs: u64,
    /// Running or ended.
    pub state: SessionState,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

impl SqliteState {
    /// Records a new active session.
    pub async fn create_session(
        &self,
        id: &str,
        tool: &ToolRef,
        kind: &str,
        pid: u32,
        idle_timeout_secs: u64,
    ) -> Result<()> {
        let t = now();
        sqlx::query(
            "INSERT INTO sessions (id, namespace, name, kind, pid, started_at, last_seen_at, idle_timeout_secs, state)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active')",
        )
        .bind(id)
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(kind)
        .bind(i64::from(pid))
        .bind(&t)
        .bind(&t)
        .bind(i64::try_from(idle_timeout_secs).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "record session"))?;
        Ok(())
    }

    /// Records a heartbeat (with when the session was last used, if the holder knows) and
    /// returns the session's state, so that the holder learns when another process ended it.
    /// With `alive` false it only reads the state.
    pub async fn heartbeat(&self, id: &str, alive: bool, last_active: Option<DateTime<Utc>>) -> Result<SessionState> {
        if alive {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = ?, last_active_at = COALESCE(?, last_active_at)
                 WHERE id = ? AND state = 'active'",
            )
            .bind(now())
            .bind(last_active.map(crate::codec::time_text))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "record session heartbeat"))?;
        }
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM sessions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, "read session"))?;
        Ok(match state.as_deref() {
            Some("active") => SessionState::Active,
            _ => SessionState::Ended,
        })
    }

    /// Ends a session (if still active) with a reason.
    pub async fn end_session(&self, id: &str, reason: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ? WHERE id = ? AND state = 'active'",
        )
        .bind(now())
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "end session"))?
        .rows_affected();
        Ok(n > 0)
    }

    /// Ends every active session of a tool; returns how many.
    pub async fn end_tool_sessions(&self, tool: &ToolRef, reason: &str) -> Result<u64> {
        let n = sqlx::query(
            "UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ? WHERE namespace = ? AND name = ? AND state = 'active'",
        )
        .bind(now())
        .bind(reason)
        .bind(&tool.namespace)
        .bind(&tool.name)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "end sessions"))?
        .rows_affected();
        Ok(n)
    }

    /// Sessions, newest first; only active ones unless `all`.
    pub async fn sessions(&self, all: bool) -> Result<Vec<SessionRecord>> {
        let sql = if all {
            format!("SELECT {COLUMNS} FROM sessions ORDER BY started_at DESC LIMIT 200")
        } else {
            format!("SELECT {COLUMNS} FROM sessions WHERE state = 'active' ORDER BY started_at DESC")
        };
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(|e| db_error(e, "list sessions"))?;
        Ok(rows.iter().map(from_row).collect())
    }
}

/// The columns [`from_row`] reads, in order.
pub(crate) const COLUMNS: &str = "id, namespace, name, kind, pid, started_at, last_seen_at, idle_timeout_secs, state, ended_at, end_reason, last_active_at";

/// A session read from the columns of [`COLUMNS`].
pub(crate) fn from_row(row: &impl Columns) -> SessionRecord {
    SessionRecord {
        id: row.text(0),
        tool: ToolRef::new(row.text(1), row.text(2)),
        kind: row.text(3),
        pid: row.int_opt(4).and_then(|p| u32::try_from(p).ok()),
        started_at: parse_time(&row.text(5)),
        last_seen_at: parse_time(&row.text(6)),
        idle_timeout_secs: u64::try_from(row.int(7)).unwrap_or_default(),
        state: if row.text(8) == "active" { SessionState::Active } else { SessionState::Ended },
        ended_at: row.text_opt(9).map(|s| parse_time(&s)),
        end_reason: row.text_opt(10),
        last_active_at: row.text_opt(11).map(|s| parse_time(&s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_end_across_handles() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::StateStore::open(dir.path()).await.unwrap();
        let b = crate::StateStore::open(dir.path()).await.unwrap();
        let tool = ToolRef::new("default", "pg");
        a.create_session("s1", &tool, "shell", 42, 900).await.unwrap();
        assert_eq!(a.heartbeat("s1", true, None).await.unwrap(), SessionState::Active);
        assert_eq!(b.end_tool_sessions(&tool, "paused").await.unwrap(), 1);
        assert_eq!(a.heartbeat("s1", true, None).await.unwrap(), SessionState::Ended);
        let all = a.sessions(true).await.unwrap();
        assert_eq!(all[0].end_reason.as_deref(), Some("paused"));
    }

    #[tokio::test]
    async fn counters_are_atomic_across_handles() {
        let dir = tempfile::tempdir().unwrap();
        let tool = ToolRef::new("default", "pg");
        let mut tasks = Vec::new();
        for i in 0..4 {
            let s = crate::StateStore::open(dir.path()).await.unwrap();
            let t = tool.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..25 {
                    let err = ((i + j) % 5 == 0).then_some("boom");
                    s.record_call(&t, err).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let s = crate::StateStore::open(dir.path()).await.unwrap();
        let st = s.status(&tool).await.unwrap().unwrap();
        assert_eq!(st.invocation_count, 100);
        assert_eq!(st.error_count, 20);
    }
}
