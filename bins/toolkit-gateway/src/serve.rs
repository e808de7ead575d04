//! Running the gateway on a transport until shutdown.
//!
//! Shutdown, when `shutdown` is cancelled: new calls are refused (a tool error saying so) and
//! `/readyz` turns 503; calls in flight get up to the drain timeout to finish and a moment more
//! for their replies to be written; then every session and stream is closed, the listener
//! stops, and the pools and state database are closed. The listener keeps accepting during
//! the drain because clients may need a new connection to receive a reply (an SSE stream that
//! reconnects).

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt as _;
use rmcp::service::ServerInitializeError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_limits_redis::{RedisLimitOptions, RedisRateLimiter};
use toolkit_runtime::RateLimiter;

use crate::config::{GatewayConfig, HttpConfig, HttpLimits, RateLimitConfig, Transport};
use crate::gateway::{Gateway, GatewayOptions};
use crate::{http, listener, watch};

/// How long open connections get to close once sessions have ended.
const CONNECTIONS_GRACE: Duration = Duration::from_secs(5);

/// Time for the replies of the last calls to reach their streams before sessions close.
const REPLY_FLUSH: Duration = Duration::from_millis(300);

/// Serves MCP with `config` until `shutdown` is cancelled (or, on stdio, until the client
/// closes stdin). Fails when the listener cannot be set up or the manifests cannot be read.
pub async fn serve(config: GatewayConfig, shutdown: CancellationToken) -> Result<()> {
    let (tokens, oauth) = match &config.transport {
        Transport::Http(http) => (http.tokens.clone(), http.oauth.clone()),
        Transport::Stdio => (None, None),
    };
    let oauth = oauth.map(crate::oauth::Verifier::new).transpose()?.map(std::sync::Arc::new);
    if let Some(v) = &oauth {
        tracing::info!(resource = v.resource(), metadata = %v.metadata_url(), "OAuth access tokens accepted");
        if v.grants_everything() {
            tracing::warn!(
                "every valid access token of the issuers may call every tool and read /metrics; \
                 narrow it with --oauth-scope or --oauth-grant"
            );
        }
    }
    let rate_limiter = rate_limiter(&config.rate_limits).await?;
    let notifier = crate::webhook::Webhooks::new(&config.webhooks)?;
    if notifier.is_some() {
        tracing::info!(webhooks = config.webhooks.urls.len(), "approval requests are posted to webhooks");
    }
    let options = GatewayOptions {
        tokens,
        oauth,
        rate_limiter,
        connectors: config.connectors.clone(),
        calls: config.calls,
        notifier: notifier.map(|n| Arc::new(n) as Arc<dyn toolkit_runtime::ApprovalNotifier>),
        #[cfg(feature = "kubernetes")]
        cluster: cluster_source(&config).await?,
    };
    let gateway = Gateway::with_options(config.tools.clone(), config.state_dir.clone(), options);
    let result = match &config.transport {
        Transport::Http(http) => serve_http(&gateway, &config, http, shutdown).await,
        Transport::Stdio => serve_stdio(&gateway, &config, shutdown).await,
    };
    gateway.close().await;
    result
}

/// The cluster to read, with `--kubernetes`.
#[cfg(feature = "kubernetes")]
async fn cluster_source(config: &GatewayConfig) -> Result<Option<toolkit_kube::ClusterSource>> {
    let Some(cluster) = &config.cluster else { return Ok(None) };
    let client = toolkit_kube::connect().await?;
    let scope = cluster.namespace.as_deref().unwrap_or("every namespace");
    tracing::info!(namespace = scope, "reading tools from the Kubernetes API");
    Ok(Some(toolkit_kube::ClusterSource::new(client, cluster.namespace.clone())))
}

/// With `--kubernetes`, a first load that failed because the cluster cannot be read yet (its
/// toolkit CRDs not installed, the API server away, a permission missing) is not fatal: the
/// gateway serves nothing (`/readyz` 503) and loads again every few seconds, and when the
/// objects change, until it can. A broken tokens file is still fatal.
fn waits_for_the_cluster(gateway: &Gateway, error: &Error, shutdown: &CancellationToken) -> bool {
    #[cfg(feature = "kubernetes")]
    if gateway.cluster().is_some()
        && matches!(error.kind(), ErrorKind::NotFound | ErrorKind::Unreachable | ErrorKind::Denied)
    {
        tracing::warn!("cannot read the cluster's tools yet; serving none until it can: {error}");
        let (gateway, shutdown) = (gateway.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(2);
            while gateway.snapshot().is_none() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                if gateway.snapshot().is_some() {
                    return;
                }
                match gateway.load().await {
                    Ok(_) => tracing::info!("the cluster's tools can be read now"),
                    Err(e) => tracing::debug!("the cluster's tools still cannot be read: {e}"),
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        });
        return true;
    }
    let _ = (gateway, error, shutdown);
    false
}

/// What follows the catalog's sources while the gateway serves: the manifest (or cluster)
/// watchers, and the reporter of call counts to Tool status.
struct Followers {
    tasks: Vec<JoinHandle<()>>,
    /// Ends the reporter, which then reports once more.
    reporter: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Followers {
    fn start(gateway: &Gateway, config: &GatewayConfig, shutdown: &CancellationToken) -> Self {
        let mut tasks = Vec::new();
        if config.watch {
            tasks.push(watch::spawn(gateway.clone(), shutdown.clone()));
        }
        #[allow(unused_mut)]
        let mut reporter = None;
        #[cfg(feature = "kubernetes")]
        if let (Some(source), Some(cluster)) = (gateway.cluster(), &config.cluster) {
            if config.watch {
                tasks.push(watch::spawn_cluster(gateway.clone(), source.clone(), shutdown.clone()));
            }
            let metrics = gateway.clone();
            let counts: toolkit_kube::CallCounts = Arc::new(move || metrics.metrics().call_counts());
            let r = toolkit_kube::CounterReporter::new(source.client().clone(), counts, gateway.state());
            let stop = CancellationToken::new();
            reporter = Some((stop.clone(), r.spawn(cluster.status_interval, stop)));
        }
        Self { tasks, reporter }
    }

    /// Stops the watchers, and lets the reporter write what is left.
    async fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
        if let Some((stop, task)) = self.reporter {
            stop.cancel();
            if tokio::time::timeout(CONNECTIONS_GRACE, task).await.is_err() {
                tracing::warn!("the last call counts were not reported to Tool status in time");
            }
        }
    }
}

async fn serve_http(
    gateway: &Gateway,
    config: &GatewayConfig,
    http: &HttpConfig,
    shutdown: CancellationToken,
) -> Result<()> {
    http.check()?;
    let listener = tokio::net::TcpListener::bind(http.listen).await.map_err(|e| {
        Error::config(format!("listen on {}", http.listen))
            .with_source(e)
            .with_context("hint", "pick another address with --listen")
    })?;
    let addr = listener.local_addr().map_err(|e| Error::internal("read the listening address").with_source(e))?;
    let metrics_listener = match http.metrics_listen {
        Some(at) => Some(tokio::net::TcpListener::bind(at).await.map_err(|e| {
            Error::config(format!("listen on {at} for metrics"))
                .with_source(e)
                .with_context("hint", "pick another address with --metrics-listen")
        })?),
        None => None,
    };
    let sessions = CancellationToken::new();
    let app = http::router(gateway, http, sessions.clone());
    let metrics_server = metrics_listener.map(|l| serve_metrics(gateway, l, &http.limits, sessions.clone()));
    let stop_accepting = sessions.clone();
    let mut server = tokio::spawn(listener::serve(listener, app, http.limits.clone(), stop_accepting));
    tracing::info!(url = %format!("http://{addr}{}", http::MCP_PATH), stateless = http.stateless, "listening");
    if http.console.enabled {
        let approvers = http.console.approvers.len();
        tracing::info!(url = %format!("http://{addr}{}", crate::console::UI_PATH), approvers, "web console");
    }
    if let Err(e) = gateway.load().await
        && !waits_for_the_cluster(gateway, &e, &shutdown)
    {
        sessions.cancel();
        server.abort();
        return Err(e);
    }
    if let Some(tokens) = gateway.snapshot().and_then(|s| s.tokens.as_ref().map(|t| t.len())) {
        tracing::info!(tokens, "bearer tokens required on /mcp and /metrics");
    }
    let followers = Followers::start(gateway, config, &shutdown);
    // The server stops only when sessions are cancelled below, or when it fails.
    let failed = tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        joined = &mut server => Some(joined),
    };
    if let Some(joined) = failed {
        followers.stop().await;
        if let Some(m) = metrics_server {
            m.abort();
        }
        return match joined {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::internal(format!("serve http on {addr}")).with_source(e)),
        };
    }
    tracing::info!("shutting down");
    drain(gateway, config).await;
    sessions.cancel();
    if tokio::time::timeout(CONNECTIONS_GRACE, &mut server).await.is_err() {
        tracing::warn!("connections still open after {CONNECTIONS_GRACE:?}; closing them");
        server.abort();
    }
    followers.stop().await;
    if let Some(m) = metrics_server {
        m.abort();
    }
    Ok(())
}

/// Serves `/metrics` and the probes on their own listener until `stop` is cancelled.
fn serve_metrics(
    gateway: &Gateway,
    listener: tokio::net::TcpListener,
    limits: &HttpLimits,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let addr = listener.local_addr().ok();
    let app = http::metrics_router(gateway, addr.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()));
    if let Some(addr) = addr {
        tracing::info!(url = %format!("http://{addr}{}", http::METRICS_PATH), "metrics listening");
    }
    tokio::spawn(listener::serve(listener, app, limits.clone(), stop))
}

/// The shared (Redis) limiter when one is configured; `None` keeps budgets in memory.
async fn rate_limiter(config: &RateLimitConfig) -> Result<Option<Arc<dyn RateLimiter>>> {
    let Some(url) = &config.redis else { return Ok(None) };
    let limiter = RedisRateLimiter::new(url, RedisLimitOptions { fail_open: config.fail_open })?;
    let mode = if config.fail_open { "fail open" } else { "fail closed" };
    match limiter.connect().await {
        Ok(()) => tracing::info!(redis = %limiter.address(), mode, "rate limits shared through redis"),
        // Not fatal: the limiter keeps trying, and refuses (or admits) calls meanwhile.
        Err(e) => tracing::warn!(mode, "rate limits shared through redis, not reachable yet: {e}"),
    }
    Ok(Some(Arc::new(limiter)))
}

async fn serve_stdio(gateway: &Gateway, config: &GatewayConfig, shutdown: CancellationToken) -> Result<()> {
    gateway.load().await?;
    let followers = Followers::start(gateway, config, &shutdown);
    let sessions = CancellationToken::new();
    let starting = gateway.stdio_handler().serve_with_ct(rmcp::transport::stdio_pipes(), sessions.clone());
    let running = tokio::select! {
        () = shutdown.cancelled() => None,
        started = starting => Some(started),
    };
    let result = match running {
        None => Ok(()),
        Some(Err(ServerInitializeError::ConnectionClosed(_))) => {
            tracing::info!("client closed stdin before initializing");
            Ok(())
        }
        Some(Err(e)) => Err(Error::new(ErrorKind::Unreachable, "start the stdio session").with_source(e)),
        Some(Ok(service)) => {
            tracing::info!("serving on stdio");
            let mut waiting = std::pin::pin!(service.waiting());
            tokio::select! {
                _ = &mut waiting => {
                    tracing::info!("client closed stdin");
                    drain(gateway, config).await;
                }
                () = shutdown.cancelled() => {
                    tracing::info!("shutting down");
                    drain(gateway, config).await;
                    sessions.cancel();
                    let _ = waiting.await;
                }
            }
            Ok(())
        }
    };
    followers.stop().await;
    result
}

/// Waits for calls in flight, then a moment more for their replies to be written.
async fn drain(gateway: &Gateway, config: &GatewayConfig) {
    if gateway.drain(config.drain_timeout).await.waited_for > 0 {
        tokio::time::sleep(REPLY_FLUSH).await;
    }
}
