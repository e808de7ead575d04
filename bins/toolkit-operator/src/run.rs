//! `toolkit-operator run`: the Lease, the controllers of Tools, ToolRegistries and
//! ApprovalPolicies, and the metrics endpoint.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
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
use crate::policy::{policy_resource, reconcile_policy};
use crate::reconcile::{Context, error_policy, parse_tool, reconcile, retry_error_policy, tool_resource};
use crate::registry::{reconcile_registry, registries_discovering_in, registry_resource};

/// Runs the operator until `shutdown` resolves: serves the metrics, stands by until this
/// replica holds the Lease, then reconciles while renewing it. A replica that loses the Lease
/// (another took it, or the API server was away longer than the Lease lasts) stops
/// reconciling and stands by again, without a restart.
pub async fn run(
    args: RunArgs,
    connectors: ConnectorRegistry,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let client = toolkit_kube::connect().await?;
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
    let mut ctx = Context::new(client.clone(), connectors, &identity, metrics.clone());
    if let Some(location) = &args.state {
        let state = toolkit_state::StateStore::open_path(location).await.map_err(|e| {
            e.with_context(
                "hint",
                "--state (TOOLKIT_STATE) names a directory or a postgres:// URL the operator can reach",
            )
        })?;
        ctx = ctx.with_state(state);
    }
    let ctx = Arc::new(ctx);
    loop {
        if !stand_by(&elector, &args.lease_name, &metrics, &mut shutdown).await {
            return Ok(());
        }
        metrics.set_leader(true);
        let namespace = args.namespace.as_deref();
        let tools = controller(client.clone(), namespace, ctx.clone(), metrics.clone());
        let registries = registry_controller(client.clone(), namespace, ctx.clone());
        let policies = policy_controller(client.clone(), namespace, ctx.clone());
        let reaper = reap_sessions(client.clone(), namespace, args.reap_interval.get());
        let lost = tokio::select! {
            ((), (), (), ()) = async { tokio::join!(tools, registries, policies, reaper) } => None,
            lost = keep_lease(&elector) => Some(lost),
            () = &mut shutdown => None,
        };
        metrics.set_leader(false);
        match lost {
            // The controllers stopped with the Lease; another replica may lead now, or the
            // API server went away: stand by again rather than exit.
            Some(e) => warn!(error = %e, "stopped reconciling"),
            None => {
                if let Err(e) = elector.release().await {
                    warn!(error = %e, "could not release the lease; it expires on its own");
                }
                return Ok(());
            }
        }
    }
}

/// Deletes, every `every`, the bastion pods (and Leases) of sessions whose holder stopped
/// renewing them for longer than the tool's idle timeout.
async fn reap_sessions(client: Client, namespace: Option<&str>, every: std::time::Duration) {
    let bastion = toolkit_bastion::cluster::PodBastion::new(client);
    loop {
        tokio::time::sleep(every).await;
        match bastion.reap(namespace).await {
            Ok(reaped) => {
                for pod in reaped {
                    info!(pod = %format!("{}/{}", pod.namespace, pod.name), session = %pod.id, "reaped an idle session");
                }
            }
            Err(e) => warn!(error = %e, "could not reap idle sessions"),
        }
    }
}

/// Waits until this replica holds the Lease (true) or `shutdown` resolves (false).
async fn stand_by(
    elector: &LeaderElector,
    lease: &str,
    metrics: &Metrics,
    shutdown: &mut std::pin::Pin<&mut (impl std::future::Future<Output = ()> + Send)>,
) -> bool {
    let mut announced = false;
    loop {
        match elector.try_acquire_or_renew().await {
            Ok(true) => return true,
            Ok(false) if !announced => {
                info!(lease = %lease, identity = %elector.identity(), "another replica leads; standing by");
                announced = true;
            }
            Ok(false) => {}
            Err(e) => warn!(lease = %lease, error = %e, "could not read or write the lease; trying again"),
        }
        metrics.set_ready(true);
        tokio::select! {
            () = shutdown.as_mut() => return false,
            () = tokio::time::sleep(elector.retry_period()) => {}
        }
    }
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
    Error::new(ErrorKind::Internal, format!("lost the lease as {} ({why}); standing by", elector.identity()))
}

/// The controller of Tools: reconciles each on its changes of spec, on changes of the Secrets
/// it names, and at its probe interval.
async fn controller(client: Client, namespace: Option<&str>, ctx: Arc<Context>, metrics: Arc<Metrics>) {
    let ar = tool_resource();
    let (tools, secrets, config_maps): (Api<DynamicObject>, Api<Secret>, Api<ConfigMap>) = match namespace {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &ar),
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all_with(client.clone(), &ar), Api::all(client.clone()), Api::all(client.clone())),
    };
    let leases: Api<Lease> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
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
    // ConfigMaps likewise: a changed one re-probes the tools that name it.
    let config_map_changes =
        metadata_watcher(config_maps, watcher::Config::default()).default_backoff().touched_objects();
    // Bastion sessions opening and ending change a tool's count of active sessions.
    let session_config = watcher::Config::default().labels(toolkit_bastion::pod::SESSION_LABEL);
    let session_changes = changed_or_deleted(metadata_watcher(leases, session_config).default_backoff());
    let session_ar = ar.clone();
    let (lookup, connectors) = (store.clone(), ctx.connectors.clone());
    let (cm_lookup, cm_connectors) = (store.clone(), ctx.connectors.clone());
    Controller::for_stream_with(trigger, store, ar)
        .watches_stream(secret_changes, move |secret| tools_naming(&lookup, &connectors, &secret))
        .watches_stream(config_map_changes, move |map| tools_naming_config_map(&cm_lookup, &cm_connectors, &map))
        .watches_stream(session_changes, move |lease| session_tool(&lease, &session_ar))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "controller");
            }
        })
        .await;
}

/// The controller of ToolRegistries: reconciles each on its changes of spec, when a Service or
/// Tool of a namespace it discovers in appears, goes, or (for a Tool) changes phase, and every
/// few minutes.
async fn registry_controller(client: Client, namespace: Option<&str>, ctx: Arc<Context>) {
    let ar = registry_resource();
    let (registries, services, tools): (Api<DynamicObject>, Api<Service>, Api<DynamicObject>) = match namespace {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &ar),
            Api::namespaced(client.clone(), ns),
            Api::namespaced_with(client, ns, &tool_resource()),
        ),
        None => (Api::all_with(client.clone(), &ar), Api::all(client.clone()), Api::all_with(client, &tool_resource())),
    };
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let trigger = watcher(registries, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .filter(generation_changed());
    let service_changes = changed_or_deleted(metadata_watcher(services, watcher::Config::default()).default_backoff());
    let tool_changes =
        changed_or_deleted(watcher(tools, watcher::Config::default()).default_backoff()).filter(phase_changed());
    let (by_service, by_tool) = (store.clone(), store.clone());
    Controller::for_stream_with(trigger, store, ar)
        .watches_stream(service_changes, move |s| {
            registries_discovering_in(&by_service, s.metadata.namespace.as_deref())
        })
        .watches_stream_with(
            tool_changes,
            move |t| registries_discovering_in(&by_tool, t.metadata.namespace.as_deref()),
            tool_resource(),
        )
        .run(reconcile_registry, retry_error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "registry controller");
            }
        })
        .await;
}

/// The controller of ApprovalPolicies: validates each on its changes of spec.
async fn policy_controller(client: Client, namespace: Option<&str>, ctx: Arc<Context>) {
    let ar = policy_resource();
    let policies: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    };
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let trigger = watcher(policies, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .filter(generation_changed());
    Controller::for_stream_with(trigger, store, ar)
        .run(reconcile_policy, retry_error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "policy controller");
            }
        })
        .await;
}

/// The objects a watch saw appear, change or go (`touched_objects` leaves out deletions).
fn changed_or_deleted<K: Send + 'static>(
    events: impl futures::Stream<Item = std::result::Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
) -> impl futures::Stream<Item = std::result::Result<K, watcher::Error>> + Send + 'static {
    events.filter_map(|event| {
        std::future::ready(match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o) | watcher::Event::Delete(o)) => Some(Ok(o)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    })
}

/// A filter that passes a Tool the first time it is seen, when its phase changed, and when it
/// is gone.
fn phase_changed() -> impl FnMut(&std::result::Result<DynamicObject, watcher::Error>) -> std::future::Ready<bool> {
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    move |item| {
        let pass = match item {
            Ok(obj) => {
                let key = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
                let phase = obj.data.pointer("/status/phase").and_then(|p| p.as_str()).map(str::to_owned);
                let gone = obj.metadata.deletion_timestamp.is_some();
                seen.insert(key, phase.clone()).is_none_or(|before| before != phase) || gone
            }
            Err(_) => true,
        };
        std::future::ready(pass)
    }
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

/// The Tool a bastion session's Lease belongs to.
fn session_tool(lease: &PartialObjectMeta<Lease>, ar: &kube::core::ApiResource) -> Option<ObjectRef<DynamicObject>> {
    let labels = lease.metadata.labels.as_ref()?;
    let ns = labels.get(toolkit_bastion::pod::TOOL_NAMESPACE_LABEL).map(String::as_str);
    let ns = ns.or(lease.metadata.namespace.as_deref())?;
    let tool = labels.get(toolkit_bastion::pod::TOOL_LABEL)?;
    Some(ObjectRef::new_with(tool, ar.clone()).within(ns))
}

/// The Tools in `store` that name `config_map` (of their own namespace).
pub fn tools_naming_config_map(
    store: &Store<DynamicObject>,
    connectors: &ConnectorRegistry,
    config_map: &PartialObjectMeta<ConfigMap>,
) -> Vec<ObjectRef<DynamicObject>> {
    let (Some(ns), Some(name)) = (config_map.metadata.namespace.as_deref(), config_map.metadata.name.as_deref()) else {
        return Vec::new();
    };
    store
        .state()
        .into_iter()
        .filter(|t| t.namespace().as_deref() == Some(ns))
        .filter(|t| {
            parse_tool(t).is_ok_and(|tool| {
                manifest::references(&tool.spec, connectors)
                    .iter()
                    .any(|r| matches!(r, Reference::ConfigMap { selector, .. } if selector.name == name))
            })
        })
        .map(|t| ObjectRef::from_obj_with(t.as_ref(), tool_resource()))
        .collect()
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "toolkit-operator".into());
    format!("{host}-{}", std::process::id())
}
