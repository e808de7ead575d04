//! The runtime: a loaded catalog of tools, prepared once, and the one pipeline every call goes
//! through, whether it comes from the CLI (`toolkit tool call`) or from an agent over MCP.
//!
//! Preparing a tool compiles its input schema, takes its rate-limit buckets from the
//! [`RateLimiter`] and asks its connector for an instance (pools connect lazily). A call then
//! runs: find the tool (within the caller's [`Scope`]), check it is enabled, validate the
//! arguments, rate-limit, ask the policy, classify the call and wait for approval where needed
//! (see `approval`), invoke with the tool's timeout, cap the output, redact every secret value,
//! count, and write the audit record before replying.

mod approval;
mod caller;
mod imports;
mod limits;
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
use toolkit_core::secret::SecretStore;
use toolkit_core::{Catalog, ConnectorRegistry, Error, Result, ToolRef, ToolType};
use toolkit_state::StateStore;

pub use approval::DEFAULT_APPROVAL_TIMEOUT;
pub use caller::{Caller, Scope};
pub use imports::Imports;
pub use limits::{MemoryRateLimiter, RETRY_AFTER_MS, RateLimiter, ToolLimiter, retry_after};
#[cfg(feature = "rate-limit-redis")]
pub use limits::{RedisLimitOptions, RedisRateLimiter};
pub use permissions::PermissionsReport;
pub use pipeline::{CallObserver, CallOutcome};
pub use policy::{CallPolicy, Decision, ReadOnlySqlPolicy};
pub use prepared::PreparedTool;
pub use probe::ProbeOutcome;

/// Where a runtime reads tools and keeps state.
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
struct Inner {
    catalog: Catalog,
    connectors: ConnectorRegistry,
    state: StateStore,
    secrets: Arc<SecretStore>,
    prepared: BTreeMap<ToolRef, Arc<PreparedTool>>,
    unserved: BTreeMap<ToolRef, String>,
    policy: Arc<dyn CallPolicy>,
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
    /// Loads the manifests, opens the state and prepares every valid tool.
    pub async fn load(options: &RuntimeOptions) -> Result<Self> {
        let connectors = toolkit_connectors::registry();
        let catalog = Catalog::load(&options.tools, &connectors)?;
        let state = StateStore::open(&options.state_dir).await?;
        Ok(Self::from_parts(catalog, connectors, state))
    }

    /// Builds a runtime from a catalog that is already loaded (for embedding), with rate limits
    /// kept in memory.
    pub fn from_parts(catalog: Catalog, connectors: ConnectorRegistry, state: StateStore) -> Self {
        Self::from_parts_with(catalog, connectors, state, &MemoryRateLimiter::new())
    }

    /// [`from_parts`](Self::from_parts) with the rate-limit buckets taken from `rate_limiter`.
    /// Passing the same limiter to the runtime of a reloaded catalog keeps the budgets spent.
    pub fn from_parts_with(
        catalog: Catalog,
        connectors: ConnectorRegistry,
        state: StateStore,
        rate_limiter: &dyn RateLimiter,
    ) -> Self {
        let secrets = Arc::new(catalog.secrets.clone());
        let config_maps = Arc::new(catalog.config_maps.clone());
        let mut prepared = BTreeMap::new();
        let mut unserved = BTreeMap::new();
        for (reference, loaded) in &catalog.tools {
            if let Some(d) = loaded.first_error() {
                unserved.insert(reference.clone(), d.to_string());
                continue;
            }
            let Some(tool) = loaded.tool.clone() else { continue };
            if !tool.spec.enabled {
                unserved.insert(reference.clone(), "disabled (spec.enabled: false)".into());
            }
            let prepared_tool = PreparedTool::prepare(
                reference.clone(),
                tool,
                &connectors,
                secrets.clone(),
                config_maps.clone(),
                rate_limiter,
                &catalog,
            );
            match prepared_tool {
                Ok(p) => {
                    prepared.insert(reference.clone(), Arc::new(p));
                }
                Err(e) => {
                    unserved.insert(reference.clone(), e.to_string());
                }
            }
        }
        Self {
            inner: Arc::new(Inner {
                catalog,
                connectors,
                state,
                secrets,
                prepared,
                unserved,
                policy: Arc::new(ReadOnlySqlPolicy),
            }),
        }
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

    /// Every secret value known, for redaction by embedders.
    pub fn secret_values(&self) -> Vec<toolkit_core::SecretString> {
        use toolkit_core::SecretResolver as _;
        self.inner.secrets.known_values("")
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
                (Some(_), _) => ToolPhase::Error,
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
                type_: spec.map_or_else(|| "?".into(), |s| s.type_.to_string()),
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

/// Whether a type speaks SQL (for the read-only check).
pub fn sql_dialect(t: ToolType) -> Option<toolkit_policy::SqlDialect> {
    use toolkit_policy::SqlDialect;
    match t {
        ToolType::Postgres | ToolType::Cockroachdb | ToolType::Redshift => Some(SqlDialect::Postgres),
        ToolType::Mysql => Some(SqlDialect::MySql),
        ToolType::Sqlite => Some(SqlDialect::Sqlite),
        ToolType::Sqlserver | ToolType::Clickhouse | ToolType::Snowflake | ToolType::Bigquery | ToolType::Oracle => {
            Some(SqlDialect::Generic)
        }
        _ => None,
    }
}

/// A registry with every connector compiled into this build.
pub fn registry() -> ConnectorRegistry {
    toolkit_connectors::registry()
}
