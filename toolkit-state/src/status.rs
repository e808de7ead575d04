//! Tool status, counters and probe history.

use std::collections::BTreeMap;

use toolkit_core::model::{LastProbe, ToolPhase, ToolStatus};
use toolkit_core::{Result, ToolRef};

use crate::codec::{Columns, now, parse_time};
use crate::{SqliteState, db_error};

impl SqliteState {
    /// Records a probe: appends it to the history and updates the tool's phase.
    pub async fn record_probe(&self, tool: &ToolRef, probe: &LastProbe, phase: ToolPhase) -> Result<()> {
        let json = probe_json(probe);
        let mut tx = self.pool.begin().await.map_err(|e| db_error(e, "record probe"))?;
        sqlx::query(
            "INSERT INTO probes (namespace, name, time, ok, latency_ms, server_version, error_kind, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(probe_time(probe))
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
        let rows = sqlx::query(&format!("SELECT {STATUS_COLUMNS} FROM tool_status"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "read tool status"))?;
        Ok(rows.iter().map(status_from_row).collect())
    }

    /// The recorded status of one tool.
    pub async fn status(&self, tool: &ToolRef) -> Result<Option<ToolStatus>> {
        Ok(self.statuses().await?.remove(tool))
    }

    /// The latest probes of a tool, newest first.
    pub async fn probe_history(&self, tool: &ToolRef, limit: u32) -> Result<Vec<LastProbe>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROBE_COLUMNS} FROM probes WHERE namespace = ? AND name = ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "read probe history"))?;
        Ok(rows.iter().map(probe_from_row).collect())
    }
}

/// The columns [`status_from_row`] reads, in order.
pub(crate) const STATUS_COLUMNS: &str = "namespace, name, phase, last_probe, invocation_count, error_count, last_error";

/// A tool and its status read from the columns of [`STATUS_COLUMNS`].
pub(crate) fn status_from_row(row: &impl Columns) -> (ToolRef, ToolStatus) {
    let status = ToolStatus {
        phase: row.text(2).parse().unwrap_or_default(),
        last_probe: row.text_opt(3).and_then(|s| serde_json::from_str(&s).ok()),
        invocation_count: u64::try_from(row.int(4)).unwrap_or_default(),
        error_count: u64::try_from(row.int(5)).unwrap_or_default(),
        last_error: row.text_opt(6),
        ..ToolStatus::default()
    };
    (ToolRef::new(row.text(0), row.text(1)), status)
}

/// The columns [`probe_from_row`] reads, in order.
pub(crate) const PROBE_COLUMNS: &str = "time, ok, latency_ms, server_version, error_kind, error";

/// A probe read from the columns of [`PROBE_COLUMNS`].
pub(crate) fn probe_from_row(row: &impl Columns) -> LastProbe {
    LastProbe {
        time: parse_time(&row.text(0)),
        ok: row.flag(1),
        latency_ms: row.real(2),
        server_version: row.text_opt(3),
        error_kind: row.text_opt(4),
        error: row.text_opt(5),
    }
}

/// A probe's time as the history keeps it.
pub(crate) fn probe_time(probe: &LastProbe) -> String {
    probe.time.to_rfc3339()
}

/// A probe as a status keeps it (`last_probe`): JSON text.
pub(crate) fn probe_json(probe: &LastProbe) -> String {
    serde_json::to_string(probe).unwrap_or_default()
}
