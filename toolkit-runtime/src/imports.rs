//! Tools imported from the upstream MCP servers of `ToolRegistry` resources, followed in the
//! background by the build's [`UpstreamImporter`], and runtimes that serve them.
//!
//! [`Imports::sync`] starts following each valid upstream of a catalog's registries (keeping
//! the ones already followed whose settings and Secrets did not change, stopping the others);
//! [`Imports::changes`] wakes whoever serves them when an upstream's list changed; and
//! [`Runtime::with_imports`] makes a runtime that also serves the imported tools, as tools of
//! the registry's namespace with [`Origin::Registry`]. A declared tool that leaves its
//! description to its server ([`ToolInstance::follow_description`]: an `mcp` tool without
//! `inputSchema`) is followed too, on its own connection, keyed by the tool and an empty
//! upstream name, and served with the server's schema (which then validates its arguments),
//! description and annotations where the manifest gives none. A runtime is never changed in place: a
//! server swaps in the new one, as it does when manifests are reloaded. Instances are shared,
//! so the swap keeps connections and pools.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use toolkit_core::manifest::{LoadedTool, Origin};
use toolkit_core::upstream::{FollowContext, FollowedUpstream, Imported, UpstreamImporter};
use toolkit_core::{Catalog, ToolInstance, ToolRef};

use crate::Runtime;

/// The upstreams followed for one server process. Cheap to clone.
#[derive(Clone)]
pub struct Imports {
    inner: Arc<Inner>,
}

struct Inner {
    running: Mutex<BTreeMap<(ToolRef, String), Running>>,
    changes: watch::Sender<u64>,
}

/// One followed upstream.
struct Running {
    /// What it was started from: a change restarts it.
    fingerprint: Started,
    source: PathBuf,
    import: Box<dyn FollowedUpstream>,
}

/// What a followed upstream was started from.
enum Started {
    /// A registry's upstream.
    Upstream(Box<Fingerprint>),
    /// A declared tool's instance, describing itself.
    Tool(Arc<dyn ToolInstance>),
}

impl PartialEq for Started {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Started::Upstream(a), Started::Upstream(b)) => a == b,
            (Started::Tool(a), Started::Tool(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            _ => false,
        }
    }
}

/// An upstream's settings and the values of the Secrets it references.
#[derive(PartialEq)]
struct Fingerprint {
    upstream: toolkit_core::model::RegistryUpstream,
    secrets: Vec<Option<toolkit_core::SecretString>>,
}

impl Default for Imports {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Imports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_list().entries(running.keys().map(|(r, u)| format!("{r}: {u}"))).finish()
    }
}

impl Imports {
    /// Follows nothing yet.
    pub fn new() -> Self {
        Self { inner: Arc::new(Inner { running: Mutex::new(BTreeMap::new()), changes: watch::Sender::new(0) }) }
    }

    /// Bumped whenever what the upstreams contribute may have changed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// The current value of [`changes`](Self::changes): a runtime made by
    /// [`Runtime::with_imports`] after reading it holds every change up to it.
    pub fn generation(&self) -> u64 {
        *self.inner.changes.borrow()
    }

    /// Follows the valid upstreams of `runtime`'s registries and the tools that describe
    /// themselves, and only those; returns whether any was started or stopped. Needs a tokio
    /// runtime. An upstream whose settings are invalid is skipped (validation reports why).
    pub async fn sync(&self, runtime: &Runtime) -> bool {
        self.sync_some(runtime, true).await
    }

    /// [`sync`](Self::sync) for the registries' upstreams only, for a short-lived process that
    /// should not connect to every tool's server to describe it.
    pub async fn sync_upstreams(&self, runtime: &Runtime) -> bool {
        self.sync_some(runtime, false).await
    }

    async fn sync_some(&self, runtime: &Runtime, described: bool) -> bool {
        let catalog = runtime.catalog();
        let desired = desired(catalog, runtime, described);
        let mut stopped = Vec::new();
        let mut changed = false;
        {
            let mut running = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner);
            let keys: Vec<_> = running.keys().cloned().collect();
            for key in keys {
                let keep = desired.get(&key).is_some_and(|(fingerprint, _)| running[&key].fingerprint == *fingerprint);
                if !keep && let Some(old) = running.remove(&key) {
                    stopped.push(old);
                    changed = true;
                }
            }
            for (key, (fingerprint, source)) in desired {
                if running.contains_key(&key) {
                    continue;
                }
                if let Some(r) = self.start(runtime, &key, fingerprint, source) {
                    running.insert(key, r);
                    changed = true;
                }
            }
        }
        for old in stopped {
            old.import.shutdown().await;
        }
        if changed {
            self.inner.changes.send_modify(|g| *g += 1);
        }
        changed
    }

    fn start(
        &self,
        runtime: &Runtime,
        key: &(ToolRef, String),
        fingerprint: Started,
        source: PathBuf,
    ) -> Option<Running> {
        let changes = self.inner.changes.clone();
        let changed = Arc::new(move || changes.send_modify(|g| *g += 1));
        let fingerprint = match fingerprint {
            Started::Tool(instance) => {
                let import = instance.follow_description(changed)?;
                tracing::debug!(tool = %key.0, "following the server's description of the tool");
                return Some(Running { fingerprint: Started::Tool(instance), source, import });
            }
            Started::Upstream(f) => *f,
        };
        let (registry, _) = key;
        let Some(importer) = runtime.connectors().importer() else {
            tracing::warn!(registry = %key.0, upstream = %key.1, "not imported: this build has no upstream importer");
            return None;
        };
        let ctx = FollowContext {
            namespace: registry.namespace.clone(),
            upstream: fingerprint.upstream.clone(),
            secrets: runtime.secrets().clone(),
            config_maps: Arc::new(runtime.catalog().config_maps.clone()),
        };
        match importer.follow(ctx, changed) {
            Ok(import) => {
                tracing::info!(registry = %registry, upstream = %fingerprint.upstream.name, "following upstream MCP server");
                Some(Running { fingerprint: Started::Upstream(Box::new(fingerprint)), source, import })
            }
            Err(e) => {
                tracing::warn!(registry = %registry, "not imported: {e}");
                None
            }
        }
    }

    /// Waits until every upstream's first attempt is over (or `timeout` has passed), so that a
    /// server's first tool list holds what can be imported.
    pub async fn settled(&self, timeout: Duration) {
        let mut changes = self.changes();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if self.current().iter().all(|(_, _, settled, _)| *settled) {
                return;
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }

    /// Stops following every upstream and closes their connections.
    pub async fn shutdown(&self) {
        let all: Vec<Running> = std::mem::take(&mut *self.inner.running.lock().unwrap_or_else(PoisonError::into_inner))
            .into_values()
            .collect();
        for r in &all {
            r.import.shutdown().await;
        }
        drop(all);
    }

    /// For each upstream: its registry and name (a described tool and `""`), the registry's
    /// file, whether its first attempt is over, and the tools it contributes.
    fn current(&self) -> Vec<((ToolRef, String), PathBuf, bool, Imported)> {
        let running = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner);
        running
            .iter()
            .map(|(key, r)| {
                let imported = r.import.current();
                (key.clone(), r.source.clone(), imported.settled, imported)
            })
            .collect()
    }
}

/// The valid upstreams of `catalog`'s registries, keyed by registry and upstream name, and the
/// tools that describe themselves, keyed by tool and `""`.
fn desired(catalog: &Catalog, runtime: &Runtime, described: bool) -> BTreeMap<(ToolRef, String), (Started, PathBuf)> {
    let mut out = BTreeMap::new();
    for (reference, (registry, file)) in &catalog.registries {
        let problems = catalog.registry_problems(reference, &registry.spec, runtime.connectors());
        for (i, upstream) in registry.spec.upstreams.iter().enumerate() {
            let at = format!("spec.upstreams[{i}]");
            if problems.iter().any(|p| p.path.starts_with(&at)) {
                continue;
            }
            let secrets = upstream_secrets(runtime.connectors().importer(), upstream)
                .iter()
                .map(|sel| catalog.secrets.get(&reference.namespace, sel).ok())
                .collect();
            // The registry's rate limit and approval rules stand in for the upstream's own.
            let mut upstream = upstream.clone();
            upstream.rate_limit = upstream.rate_limit.or_else(|| registry.spec.rate_limit.clone());
            upstream.approval = upstream.approval.or_else(|| registry.spec.approval.clone());
            let key = (reference.clone(), upstream.name.clone());
            let fingerprint = Fingerprint { upstream, secrets };
            out.insert(key, (Started::Upstream(Box::new(fingerprint)), file.clone()));
        }
    }
    for tool in runtime.tools().filter(|t| described && t.spec().enabled) {
        let source = catalog.tools.get(tool.reference()).map(|t| t.source.clone()).unwrap_or_default();
        out.insert((tool.reference().clone(), String::new()), (Started::Tool(tool.instance().clone()), source));
    }
    out
}

/// The Secrets an upstream's settings reference, as the importer reports them.
fn upstream_secrets(
    importer: Option<&Arc<dyn UpstreamImporter>>,
    upstream: &toolkit_core::model::RegistryUpstream,
) -> Vec<toolkit_core::model::SecretKeySelector> {
    importer
        .map(|i| i.references(upstream, "spec.upstreams[*]"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| match r {
            toolkit_core::Reference::Secret { selector, .. } => Some(selector),
            toolkit_core::Reference::ConfigMap { .. } => None,
        })
        .collect()
}

impl Runtime {
    /// This runtime plus the tools `imports` contributes now, each as a tool of its registry's
    /// namespace. A declared tool of the same name wins (the imported one is logged and left
    /// out); an upstream input schema that does not compile is replaced by a permissive one.
    pub fn with_imports(&self, imports: &Imports) -> Runtime {
        {
            let groups = imports.current();
            if groups.iter().all(|(_, _, _, imported)| imported.tools.is_empty()) {
                return self.clone();
            }
            let mut inner = (*self.inner).clone();
            for ((registry, upstream), source, _, imported) in groups {
                if upstream.is_empty() {
                    describe(&mut inner, &registry, &imported);
                    continue;
                }
                for t in &imported.tools {
                    let reference = ToolRef::new(&registry.namespace, &t.name);
                    if inner.catalog.tools.contains_key(&reference) {
                        tracing::warn!(tool = %reference, registry = %registry, "not imported: a tool of that name exists");
                        continue;
                    }
                    let info = self.connectors().get(&t.tool.spec.type_).ok().map(|c| c.info());
                    let prepared = match crate::PreparedTool::with_instance(
                        reference.clone(),
                        t.tool.clone(),
                        t.instance.clone(),
                        info,
                        inner.rate_limiter.as_ref(),
                    ) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(tool = %reference, "not imported: {e}");
                            continue;
                        }
                    };
                    inner.catalog.tools.insert(
                        reference.clone(),
                        LoadedTool {
                            reference: reference.clone(),
                            tool: Some(t.tool.clone()),
                            source: source.clone(),
                            origin: Origin::Registry(registry.to_string()),
                            problems: Vec::new(),
                        },
                    );
                    inner.prepared.insert(reference, Arc::new(prepared));
                }
            }
            Runtime { inner: Arc::new(inner) }
        }
    }
}

/// Serves the declared tool `reference` with what its server says of it, when it listed it.
fn describe(inner: &mut crate::Inner, reference: &ToolRef, imported: &Imported) {
    let Some(prepared) = inner.prepared.get(reference) else { return };
    // The describing upstream admits the tool alone.
    let Some(listed) = imported.tools.first() else { return };
    match prepared.described_by(&listed.tool.spec) {
        Ok(described) => {
            if let Some(loaded) = inner.catalog.tools.get_mut(reference) {
                loaded.tool = Some(described.tool().clone());
            }
            inner.prepared.insert(reference.clone(), Arc::new(described));
        }
        Err(e) => tracing::warn!(tool = %reference, "the server's description of the tool is not used: {e}"),
    }
}
