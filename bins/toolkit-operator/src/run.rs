//! `toolkit-operator run`: the Lease, the controller of Tools, and the metrics endpoint.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::core::{DynamicObject, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt as _, metadata_watcher, watcher};
use kube::{Api, Client, ResourceExt as _};
use toolkit_core::model::Reference;
use toolkit_core::{ConnectorRegistry, Error, ErrorKind, Result, manifest};
use tracing::{info, warn};

use crate::cli::RunArgs;
use crate::leader::LeaderElector;
use crate::metrics::{self, Metrics};
use crate::reconcile::{Context, error_policy, parse_tool, reconcile, tool_resource};

/// Runs the operator until `shutdown` resolves: serves the metrics, stands by until this
/// replica holds the Lease, then reconciles Tools while renewing it. Losing the Lease is an
/// error, so that the process restarts as a follower.
pub async fn run(
    args: RunArgs,
    connectors: ConnectorRegistry,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let client = Client::try_default().await.map_err(|e| {
        Error::config("connect to the Kubernetes API (KUBECONFIG, ~/.kube/config or the pod's service account)")
            .with_source(e)
    })?;
    let metrics = Arc::new(Metrics::new());
    let listener = metrics::bind(args.metrics_addr).await?;
    info!(addr = %args.metrics_addr, "serving /metrics, /healthz and /readyz");
    tokio::spawn(axum::serve(listener, metrics::router(metrics.clone())).into_future());

    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let elector = LeaderElector::new(
        client.clone(),
        &args.lease_namespace,
        &args.lease_name,
        &identity,
        args.lease_duration.get(),
    );
    let mut shutdown = std::pin::pin!(shutdown);
    let mut announced = false;
    loop {
        match elector.try_acquire_or_renew().await {
            Ok(true) => break,
            Ok(false) if !announced => {
                info!(lease = %args.lease_name, identity = %identity, "another replica leads; standing by");
                announced = true;
            }
            Ok(false) => {}
            Err(e) => warn!(lease = %args.lease_name, error = %e, "could not read or write the lease; trying again"),
        }
        metrics.set_ready(true);
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(elector.retry_period()) => {}
        }
    }
    metrics.set_leader(true);
    let ctx = Arc::new(Context::new(client.clone(), connectors, &identity, metrics.clone()));
    let controller = controller(client, args.namespace.as_deref(), ctx, metrics.clone());
    let result = tokio::select! {
        () = controller => Ok(()),
        lost = keep_lease(&elector) => Err(lost),
        () = &mut shutdown => Ok(()),
    };
    metrics.set_leader(false);
    if let Err(e) = elector.release().await {
        warn!(error = %e, "could not release the lease; it expires on its own");
    }
    result
}

/// Renews the Lease every retry period; returns when it is lost (another replica holds it, or
/// it could not be renewed within its duration).
async fn keep_lease(elector: &LeaderElector) -> Error {
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(elector.retry_period()).await;
        match elector.try_acquire_or_renew().await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => return lost(elector, "another replica holds it"),
            Err(e) if renewed.elapsed() >= elector.retry_period() * 3 => {
                return lost(elector, &format!("not renewed in time: {e}"));
            }
            Err(e) => warn!(error = %e, "could not renew the lease; trying again"),
        }
    }
}

fn lost(elector: &LeaderElector, why: &str) -> Error {
    Error::new(ErrorKind::Internal, format!("lost the lease as {} ({why}); exiting to stand by", elector.identity()))
}

/// The controller of Tools: reconciles each on its changes of spec, on changes of the Secrets
/// it names, and at its probe interval.
async fn controller(client: Client, namespace: Option<&str>, ctx: Arc<Context>, metrics: Arc<Metrics>) {
    let ar = tool_resource();
    let (tools, secrets): (Api<DynamicObject>, Api<Secret>) = match namespace {
        Some(ns) => (Api::namespaced_with(client.clone(), ns, &ar), Api::namespaced(client, ns)),
        None => (Api::all_with(client.clone(), &ar), Api::all(client)),
    };
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    metrics.set_store(store.clone());
    // Status writes change the object but not its generation: they trigger nothing.
    let trigger = watcher(tools, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .filter(generation_changed());
    // Secrets are watched by metadata only: a rotation changes their resourceVersion, and only
    // the Secrets a tool names are then read.
    let secret_changes = metadata_watcher(secrets, watcher::Config::default()).default_backoff().touched_objects();
    let (lookup, connectors) = (store.clone(), ctx.connectors.clone());
    Controller::for_stream_with(trigger, store, ar)
        .watches_stream(secret_changes, move |secret| tools_naming(&lookup, &connectors, &secret))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "controller");
            }
        })
        .await;
}

/// A filter that passes an object the first time it is seen and when its generation changed
/// (`predicates::generation` asks for a static type; Tools are watched as dynamic objects).
fn generation_changed() -> impl FnMut(&std::result::Result<DynamicObject, watcher::Error>) -> std::future::Ready<bool> {
    let mut seen: HashMap<String, Option<i64>> = HashMap::new();
    move |item| {
        let pass = match item {
            Ok(obj) => {
                let key = obj.metadata.uid.clone().unwrap_or_else(|| obj.name_any());
                seen.insert(key, obj.metadata.generation) != Some(obj.metadata.generation)
                    || obj.metadata.generation.is_none()
            }
            Err(_) => true,
        };
        std::future::ready(pass)
    }
}

/// The Tools in `store` that name `secret` (of their own namespace).
pub fn tools_naming(
    store: &Store<DynamicObject>,
    connectors: &ConnectorRegistry,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<DynamicObject>> {
    let (Some(ns), Some(name)) = (secret.metadata.namespace.as_deref(), secret.metadata.name.as_deref()) else {
        return Vec::new();
    };
    store
        .state()
        .into_iter()
        .filter(|t| t.namespace().as_deref() == Some(ns))
        .filter(|t| {
            parse_tool(t).is_ok_and(|tool| {
                manifest::references(&tool.spec, connectors).iter().any(|r| {
                    matches!(r, Reference::Secret { selector, .. }
                        if selector.name == name && selector.namespace.as_deref().is_none_or(|n| n == ns))
                })
            })
        })
        .map(|t| ObjectRef::from_obj_with(t.as_ref(), tool_resource()))
        .collect()
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "toolkit-operator".into());
    format!("{host}-{}", std::process::id())
}
