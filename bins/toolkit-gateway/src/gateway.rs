//! The gateway's shared state: the current catalog (a [`Runtime`] and the MCP tool list made
//! from it, swapped as one on reload), readiness, change notifications and the calls in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::{Mutex, OnceCell, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use toolkit_core::validate::Severity;
use toolkit_core::{Catalog, Error, Result, ToolRef};
use toolkit_runtime::Runtime;
use toolkit_state::StateStore;

use crate::handler::McpHandler;
use crate::{mapping, names};

/// One loaded catalog: the runtime that runs calls and what clients see of it.
pub(crate) struct Snapshot {
    pub runtime: Runtime,
    pub tools: Vec<rmcp::model::Tool>,
    pub by_name: HashMap<String, Served>,
}

/// A tool as served.
pub(crate) struct Served {
    pub reference: ToolRef,
    pub has_output_schema: bool,
}

/// What [`Gateway::drain`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained {
    /// Calls in flight when shutdown began.
    pub waited_for: usize,
    /// Whether they all finished within the timeout.
    pub finished: bool,
}

/// The gateway: cheap to clone, shared by every session and the manifest watcher.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    tools: Vec<PathBuf>,
    state_dir: PathBuf,
    state: OnceCell<StateStore>,
    snapshot: ArcSwapOption<Snapshot>,
    reloading: Mutex<()>,
    changes: watch::Sender<u64>,
    calls: TaskTracker,
    closing: CancellationToken,
}

impl Gateway {
    /// A gateway over the manifests at `tools`, keeping state in `state_dir`. Nothing is read
    /// until [`load`](Self::load).
    pub fn new(tools: Vec<PathBuf>, state_dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(Inner {
                tools,
                state_dir,
                state: OnceCell::new(),
                snapshot: ArcSwapOption::empty(),
                reloading: Mutex::new(()),
                changes: watch::Sender::new(0),
                calls: TaskTracker::new(),
                closing: CancellationToken::new(),
            }),
        }
    }

    /// Loads (or reloads) the manifests and swaps the catalog in; returns whether the tool list
    /// clients see changed, in which case connected clients are told. Tools that are invalid
    /// are left out and logged with the reason. On error the previous catalog stays.
    pub async fn load(&self) -> Result<bool> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let state = self.inner.state.get_or_try_init(|| StateStore::open(&self.inner.state_dir)).await?.clone();
        let paths = self.inner.tools.clone();
        let (catalog, connectors) = tokio::task::spawn_blocking(move || {
            let connectors = toolkit_runtime::registry();
            Catalog::load(&paths, &connectors).map(|c| (c, connectors))
        })
        .await
        .map_err(|e| Error::internal("load the manifests").with_source(e))??;
        let runtime = Runtime::from_parts(catalog, connectors, state);
        report(&runtime);
        let snapshot = snapshot(runtime);
        let changed = self.inner.snapshot.load().as_ref().is_none_or(|old| old.tools != snapshot.tools);
        let names: Vec<String> = snapshot.tools.iter().map(|t| t.name.to_string()).collect();
        self.inner.snapshot.store(Some(Arc::new(snapshot)));
        tracing::info!(tools = names.len(), names = %names.join(","), "catalog loaded");
        if changed {
            self.inner.changes.send_modify(|generation| *generation += 1);
        }
        Ok(changed)
    }

    /// Whether a catalog is loaded and the gateway is not shutting down.
    pub fn is_ready(&self) -> bool {
        self.inner.snapshot.load().is_some() && !self.inner.closing.is_cancelled()
    }

    /// The MCP server of one session (one stdio connection, one HTTP session or request).
    pub fn handler(&self) -> McpHandler {
        McpHandler::new(self.clone())
    }

    /// Starts shutting down: new calls are refused, change subscriptions end and `/readyz`
    /// turns 503; then waits up to `timeout` for calls in flight.
    pub async fn drain(&self, timeout: Duration) -> Drained {
        self.inner.closing.cancel();
        self.inner.calls.close();
        let waited_for = self.inner.calls.len();
        if waited_for > 0 {
            tracing::info!(calls = waited_for, "waiting for calls in flight");
        }
        let finished = tokio::time::timeout(timeout, self.inner.calls.wait()).await.is_ok();
        if !finished {
            tracing::warn!(calls = self.inner.calls.len(), ?timeout, "calls still running after the drain timeout");
        }
        Drained { waited_for, finished }
    }

    /// Closes the current runtime's pools and the state database.
    pub async fn close(&self) {
        if let Some(snapshot) = self.inner.snapshot.load_full() {
            snapshot.runtime.shutdown().await;
        }
    }

    pub(crate) fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.inner.snapshot.load_full()
    }

    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    pub(crate) fn calls(&self) -> &TaskTracker {
        &self.inner.calls
    }

    pub(crate) fn watched_paths(&self) -> &[PathBuf] {
        &self.inner.tools
    }

    pub(crate) fn state_dir(&self) -> &PathBuf {
        &self.inner.state_dir
    }
}

fn snapshot(runtime: Runtime) -> Snapshot {
    let enabled: Vec<_> = runtime.tools().filter(|t| t.spec().enabled).cloned().collect();
    let assigned = names::assign(enabled.iter().map(|t| t.reference()));
    let by_ref: HashMap<&ToolRef, &str> = assigned.iter().map(|(n, r)| (r, n.as_str())).collect();
    let mut tools = Vec::with_capacity(enabled.len());
    let mut by_name = HashMap::with_capacity(enabled.len());
    for tool in &enabled {
        let Some(name) = by_ref.get(tool.reference()) else { continue };
        tools.push(mapping::describe(name, tool));
        by_name.insert(
            (*name).to_owned(),
            Served { reference: tool.reference().clone(), has_output_schema: tool.spec().output_schema.is_some() },
        );
    }
    Snapshot { runtime, tools, by_name }
}

/// Logs why declared tools are not served, and problems that concern no single tool.
fn report(runtime: &Runtime) {
    let catalog = runtime.catalog();
    for d in catalog.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        tracing::warn!("manifest problem: {d}");
    }
    for reference in catalog.tools.keys() {
        match runtime.tool(reference) {
            Err(e) => tracing::warn!(tool = %reference, "not served: {e}"),
            Ok(t) if !t.spec().enabled => tracing::info!(tool = %reference, "tool not served: disabled"),
            Ok(_) => {}
        }
    }
}
