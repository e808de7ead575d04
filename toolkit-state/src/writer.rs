//! The one task that writes call counters and audit records, in batched transactions: the
//! records that arrive while a commit is under way go in the next one. The task is the same for
//! every backend; a [`Sink`] writes one batch in one transaction.

use std::collections::BTreeMap;
use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use toolkit_core::{Error, Result, ToolRef};

use crate::audit::{AuditRecord, Outcome};

/// Records written in one transaction at most.
const MAX_BATCH: usize = 512;

/// One record to write, and whether it also counts a call.
pub(crate) struct Entry {
    pub record: AuditRecord,
    pub count: bool,
}

/// Writes a batch of entries in one transaction.
pub(crate) trait Sink: Send + Sync + 'static {
    /// Writes `batch` in one transaction; returns the records' ids, in order.
    fn write(&self, batch: &[Entry]) -> impl Future<Output = Result<Vec<i64>>> + Send;
}

/// What a batch adds to one tool's counters.
pub(crate) struct Count<'a> {
    pub tool: &'a ToolRef,
    pub calls: i64,
    pub errors: i64,
    /// The error of the batch's last failed call that has one.
    pub last_error: Option<&'a str>,
}

/// The counters a batch adds, one per tool, in tool order (so that concurrent writers lock the
/// rows in the same order).
pub(crate) fn counts(batch: &[Entry]) -> Vec<Count<'_>> {
    let mut by_tool: BTreeMap<&ToolRef, Count<'_>> = BTreeMap::new();
    for entry in batch.iter().filter(|e| e.count) {
        let r = &entry.record;
        let c = by_tool.entry(&r.tool).or_insert(Count { tool: &r.tool, calls: 0, errors: 0, last_error: None });
        c.calls += 1;
        if r.outcome == Outcome::Error {
            c.errors += 1;
            c.last_error = r.error.as_deref().or(c.last_error);
        }
    }
    by_tool.into_values().collect()
}

struct Job {
    entry: Entry,
    reply: oneshot::Sender<Result<i64>>,
}

/// Handle to the writer task; the task ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the task that writes through `sink`.
    pub(crate) fn start(sink: impl Sink) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(sink, rx));
        Self { tx }
    }

    /// Queues a record and waits until it is committed.
    pub(crate) async fn submit(&self, record: AuditRecord, count: bool) -> Result<i64> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job { entry: Entry { record, count }, reply })
            .map_err(|_| Error::internal("write audit record: the state writer has stopped"))?;
        wait.await.map_err(|_| Error::internal("write audit record: the state writer has stopped"))?
    }
}

async fn run(sink: impl Sink, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (batch, replies): (Vec<Entry>, Vec<_>) = jobs.into_iter().map(|j| (j.entry, j.reply)).unzip();
        match sink.write(&batch).await {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(e) => {
                let (kind, text) = (e.kind(), e.to_string());
                for reply in replies {
                    let _ = reply.send(Err(Error::new(kind, text.clone())));
                }
            }
        }
    }
}
