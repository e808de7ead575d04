//! The one task that writes call counters and audit records, in batched transactions.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};
use toolkit_core::{Error, Result};

use crate::audit::{AuditRecord, Outcome};
use crate::{db_error, now};

/// Records written in one transaction at most.
const MAX_BATCH: usize = 512;

struct Job {
    record: AuditRecord,
    count: bool,
    reply: oneshot::Sender<Result<i64>>,
}

/// Handle to the writer task; the task ends when every handle is dropped.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("id", &self.record.id).finish_non_exhaustive()
    }
}

impl Writer {
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Queues a record and waits until it is committed.
    pub(crate) async fn submit(&self, record: AuditRecord, count: bool) -> Result<i64> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job { record, count, reply })
            .map_err(|_| Error::internal("write audit record: the state writer has stopped"))?;
        wait.await.map_err(|_| Error::internal("write audit record: the state writer has stopped"))?
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match write(&pool, &batch).await {
            Ok(ids) => {
                for (job, id) in batch.into_iter().zip(ids) {
                    let _ = job.reply.send(Ok(id));
                }
            }
            Err(e) => {
                let (kind, text) = (e.kind(), e.to_string());
                for job in batch {
                    let _ = job.reply.send(Err(Error::new(kind, text.clone())));
                }
            }
        }
    }
}

async fn write(pool: &SqlitePool, batch: &[Job]) -> Result<Vec<i64>> {
    let mut tx = pool.begin().await.map_err(|e| db_error(e, "write audit records"))?;
    let mut ids = Vec::with_capacity(batch.len());
    for job in batch {
        let r = &job.record;
        if job.count {
            let failed = r.outcome == Outcome::Error;
            sqlx::query(
                "INSERT INTO tool_status (namespace, name, invocation_count, error_count, last_error, updated_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5)
                 ON CONFLICT (namespace, name) DO UPDATE SET
                   invocation_count = invocation_count + 1,
                   error_count = error_count + ?3,
                   last_error = COALESCE(?4, last_error),
                   updated_at = ?5",
            )
            .bind(&r.tool.namespace)
            .bind(&r.tool.name)
            .bind(i64::from(failed))
            .bind(if failed { r.error.as_deref() } else { None })
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "count call"))?;
        }
        let id = sqlx::query(
            "INSERT INTO audit (time, caller, namespace, name, operation, arguments, decision, decision_detail, duration_ms, outcome, error_kind, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .bind(&r.caller)
        .bind(&r.tool.namespace)
        .bind(&r.tool.name)
        .bind(&r.operation)
        .bind(r.arguments.as_ref().map(ToString::to_string))
        .bind(r.decision.to_string())
        .bind(serde_json::to_string(&r.decision).ok())
        .bind(r.duration_ms)
        .bind(match r.outcome {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        })
        .bind(&r.error_kind)
        .bind(&r.error)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, "write audit record"))?
        .last_insert_rowid();
        ids.push(id);
    }
    tx.commit().await.map_err(|e| db_error(e, "commit audit records"))?;
    Ok(ids)
}
