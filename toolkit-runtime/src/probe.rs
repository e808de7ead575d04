//! Probing tools and recording the outcome.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::model::ToolSpec;
use toolkit_core::model::{LastProbe, ToolPhase};
use toolkit_core::secret::{SecretString, redact_text};
use toolkit_core::{Error, ErrorKind, Result, ToolRef};
use toolkit_state::{AuditRecord, Decision, Outcome};

use crate::Runtime;

/// Time one probe may take unless the tool says otherwise.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Probes run at once by `probe_all`; a caller that probes [`Runtime::probe_targets`] itself
/// should keep to the same bound.
pub const PROBE_CONCURRENCY: usize = 8;

/// The outcome of one probe.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeOutcome {
    /// The tool.
    pub tool: ToolRef,
    /// The phase it is in now.
    pub phase: ToolPhase,
    /// What was recorded.
    pub probe: LastProbe,
}

/// Runs one tool's probe within its timeout (`spec.probe.timeout`, else
/// [`DEFAULT_PROBE_TIMEOUT`]) and says what it found: `Ready` and the server's version, or
/// `Failed` with the error's kind and its one-line text, every value of `secrets` redacted. The
/// CLI and the operator both probe through here.
pub async fn run_probe(probe: &dyn Probe, spec: &ToolSpec, secrets: &[SecretString]) -> (ToolPhase, LastProbe) {
    let settings = spec.probe.as_ref().map(|p| p.spec()).unwrap_or_default();
    let timeout = settings.timeout.map_or(DEFAULT_PROBE_TIMEOUT, |d| d.get());
    let started = Instant::now();
    let time = chrono::Utc::now();
    let result: Result<ProbeReport> = match tokio::time::timeout(timeout, probe.probe()).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(ErrorKind::Timeout, format!("probe did not answer within {timeout:?}"))),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(report) => (
            ToolPhase::Ready,
            LastProbe {
                time,
                ok: true,
                latency_ms,
                server_version: report.server_version,
                error_kind: None,
                error: None,
            },
        ),
        Err(e) => {
            let e = e.map_text(|s| redact_text(s, secrets));
            (
                ToolPhase::Failed,
                LastProbe {
                    time,
                    ok: false,
                    latency_ms,
                    server_version: None,
                    error_kind: Some(e.kind().as_str().to_owned()),
                    error: Some(e.to_string()),
                },
            )
        }
    }
}

impl Runtime {
    /// Probes one tool, records the outcome in state, and returns it. A failed probe is an
    /// outcome (phase `Failed`), not an `Err`; `Err` means the tool could not be probed at all.
    pub async fn probe(&self, reference: &ToolRef) -> Result<ProbeOutcome> {
        let tool = self.tool(reference)?;
        let spec = tool.spec();
        let Some(probe) = tool.instance().probe() else {
            return Err(Error::unsupported(format!("probe a `{}` tool: this type has no probe", spec.type_))
                .with_context("tool", reference));
        };
        let (phase, record) = run_probe(probe, spec, &self.secret_values()).await;
        let (time, latency_ms) = (record.time, record.latency_ms);
        self.state().record_probe(reference, &record, phase).await?;
        self.state()
            .append_audit(&AuditRecord {
                id: 0,
                time,
                caller: crate::Caller::local().id,
                tool: reference.clone(),
                operation: "probe".into(),
                arguments: None,
                decision: Decision::Allowed,
                duration_ms: latency_ms,
                outcome: if record.ok { Outcome::Ok } else { Outcome::Error },
                error_kind: record.error_kind.clone(),
                error: record.error.clone(),
            })
            .await?;
        Ok(ProbeOutcome { tool: reference.clone(), phase, probe: record })
    }

    /// The tools `probe_all` probes, in catalog order: every enabled tool that has a probe and
    /// does not switch it off.
    pub fn probe_targets(&self) -> Vec<ToolRef> {
        self.tools()
            .filter(|t| t.spec().enabled && t.instance().probe().is_some())
            .filter(|t| t.spec().probe.as_ref().is_none_or(|p| p.spec().enabled))
            .map(|t| t.reference().clone())
            .collect()
    }

    /// Probes every [target](Self::probe_targets), several at once, in catalog order.
    pub async fn probe_all(&self) -> Vec<(ToolRef, Result<ProbeOutcome>)> {
        futures::stream::iter(self.probe_targets())
            .map(|r| async move {
                let out = self.probe(&r).await;
                (r, out)
            })
            .buffered(PROBE_CONCURRENCY)
            .collect()
            .await
    }
}
