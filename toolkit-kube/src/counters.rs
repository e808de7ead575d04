//! Call counts reported to `Tool.status`: a gateway counts calls in its state store, and this
//! adds what was counted since the last report to the Tool's `status.invocationCount` and
//! `status.errorCount` (with `lastError`), in batches, never on the call path. Adding (rather
//! than writing totals) lets several gateways report to the same Tool; each write carries the
//! `resourceVersion` it read, so two reports never overwrite each other.

use std::collections::HashMap;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::core::DynamicObject;
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolkit_core::ToolRef;
use toolkit_core::model::ToolStatus;
use toolkit_state::StateStore;

use crate::catalog::tool_resource;

/// How often counts are reported by default.
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(30);

/// Attempts at one Tool's write when another writer got there first.
const CONFLICT_RETRIES: usize = 5;

/// Adds the calls a state store counted to the status of the Tools they were made to.
pub struct CounterReporter {
    client: Client,
    state: StateStore,
    /// Counts (calls, errors) already reported, per tool.
    reported: HashMap<ToolRef, (u64, u64)>,
}

impl std::fmt::Debug for CounterReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterReporter").field("tools", &self.reported.len()).finish_non_exhaustive()
    }
}

impl CounterReporter {
    /// A reporter that starts from what `state` counts now: calls counted before are not
    /// reported (they were, by the run that made them, or they belong to another cluster).
    pub async fn new(client: Client, state: StateStore) -> toolkit_core::Result<Self> {
        let reported = state.statuses().await?.into_iter().map(|(r, s)| (r, counts(&s))).collect();
        Ok(Self { client, state, reported })
    }

    /// Reports what was counted since the last report; returns how many Tools were written.
    /// A Tool that is gone is skipped; a Tool that could not be written is tried again at the
    /// next report.
    pub async fn report(&mut self) -> toolkit_core::Result<usize> {
        let mut written = 0;
        for (tool, status) in self.state.statuses().await? {
            let now = counts(&status);
            let before = self.reported.get(&tool).copied().unwrap_or_default();
            let (calls, errors) = (now.0.saturating_sub(before.0), now.1.saturating_sub(before.1));
            if calls == 0 && errors == 0 {
                continue;
            }
            let last_error = if errors > 0 { status.last_error.as_deref() } else { None };
            match self.add(&tool, calls, errors, last_error).await {
                Ok(found) => {
                    self.reported.insert(tool, now);
                    written += usize::from(found);
                }
                Err(e) => tracing::warn!(tool = %tool, "report call counts to the Tool's status: {e}"),
            }
        }
        Ok(written)
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
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(tools = n, "call counts reported to Tool status"),
                    Err(e) => tracing::warn!("report call counts: {e}"),
                }
                if last {
                    return;
                }
            }
        })
    }
}

fn counts(status: &ToolStatus) -> (u64, u64) {
    (status.invocation_count, status.error_count)
}
