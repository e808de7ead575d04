//! Tool status, counters and probe history.

use std::collections::BTreeMap;

use sqlx::Row;
use toolkit_core::model::{LastProbe, ToolPhase, ToolStatus};
use toolkit_core::{Result, ToolRef};

use crate::{SqliteState, db_error, now, parse_time};

impl SqliteState {
    /// Records a probe: appends it to the history and updates the tool's phase.
    pub async fn record_probe(&self, tool: &ToolRef, probe: &LastProbe, phase: ToolPhase) -> Result<()> {
        let json = serde_json::to_string(probe).unwrap_or_default();
        let mut tx = self.pool.begin().await.map_err(|e| db_error(e, "record probe"))?;
        sqlx::query(
            "INSERT INTO probes (namespace, name, time, ok, latency_ms, server_version, error_kind, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(probe.time.to_rfc3339())
        .bind(probe.ok)
        .bind(probe.latency_ms)
        .bind(&probe.server_version)
        .bind(&probe.error_kind)
        .bind(&probe.error)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, "record probe"))?;
        sqlx::query(
            "INSERT INTO tool_status (namespace, name, phase, last_probe, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (namespace, name) DO UPDATE SET phase = excluded.phase, last_probe = excluded.last_probe,
             updated_at = excluded.updated_at",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(phase.as_str())
        .bind(json)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, "record probe"))?;
        tx.commit().await.map_err(|e| db_error(e, "record probe"))
    }

    /// Sets the phase without a probe (for instance `Disabled` or `Failed` from validation).
    pub async fn set_phase(&self, tool: &ToolRef, phase: ToolPhase) -> Result<()> {
        sqlx::query(
            "INSERT INTO tool_status (namespace, name, phase, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (namespace, name) DO UPDATE SET phase = excluded.phase, updated_at = excluded.updated_at",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(phase.as_str())
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "set tool phase"))?;
        Ok(())
    }

    /// Counts one call; `error` is the (redacted) error of a failed call.
    pub async fn record_call(&self, tool: &ToolRef, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO tool_status (namespace, name, invocation_count, error_count, last_error, updated_at)
             VALUES (?1, ?2, 1, ?3, ?4, ?5)
             ON CONFLICT (namespace, name) DO UPDATE SET
               invocation_count = invocation_count + 1,
               error_count = error_count + ?3,
               last_error = COALESCE(?4, last_error),
               updated_at = ?5",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(i64::from(error.is_some()))
        .bind(error)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "count call"))?;
        Ok(())
    }

    /// The recorded status of every tool that has one.
    pub async fn statuses(&self) -> Result<BTreeMap<ToolRef, ToolStatus>> {
        let rows = sqlx::query(
            "SELECT namespace, name, phase, last_probe, invocation_count, error_count, last_error FROM tool_status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "read tool status"))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let r = ToolRef::new(row.get::<String, _>(0), row.get::<String, _>(1));
                let status = ToolStatus {
                    phase: row.get::<String, _>(2).parse().unwrap_or_default(),
                    last_probe: row.get::<Option<String>, _>(3).and_then(|s| serde_json::from_str(&s).ok()),
                    invocation_count: u64::try_from(row.get::<i64, _>(4)).unwrap_or_default(),
                    error_count: u64::try_from(row.get::<i64, _>(5)).unwrap_or_default(),
                    last_error: row.get(6),
                    ..ToolStatus::default()
                };
                (r, status)
            })
            .collect())
    }

    /// The recorded status of one tool.
    pub async fn status(&self, tool: &ToolRef) -> Result<Option<ToolStatus>> {
        Ok(self.statuses().await?.remove(tool))
    }

    /// The latest probes of a tool, newest first.
    pub async fn probe_history(&self, tool: &ToolRef, limit: u32) -> Result<Vec<LastProbe>> {
        let rows = sqlx::query(
            "SELECT time, ok, latency_ms, server_version, error_kind, error FROM probes
             WHERE namespace = ? AND name = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "read probe history"))?;
        Ok(rows
            .into_iter()
            .map(|row| LastProbe {
                time: parse_time(&row.get::<String, _>(0)),
                ok: row.get(1),
                latency_ms: row.get(2),
                server_version: row.get(3),
                error_kind: row.get(4),
                error: row.get(5),
            })
            .collect())
    }
}
