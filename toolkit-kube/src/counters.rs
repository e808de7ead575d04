//! Call counts reported to `Tool.status`: a gateway counts the calls it serves, and this adds
//! what it counted since the last report to the Tool's `status.invocationCount` and
//! `status.errorCount` (with `lastError` from the state store), in batches, never on the call
//! path. Each process adds only the calls it served itself (not the state store's counters,
//! which replicas may share), so several gateways add up; each write carries the
//! `resourceVersion` it read, so two reports never overwrite each other.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::core::DynamicObject;
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolkit_core::ToolRef;
use toolkit_state::StateStore;

use crate::catalog::tool_resource;

/// How often counts are reported by default.
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(30);

/// Attempts at one Tool's write when another writer got there first.
const CONFLICT_RETRIES: usize = 5;

/// The calls this process served, per tool, since it started: `(tool, calls, errors)`.
pub type CallCounts = Arc<dyn Fn() -> Vec<(ToolRef, u64, u64)> + Send + Sync>;

/// Adds the calls a process served to the status of the Tools they were made to.
pub struct CounterReporter {
    client: Client,
    counts: CallCounts,
    state: Option<StateStore>,
    /// Counts (calls, errors) already reported, per tool.
    reported: HashMap<ToolRef, (u64, u64)>,
}

impl std::fmt::Debug for CounterReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterReporter").field("tools", &self.reported.len()).finish_non_exhaustive()
    }
}

impl CounterReporter {
    /// A reporter of what `counts` says, with the latest error of a tool read from `state`.
    pub fn new(client: Client, counts: CallCounts, state: Option<StateStore>) -> Self {
        Self { client, counts, state, reported: HashMap::new() }
    }

    /// Reports what was counted since the last report; returns how many Tools were written.
    /// A Tool that is gone is skipped; a Tool that could not be written is tried again at the
    /// next report, with what was counted meanwhile.
    pub async fn report(&mut self) -> usize {
        let mut written = 0;
        for (tool, total, failed) in (self.counts)() {
            let now = (total, failed);
            let before = self.reported.get(&tool).copied().unwrap_or_default();
            let (calls, errors) = (now.0.saturating_sub(before.0), now.1.saturating_sub(before.1));
            if calls == 0 && errors == 0 {
                continue;
            }
            let last_error = match &self.state {
                Some(state) if errors > 0 => state.status(&tool).await.ok().flatten().and_then(|s| s.last_error),
                _ => None,
            };
            match self.add(&tool, calls, errors, last_error.as_deref()).await {
                Ok(found) => {
                    self.reported.insert(tool, now);
                    written += usize::from(found);
                }
                Err(e) => tracing::warn!(tool = %tool, "report call counts to the Tool's status: {e}"),
            }
        }
        written
    }

    /// Adds to one Tool's counters; `false` when the Tool does not exist.
    async fn add(&self, tool: &ToolRef, calls: u64, errors: u64, last_error: Option<&str>) -> Result<bool, String> {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &tool.namespace, &tool_resource());
        for _ in 0..CONFLICT_RETRIES {
            let Some(obj) = api.get_opt(&tool.name).await.map_err(|e| e.to_string())? else { return Ok(false) };
            let count =
                |field: &str| obj.data.pointer(&format!("/status/{field}")).and_then(Value::as_u64).unwrap_or(0);
            let mut status = json!({
                "invocationCount": count("invocationCount").saturating_add(calls),
                "errorCount": count("errorCount").saturating_add(errors),
            });
            if let Some(e) = last_error {
                status["lastError"] = json!(e);
            }
            let patch = json!({
                "metadata": {"resourceVersion": obj.metadata.resource_version},
                "status": status,
            });
            match api.patch_status(&tool.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => return Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(format!("the Tool kept changing ({CONFLICT_RETRIES} conflicting writes)"))
    }

    /// Reports every `interval` until `stop` is cancelled, then once more.
    pub fn spawn(mut self, interval: Duration, stop: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                let last = tokio::select! {
                    () = stop.cancelled() => true,
                    _ = ticks.tick() => false,
                };
                match self.report().await {
                    0 => {}
                    n => tracing::debug!(tools = n, "call counts reported to Tool status"),
                }
                if last {
                    return;
                }
            }
        })
    }
}
