//! The runtime: a loaded catalog of tools, prepared once, and the one pipeline every request
//! goes through, whether an agent's call (`toolkit tool call`, the gateway) or a person's
//! command through a session (`toolkit tool exec`).
//!
//! [`Runtime::builder`] takes each part as a replaceable piece: where the catalog comes from
//! ([`CatalogSource`]), the [`StateStore`], the [`SecretResolver`], the [`RateLimiter`], the
//! [`CallPolicy`] and the [`ConnectorRegistry`]; what is left out gets the local-mode default.
//! Preparing a tool compiles its input schema, takes its rate-limit buckets and asks its
//! connector for an instance (pools connect lazily). A request then runs the named steps of
//! [`Step`]: scope, enabled, arguments, rate limit, classify, policy, approval, invoke, cap,
//! redact, count and audit; each refusal is a typed [`Decision`] the audit record keeps.

mod approval;
mod builder;
mod caller;
mod decide;
mod imports;
mod limits;
mod lookup;
mod permissions;
mod pipeline;
mod policy;
mod prepared;
mod probe;

pub mod describe;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use toolkit_core::manifest::Origin;
use toolkit_core::model::ToolPhase;
use toolkit_core::{Catalog, ConnectorRegistry, Error, Result, SecretResolver, ToolRef};
use toolkit_state::StateStore;

pub use approval::{ApprovalNotifier, DEFAULT_APPROVAL_TIMEOUT};
pub use builder::{CatalogSource, LocalFolders, RuntimeBuilder};
pub use caller::{Caller, Scope};
pub use decide::{MAX_REASON_CHARS, decide_approval};
pub use imports::Imports;
pub use limits::{MemoryRateLimiter, RETRY_AFTER_MS, RateLimiter, ToolLimiter, quota_numbers, retry_after};
pub use permissions::PermissionsReport;
pub use pipeline::{CallObserver, CallOutcome, SessionOpener, Step};
pub use policy::{CallPolicy, PolicyDecision, PolicyRequest, ReadOnlyPolicy};
pub use prepared::PreparedTool;
pub use probe::{DEFAULT_PROBE_TIMEOUT, PROBE_CONCURRENCY, ProbeOutcome, run_probe};
pub use toolkit_state::{Decision, Refusal};

/// Where a local-mode runtime reads tools and keeps state.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Manifest files or folders.
    pub tools: Vec<PathBuf>,
    /// State directory.
    pub state_dir: PathBuf,
}

/// A loaded, prepared catalog with its state store. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    catalog: Catalog,
    connectors: ConnectorRegistry,
    state: StateStore,
    secrets: Arc<dyn SecretResolver>,
    prepared: BTreeMap<ToolRef, Arc<PreparedTool>>,
    unserved: BTreeMap<ToolRef, String>,
    policy: Arc<dyn CallPolicy>,
    rate_limiter: Arc<dyn RateLimiter>,
    notifier: Option<Arc<dyn ApprovalNotifier>>,
}

/// One line of `toolkit tool list`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolListing {
    /// Namespace and name.
    pub tool: ToolRef,
    /// `spec.type`, or `?` when the manifest did not parse.
    #[serde(rename = "type")]
    pub type_: String,
    /// Phase from validation, configuration and the latest probe.
    pub phase: ToolPhase,
    /// Whether the tool is served to agents.
    pub served: bool,
    /// Why it is not served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `spec.description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Calls made.
    pub invocation_count: u64,
    /// Calls failed.
    pub error_count: u64,
    /// Latest probe latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Latest server version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The manifest file.
    pub source: PathBuf,
    /// Native, registry or imported.
    pub origin: Origin,
}

impl Runtime {
    /// A builder: say what differs from local mode, then [`build`](RuntimeBuilder::build).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A local-mode runtime: the manifests under `options.tools` read with `connectors`, and
    /// the state in `options.state_dir`.
    pub async fn load(options: &RuntimeOptions, connectors: ConnectorRegistry) -> Result<Self> {
        Runtime::builder()
            .connectors(connectors)
            .source(LocalFolders::new(options.tools.clone()))
            .state_dir(&options.state_dir)
            .build()
            .await
    }

    /// Where this runtime's rate-limit buckets live; give it to the runtime of a reloaded
    /// catalog to keep the budgets spent.
    pub fn rate_limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.inner.rate_limiter
    }

    /// Who hears of approval requests, if anyone.
    pub fn notifier(&self) -> Option<&Arc<dyn ApprovalNotifier>> {
        self.inner.notifier.as_ref()
    }

    /// The policy every call is checked with.
    pub fn policy(&self) -> &Arc<dyn CallPolicy> {
        &self.inner.policy
    }

    /// The catalog as loaded.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The connectors of this build.
    pub fn connectors(&self) -> &ConnectorRegistry {
        &self.inner.connectors
    }

    /// The state store.
    pub fn state(&self) -> &StateStore {
        &self.inner.state
    }

    /// Every secret value the resolver could hand out, for redaction.
    pub fn secret_values(&self) -> Vec<toolkit_core::SecretString> {
        self.inner.secrets.known_values("")
    }

    /// The resolver credentials come from.
    pub fn secrets(&self) -> &Arc<dyn SecretResolver> {
        &self.inner.secrets
    }

    /// A prepared (valid) tool, or an error that says why it is not available.
    pub fn tool(&self, reference: &ToolRef) -> Result<&Arc<PreparedTool>> {
        if let Some(p) = self.inner.prepared.get(reference) {
            return Ok(p);
        }
        self.inner.catalog.get(reference)?;
        let reason = self.inner.unserved.get(reference).cloned().unwrap_or_else(|| "not prepared".into());
        Err(Error::config(format!("tool {reference} is not usable: {reason}"))
            .with_context("hint", "run `toolkit validate`"))
    }

    /// Prepared tools, sorted by reference.
    pub fn tools(&self) -> impl Iterator<Item = &Arc<PreparedTool>> {
        self.inner.prepared.values()
    }

    /// Every declared tool with its phase and, when it is not served, why.
    pub async fn list(&self) -> Result<Vec<ToolListing>> {
        let statuses = self.inner.state.statuses().await?;
        let mut out = Vec::new();
        for (reference, loaded) in &self.inner.catalog.tools {
            let status = statuses.get(reference).cloned().unwrap_or_default();
            let spec = loaded.tool.as_ref().map(|t| &t.spec);
            let reason = self.inner.unserved.get(reference).cloned();
            let phase = match (&reason, spec) {
                (_, Some(s)) if !s.enabled => ToolPhase::Disabled,
                (Some(_), _) => ToolPhase::Failed,
                (None, _) => status.phase,
            };
            let probe_failed = status.last_probe.as_ref().is_some_and(|p| !p.ok);
            let reason = reason.or_else(|| {
                probe_failed.then(|| {
                    format!(
                        "last probe failed: {}",
                        status.last_probe.as_ref().and_then(|p| p.error.clone()).unwrap_or_default()
                    )
                })
            });
            out.push(ToolListing {
                tool: reference.clone(),
                type_: spec.map_or_else(|| "?".into(), |s| s.type_.clone()),
                served: reason.is_none() && phase != ToolPhase::Disabled,
                phase,
                reason,
                description: spec.and_then(|s| s.description.clone()),
                invocation_count: status.invocation_count,
                error_count: status.error_count,
                latency_ms: status.last_probe.as_ref().map(|p| p.latency_ms),
                server_version: status.last_probe.as_ref().and_then(|p| p.server_version.clone()),
                source: loaded.source.clone(),
                origin: loaded.origin.clone(),
            });
        }
        Ok(out)
    }

    /// Closes every instance's pools and the state database.
    pub async fn shutdown(&self) {
        for p in self.inner.prepared.values() {
            p.instance().shutdown().await;
        }
        self.inner.state.close().await;
    }
}
