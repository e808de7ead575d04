//! The gateway's shared state: the current catalog (a [`Runtime`], the MCP tool list made from
//! it and the API tokens, swapped as one on reload), the rate limiter and metrics that outlive
//! reloads, readiness, change notifications and the calls in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::{Mutex, OnceCell, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use toolkit_core::validate::Severity;
use toolkit_core::{Catalog, ConnectorRegistry, Error, Result, ToolRef};
use toolkit_runtime::{Caller, Imports, MemoryRateLimiter, RateLimiter, Runtime};
use toolkit_state::StateStore;

use crate::auth::Tokens;
use crate::config::CallCaps;
use crate::handler::McpHandler;
use crate::metrics::{Metrics, ToolSeries};
use crate::oauth::Verifier;
use crate::running::{Running, RunningCall};
use crate::{mapping, names};

/// One loaded catalog: the runtime that runs calls, what clients see of it, and the tokens.
pub(crate) struct Snapshot {
    pub runtime: Runtime,
    /// Tools in list order (by reference), with the reference of each.
    pub tools: Vec<(rmcp::model::Tool, ToolRef)>,
    /// The bytes of each tool's JSON, in the same order, for bounding pages.
    pub sizes: Vec<usize>,
    pub by_name: HashMap<String, Served>,
    /// `None` when the gateway takes no tokens.
    pub tokens: Option<Tokens>,
}

/// Tools in one `tools/list` page at most.
pub(crate) const PAGE_TOOLS: usize = 500;
/// JSON bytes of the tools of one page at most (clients cap a message at 1 MiB or so); a page
/// always holds at least one tool.
pub(crate) const PAGE_BYTES: usize = 512 * 1024;

impl Snapshot {
    /// One page of the tools `caller` may see: those listed after `after` (all when `None`), at
    /// most [`PAGE_TOOLS`] and [`PAGE_BYTES`]; and the reference to continue after, when more
    /// remain. Continuing after a reference a reload removed goes on with the next one, so a
    /// reload between pages neither repeats nor skips a tool that stayed.
    pub fn page_of(&self, caller: &Caller, after: Option<&ToolRef>) -> (Vec<rmcp::model::Tool>, Option<ToolRef>) {
        let start = after.map_or(0, |a| self.tools.partition_point(|(_, r)| r <= a));
        let mut page = Vec::new();
        let mut bytes = 0;
        let mut last: Option<&ToolRef> = None;
        let visible = self.tools.iter().zip(&self.sizes).skip(start).filter(|((_, r), _)| caller.may_call(r));
        for ((tool, reference), size) in visible {
            if last.is_some() && (page.len() == PAGE_TOOLS || bytes + size > PAGE_BYTES) {
                return (page, last.cloned());
            }
            bytes += size;
            page.push(tool.clone());
            last = Some(reference);
        }
        (page, None)
    }
}

/// A tool as served.
pub(crate) struct Served {
    pub reference: ToolRef,
    pub has_output_schema: bool,
    pub metrics: Arc<ToolSeries>,
}

/// What a gateway needs besides its manifests and state directory.
#[derive(Clone)]
pub struct GatewayOptions {
    /// The tokens file; when set, HTTP requests need a bearer token from it.
    pub tokens: Option<PathBuf>,
    /// Access tokens of an identity provider, accepted beside (or instead of) the tokens file.
    pub oauth: Option<Arc<Verifier>>,
    /// Where rate-limit budgets live; in memory when `None`.
    pub rate_limiter: Option<Arc<dyn RateLimiter>>,
    /// The connectors and peer formats manifests are read with.
    pub connectors: ConnectorRegistry,
    /// Caps on tool calls running at once.
    pub calls: CallCaps,
    /// Who hears of approval requests.
    pub notifier: Option<Arc<dyn toolkit_runtime::ApprovalNotifier>>,
    /// Read the catalog from a Kubernetes API instead of the manifest paths.
    #[cfg(feature = "kubernetes")]
    pub cluster: Option<toolkit_kube::ClusterSource>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            tokens: None,
            oauth: None,
            rate_limiter: None,
            connectors: toolkit_connectors::registry(),
            calls: CallCaps::default(),
            notifier: None,
            #[cfg(feature = "kubernetes")]
            cluster: None,
        }
    }
}

impl std::fmt::Debug for GatewayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayOptions").field("tokens", &self.tokens).finish_non_exhaustive()
    }
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
    tokens: Option<PathBuf>,
    oauth: Option<Arc<Verifier>>,
    rate_limiter: Arc<dyn RateLimiter>,
    notifier: Option<Arc<dyn toolkit_runtime::ApprovalNotifier>>,
    connectors: ConnectorRegistry,
    metrics: Metrics,
    state: OnceCell<StateStore>,
    snapshot: ArcSwapOption<Snapshot>,
    reloading: Mutex<()>,
    changes: watch::Sender<u64>,
    calls: TaskTracker,
    running: Running,
    closing: CancellationToken,
    /// Upstream MCP servers of registries, followed across reloads.
    imports: Imports,
    /// The [`Imports::generation`] the current catalog was made at.
    imports_seen: AtomicU64,
    following_imports: AtomicBool,
    #[cfg(feature = "kubernetes")]
    cluster: Option<toolkit_kube::ClusterSource>,
}

/// How long a load waits for newly followed upstreams to list their tools; later ones appear
/// with a list change.
const IMPORT_WAIT: Duration = Duration::from_secs(10);

/// Quiet time after an upstream's change before reloading: changes come in bursts.
const IMPORT_DEBOUNCE: Duration = Duration::from_millis(100);

impl Gateway {
    /// A gateway over the manifests at `tools`, keeping state in `state_dir`, without tokens
    /// and with rate limits in memory. Nothing is read until [`load`](Self::load).
    pub fn new(tools: Vec<PathBuf>, state_dir: PathBuf) -> Self {
        Self::with_options(tools, state_dir, GatewayOptions::default())
    }

    /// [`new`](Self::new) with tokens and a rate limiter of choice.
    pub fn with_options(tools: Vec<PathBuf>, state_dir: PathBuf, options: GatewayOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                tools,
                state_dir,
                tokens: options.tokens,
                oauth: options.oauth,
                rate_limiter: options.rate_limiter.unwrap_or_else(|| Arc::new(MemoryRateLimiter::new())),
                notifier: options.notifier,
                connectors: options.connectors,
                metrics: Metrics::new(),
                state: OnceCell::new(),
                snapshot: ArcSwapOption::empty(),
                reloading: Mutex::new(()),
                changes: watch::Sender::new(0),
                calls: TaskTracker::new(),
                running: Running::new(options.calls),
                closing: CancellationToken::new(),
                imports: Imports::new(),
                imports_seen: AtomicU64::new(0),
                following_imports: AtomicBool::new(false),
                #[cfg(feature = "kubernetes")]
                cluster: options.cluster,
            }),
        }
    }

    /// Loads (or reloads) the manifests and the tokens file and swaps them in; returns whether
    /// what clients may see changed, in which case connected clients are told. Tools that are
    /// invalid are left out and logged with the reason. On error (including a broken tokens
    /// file) the previous catalog and tokens stay.
    pub async fn load(&self) -> Result<bool> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let state = self.inner.state.get_or_try_init(|| StateStore::open_path(&self.inner.state_dir)).await?.clone();
        let (catalog, tokens) = self.read_catalog().await?;
        let builder = Runtime::builder()
            .catalog(catalog)
            .connectors(self.inner.connectors.clone())
            .state(state)
            .rate_limiter(self.inner.rate_limiter.clone());
        let builder = match &self.inner.notifier {
            Some(n) => builder.approval_notifier(n.clone()),
            None => builder,
        };
        #[cfg(feature = "kubernetes")]
        let builder = match &self.inner.cluster {
            Some(source) => builder.secrets(Arc::new(source.secrets().clone())),
            None => builder,
        };
        let runtime = builder.build().await?;
        report(&runtime);
        // Tools of registry upstreams: follow them, and serve what they list now.
        self.inner.imports.sync(&runtime).await;
        self.inner.imports.settled(IMPORT_WAIT).await;
        self.inner.imports_seen.store(self.inner.imports.generation(), Ordering::SeqCst);
        let runtime = runtime.with_imports(&self.inner.imports);
        self.follow_imports();
        let snapshot = snapshot(runtime, tokens, &self.inner.metrics);
        let changed = self.inner.snapshot.load().as_ref().is_none_or(|old| {
            old.tools != snapshot.tools
                || old.tokens.as_ref().map(Tokens::fingerprint) != snapshot.tokens.as_ref().map(Tokens::fingerprint)
        });
        // A large catalog is named in part: the log line stays a line.
        const NAMED: usize = 50;
        let served = snapshot.tools.len();
        let mut names: Vec<&str> = snapshot.tools.iter().take(NAMED).map(|(t, _)| t.name.as_ref()).collect();
        let more = served.saturating_sub(NAMED).to_string() + " more";
        if served > NAMED {
            names.push(&more);
        }
        let names = names.join(",");
        let token_count = snapshot.tokens.as_ref().map(Tokens::len);
        self.inner.metrics.set_tools_served(served);
        self.inner.snapshot.store(Some(Arc::new(snapshot)));
        tracing::info!(tools = served, names = %names, tokens = token_count, "catalog loaded");
        if changed {
            self.inner.changes.send_modify(|generation| *generation += 1);
        }
        Ok(changed)
    }

    /// Reads the catalog (from the manifest paths, or the cluster) and the tokens file.
    async fn read_catalog(&self) -> Result<(Catalog, Option<Tokens>)> {
        let tokens_file = self.inner.tokens.clone();
        #[cfg(feature = "kubernetes")]
        if let Some(source) = &self.inner.cluster {
            let catalog = source.load(&self.inner.connectors).await?;
            let secrets = match &tokens_file {
                Some(path) => token_secrets(source, path).await?,
                None => catalog.secrets.clone(),
            };
            let tokens =
                tokio::task::spawn_blocking(move || tokens_file.map(|path| Tokens::load(&path, &secrets)).transpose())
                    .await
                    .map_err(|e| Error::internal("load the tokens").with_source(e))??;
            return Ok((catalog, tokens));
        }
        let paths = self.inner.tools.clone();
        let connectors = self.inner.connectors.clone();
        tokio::task::spawn_blocking(move || {
            let catalog = Catalog::load(&paths, &connectors)?;
            let tokens = tokens_file.map(|path| Tokens::load(&path, &catalog.secrets)).transpose()?;
            Ok::<_, Error>((catalog, tokens))
        })
        .await
        .map_err(|e| Error::internal("load the manifests").with_source(e))?
    }

    /// The cluster the catalog is read from, with `--kubernetes`.
    #[cfg(feature = "kubernetes")]
    pub(crate) fn cluster(&self) -> Option<&toolkit_kube::ClusterSource> {
        self.inner.cluster.as_ref()
    }

    /// The state store, once the first load opened it.
    #[cfg(feature = "kubernetes")]
    pub(crate) fn state(&self) -> Option<StateStore> {
        self.inner.state.get().cloned()
    }

    /// Whether a catalog is loaded and the gateway is not shutting down.
    pub fn is_ready(&self) -> bool {
        self.inner.snapshot.load().is_some() && !self.inner.closing.is_cancelled()
    }

    /// Whether HTTP requests need a bearer token (a tokens file or OAuth is configured).
    pub fn requires_tokens(&self) -> bool {
        self.inner.tokens.is_some() || self.inner.oauth.is_some()
    }

    /// Whether a tokens file is configured.
    pub(crate) fn has_tokens_file(&self) -> bool {
        self.inner.tokens.is_some()
    }

    /// The checker of identity providers' access tokens, when OAuth is configured.
    pub fn oauth(&self) -> Option<&Arc<Verifier>> {
        self.inner.oauth.as_ref()
    }

    /// The MCP server of one HTTP session or request, or of an embedder's own transport: the
    /// caller is the request's token identity, or `mcp:<client name>` when no tokens are
    /// configured (with tokens, a request that carries no identity sees no tool).
    pub fn handler(&self) -> McpHandler {
        McpHandler::new(self.clone(), false)
    }

    /// The MCP server of the stdio transport: the caller is the local process, `stdio:<client
    /// name>`, with no token.
    pub fn stdio_handler(&self) -> McpHandler {
        McpHandler::new(self.clone(), true)
    }

    /// The metrics exposition (OpenMetrics text).
    pub fn render_metrics(&self) -> String {
        self.inner.metrics.render(self.inner.calls.len())
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

    /// Closes the current runtime's pools and the state database, and stops following
    /// upstreams (their stdio servers are stopped).
    pub async fn close(&self) {
        if let Some(snapshot) = self.inner.snapshot.load_full() {
            snapshot.runtime.shutdown().await;
        }
        self.inner.imports.shutdown().await;
    }

    /// Reloads when a registry upstream's tools change, as a manifest change does: the catalog
    /// is made again with the upstreams' current tools, and clients are told if their list
    /// changed. Started once, by the first load; ends with the gateway.
    fn follow_imports(&self) {
        if self.inner.following_imports.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let mut changes = self.inner.imports.changes();
        let closing = self.inner.closing.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = closing.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                tokio::time::sleep(IMPORT_DEBOUNCE).await;
                let Some(inner) = weak.upgrade() else { return };
                let gateway = Gateway { inner };
                // A load made after the change already serves it.
                if gateway.inner.imports.generation() == gateway.inner.imports_seen.load(Ordering::SeqCst) {
                    continue;
                }
                match gateway.load().await {
                    Ok(true) => tracing::info!("upstream tools changed; clients notified"),
                    Ok(false) => tracing::debug!("upstream tools reloaded; tool list unchanged"),
                    Err(e) => {
                        tracing::warn!("reload after an upstream change (still serving the previous catalog): {e}")
                    }
                }
            }
        });
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

    /// Claims a slot for a call of `tool` by `caller`, or says which cap is full.
    pub(crate) fn start_call(&self, caller: &str, tool: &str) -> Result<RunningCall, String> {
        self.inner.running.start(caller, tool)
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The manifest paths (none when the catalog comes from a cluster) and the tokens file.
    pub(crate) fn watched_paths(&self) -> Vec<PathBuf> {
        #[cfg(feature = "kubernetes")]
        if self.inner.cluster.is_some() {
            return self.inner.tokens.iter().cloned().collect();
        }
        self.inner.tools.iter().chain(&self.inner.tokens).cloned().collect()
    }

    pub(crate) fn state_dir(&self) -> &PathBuf {
        &self.inner.state_dir
    }
}

/// The Secrets the tokens file's `tokenRef`s name, read from the cluster: a reference without a
/// namespace reads the gateway's own (`POD_NAMESPACE`, else `--namespace`, else `default`). A
/// Secret or key that does not exist fails the load, naming it.
#[cfg(feature = "kubernetes")]
async fn token_secrets(
    source: &toolkit_kube::ClusterSource,
    path: &std::path::Path,
) -> Result<toolkit_core::secret::SecretStore> {
    use toolkit_core::SecretResolver as _;
    let own = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| source.namespace().map(str::to_owned))
        .unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.to_owned());
    let mut found: std::collections::BTreeMap<(String, String), std::collections::BTreeMap<String, _>> =
        std::collections::BTreeMap::new();
    for selector in Tokens::references(path) {
        let ns = selector.namespace.clone().unwrap_or_else(|| own.clone());
        match source.secrets().resolve(&ns, &selector).await {
            Ok(value) => {
                // Filed where the tokens file looks it up.
                let at =
                    selector.namespace.clone().unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.to_owned());
                found.entry((at, selector.name.clone())).or_default().insert(selector.key.clone(), value);
            }
            Err(e) if e.kind() == toolkit_core::ErrorKind::NotFound => {
                return Err(Error::config(format!(
                    "load the tokens file {}: tokenRef: {}",
                    path.display(),
                    e.message()
                )));
            }
            Err(e) => return Err(e.with_context("tokens file", path.display())),
        }
    }
    let mut store = toolkit_core::secret::SecretStore::default();
    for ((ns, name), data) in found {
        store.insert(&ns, &name, data);
    }
    Ok(store)
}

fn snapshot(runtime: Runtime, tokens: Option<Tokens>, metrics: &Metrics) -> Snapshot {
    let mut enabled: Vec<_> = runtime.tools().filter(|t| t.spec().enabled).cloned().collect();
    enabled.sort_by(|a, b| a.reference().cmp(b.reference()));
    let assigned = names::assign_with(enabled.iter().map(|t| (t.reference(), t.spec().mcp_name.as_deref())));
    let by_ref: HashMap<&ToolRef, &str> = assigned.iter().map(|(n, r)| (r, n.as_str())).collect();
    let mut tools = Vec::with_capacity(enabled.len());
    let mut sizes = Vec::with_capacity(enabled.len());
    let mut by_name = HashMap::with_capacity(enabled.len());
    for tool in &enabled {
        let Some(name) = by_ref.get(tool.reference()) else { continue };
        let described = mapping::describe(name, tool);
        sizes.push(serde_json::to_vec(&described).map_or(0, |j| j.len()));
        tools.push((described, tool.reference().clone()));
        by_name.insert(
            (*name).to_owned(),
            Served {
                reference: tool.reference().clone(),
                has_output_schema: tool.spec().output_schema.is_some(),
                metrics: metrics.tool(tool.reference()),
            },
        );
    }
    Snapshot { runtime, tools, sizes, by_name, tokens }
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
