//! Assembling a runtime from replaceable parts, with local-mode defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toolkit_core::{Catalog, ConnectorRegistry, Error, Result, SecretResolver};
use toolkit_state::StateStore;

use crate::approval::ApprovalNotifier;
use crate::limits::{MemoryRateLimiter, RateLimiter};
use crate::lookup::CatalogTools;
use crate::policy::{CallPolicy, ReadOnlyPolicy};
use crate::prepared::PreparedTool;
use crate::{Inner, Runtime};

/// Where a catalog comes from: local manifests today, the Kubernetes API for the operator.
pub trait CatalogSource: Send + Sync {
    /// Reads the catalog, validated against `connectors`. Blocking I/O is allowed: the builder
    /// calls this off the async threads.
    fn load(&self, connectors: &ConnectorRegistry) -> Result<Catalog>;
}

/// Manifest files and folders on the local disk, with the Secrets and ConfigMaps beside them.
#[derive(Clone, Debug)]
pub struct LocalFolders {
    paths: Vec<PathBuf>,
}

impl LocalFolders {
    /// The manifests under `paths`.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self { paths }
    }
}

impl CatalogSource for LocalFolders {
    fn load(&self, connectors: &ConnectorRegistry) -> Result<Catalog> {
        Catalog::load(&self.paths, connectors)
    }
}

/// Builds a [`Runtime`]. Every part left out gets the local-mode default: connectors from
/// [`connectors`](Self::connectors) (none otherwise), the catalog from the source, state in
/// SQLite under the state directory, credentials from the catalog's `kind: Secret` documents,
/// rate limits in memory, and the [`ReadOnlyPolicy`].
#[derive(Default)]
pub struct RuntimeBuilder {
    connectors: Option<ConnectorRegistry>,
    source: Option<Arc<dyn CatalogSource>>,
    catalog: Option<Catalog>,
    state: Option<StateStore>,
    state_dir: Option<PathBuf>,
    secrets: Option<Arc<dyn SecretResolver>>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    policy: Option<Arc<dyn CallPolicy>>,
    notifier: Option<Arc<dyn ApprovalNotifier>>,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("connectors", &self.connectors)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// The connectors tools are validated and built with.
    pub fn connectors(mut self, connectors: ConnectorRegistry) -> Self {
        self.connectors = Some(connectors);
        self
    }

    /// Where the catalog comes from.
    pub fn source(mut self, source: impl CatalogSource + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// A catalog already loaded (and validated against the same connectors).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The state store.
    pub fn state(mut self, state: StateStore) -> Self {
        self.state = Some(state);
        self
    }

    /// The state at `dir`, a directory for SQLite or a `postgres://` URL (used when no
    /// [`state`](Self::state) is given).
    pub fn state_dir(mut self, dir: &Path) -> Self {
        self.state_dir = Some(dir.to_owned());
        self
    }

    /// Where credentials are resolved.
    pub fn secrets(mut self, secrets: Arc<dyn SecretResolver>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Where the rate-limit buckets live. Passing the same limiter to the runtime of a
    /// reloaded catalog keeps the budgets spent.
    pub fn rate_limiter(mut self, rate_limiter: Arc<dyn RateLimiter>) -> Self {
        self.rate_limiter = Some(rate_limiter);
        self
    }

    /// The policy every call and command is checked with.
    pub fn policy(mut self, policy: Arc<dyn CallPolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Who hears of approval requests as they are made and decided.
    pub fn approval_notifier(mut self, notifier: Arc<dyn ApprovalNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Loads the catalog (off the async threads) and opens the state when they were not given,
    /// then prepares every valid tool.
    pub async fn build(self) -> Result<Runtime> {
        let connectors = self.connectors.clone().unwrap_or_default();
        let catalog = match (self.catalog.clone(), self.source.clone()) {
            (Some(c), _) => c,
            (None, Some(source)) => {
                let connectors = connectors.clone();
                tokio::task::spawn_blocking(move || source.load(&connectors))
                    .await
                    .map_err(|e| Error::internal("load the catalog").with_source(e))??
            }
            (None, None) => Catalog::default(),
        };
        let state = match (&self.state, &self.state_dir) {
            (Some(s), _) => s.clone(),
            (None, Some(dir)) => StateStore::open_path(dir).await?,
            (None, None) => {
                return Err(Error::config("build the runtime: give it a state store or a state directory"));
            }
        };
        Ok(self.assemble(catalog, connectors, state))
    }

    /// Prepares every valid tool of `catalog`; no I/O.
    fn assemble(self, catalog: Catalog, connectors: ConnectorRegistry, state: StateStore) -> Runtime {
        let secrets: Arc<dyn SecretResolver> = self.secrets.unwrap_or_else(|| Arc::new(catalog.secrets.clone()));
        let rate_limiter = self.rate_limiter.unwrap_or_else(|| Arc::new(MemoryRateLimiter::new()));
        let config_maps = Arc::new(catalog.config_maps.clone());
        let lookup = Arc::new(CatalogTools::new(&catalog));
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
            let parts = crate::prepared::Parts {
                connectors: &connectors,
                secrets: secrets.clone(),
                config_maps: config_maps.clone(),
                rate_limiter: rate_limiter.as_ref(),
                tools: lookup.clone(),
            };
            match PreparedTool::prepare(reference.clone(), tool, &parts) {
                Ok(p) => {
                    prepared.insert(reference.clone(), Arc::new(p));
                }
                Err(e) => {
                    unserved.insert(reference.clone(), e.to_string());
                }
            }
        }
        lookup.prepared(&prepared, &unserved);
        Runtime {
            inner: Arc::new(Inner {
                catalog,
                connectors,
                state,
                secrets,
                prepared,
                unserved,
                policy: self.policy.unwrap_or_else(|| Arc::new(ReadOnlyPolicy)),
                rate_limiter,
                notifier: self.notifier,
            }),
        }
    }
}
