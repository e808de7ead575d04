//! Reconciling one `ToolRegistry`: check its spec, list the labelled Services and member Tools
//! of its namespaces, and write what was found (see [`crate::discovery`]) to its status, only
//! when that changed, with an Event when its phase changes.
//!
//! Registries are watched as dynamic objects and parsed here, as Tools are, so that one which
//! does not parse becomes `Validated=False` instead of breaking the watch of the others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::api::{ListParams, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource as _, ResourceExt as _};
use serde_json::{Value, json};
use toolkit_core::manifest;
use toolkit_core::model::{RegistryPhase, ToolPhase, ToolRegistry, ToolRegistryStatus};
use toolkit_core::validate::FieldError;
use tracing::{info, warn};

use crate::discovery;
use crate::reconcile::{Context, ReconcileError, current_status, tool_resource};
use crate::status::merge_patch;

/// How often a registry is looked at again without a change that triggers it.
const RESYNC: Duration = Duration::from_secs(300);

pub use toolkit_kube::registry_resource;

/// Parses a watched object as a `ToolRegistry`; the error names the field.
pub fn parse_registry(obj: &DynamicObject) -> Result<ToolRegistry, FieldError> {
    let mut value = serde_json::to_value(obj).map_err(|e| FieldError::new("", e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    let yaml = serde_yaml::to_value(&value).map_err(|e| FieldError::new("", e.to_string()))?;
    manifest::parse::<ToolRegistry>(yaml)
}

/// Reconciles one registry: see the module docs.
pub async fn reconcile_registry(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = reconcile_inner(&obj, &ctx).await;
    ctx.metrics.observe_reconcile(started.elapsed(), result.is_ok());
    result
}

async fn reconcile_inner(obj: &DynamicObject, ctx: &Context) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.to_owned());
    let name = obj.name_any();
    let qualified = format!("{namespace}/{name}");
    let old: ToolRegistryStatus = current_status(obj);
    let (problems, members) = match parse_registry(obj) {
        Err(e) => (vec![e], Vec::new()),
        Ok(registry) => {
            let spec = &registry.spec;
            let problems = discovery::problems(spec, &ctx.connectors);
            let mut members = discovery::declared(spec, &problems);
            if let Some(d) = &spec.discovery {
                for ns in discovery::namespaces(spec, &namespace) {
                    let api = |what: &'static str| {
                        let tool = qualified.clone();
                        move |source| ReconcileError::Api { tool, what, source }
                    };
                    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
                    let listed = services.list(&ListParams::default()).await.map_err(api("list services"))?;
                    members.extend(
                        listed
                            .items
                            .iter()
                            .filter(|s| discovery::is_tool_service(s.metadata.labels.as_ref()))
                            .filter(|s| discovery::carries(s.metadata.labels.as_ref(), &d.match_labels))
                            .map(|s| discovery::service(s, d.port.as_deref())),
                    );
                    let tools: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &tool_resource());
                    let listed = tools.list(&ListParams::default()).await.map_err(api("list tools"))?;
                    members.extend(
                        listed
                            .items
                            .iter()
                            .filter(|t| discovery::carries(t.metadata.labels.as_ref(), &d.match_labels))
                            .map(|t| discovery::tool(&t.name_any(), &ns, tool_phase(t))),
                    );
                }
            }
            (problems, members)
        }
    };
    let new = discovery::status(&old, &problems, members, obj.metadata.generation, chrono::Utc::now());
    if new == old {
        return Ok(Action::requeue(RESYNC));
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &registry_resource());
    let old_json = serde_json::to_value(&old).unwrap_or(Value::Null);
    let new_json = serde_json::to_value(&new).unwrap_or(Value::Null);
    let patch = json!({ "status": merge_patch(&old_json, &new_json) });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::Api { tool: qualified.clone(), what: "write status", source })?;
    if old.phase != new.phase || old.conditions.is_empty() {
        let summary = format!("{} of {} tools available", new.available_tools, new.discovered_tools);
        if new.phase == RegistryPhase::Ready {
            info!(registry = %qualified, phase = ?new.phase, "{summary}");
        } else {
            warn!(registry = %qualified, phase = ?new.phase, "{summary}");
        }
        publish(ctx, obj, &new, summary).await;
    }
    Ok(Action::requeue(RESYNC))
}

/// The phase a Tool's status reports, if any.
fn tool_phase(tool: &DynamicObject) -> Option<ToolPhase> {
    tool.data.pointer("/status/phase").and_then(Value::as_str).and_then(|p| p.parse().ok())
}

/// The registries of `store` that discover in `namespace`: a change of a Service or Tool there
/// may change what they found.
pub fn registries_discovering_in(
    store: &Store<DynamicObject>,
    namespace: Option<&str>,
) -> Vec<ObjectRef<DynamicObject>> {
    let Some(namespace) = namespace else { return Vec::new() };
    store
        .state()
        .into_iter()
        .filter(|r| {
            let own = r.namespace().unwrap_or_default();
            parse_registry(r).is_ok_and(|reg| {
                reg.spec.discovery.is_some() && discovery::namespaces(&reg.spec, &own).iter().any(|n| n == namespace)
            })
        })
        .map(|r| ObjectRef::from_obj_with(r.as_ref(), registry_resource()))
        .collect()
}

async fn publish(ctx: &Context, obj: &DynamicObject, status: &ToolRegistryStatus, summary: String) {
    let reference = ObjectReference {
        api_version: Some(ToolRegistry::api_version(&()).into_owned()),
        kind: Some(ToolRegistry::kind(&()).into_owned()),
        name: obj.metadata.name.clone(),
        namespace: obj.metadata.namespace.clone(),
        uid: obj.metadata.uid.clone(),
        resource_version: obj.metadata.resource_version.clone(),
        ..ObjectReference::default()
    };
    let deciding = status.conditions.iter().find(|c| c.status != "True").or_else(|| status.conditions.last());
    let event = Event {
        type_: if status.phase == RegistryPhase::Ready { EventType::Normal } else { EventType::Warning },
        reason: format!("{:?}", status.phase),
        // The API server refuses notes over 1 kB.
        note: Some(
            match deciding.and_then(|c| c.message.as_deref()) {
                Some(m) => format!("{summary}: {m}"),
                None => summary,
            }
            .chars()
            .take(1000)
            .collect(),
        ),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        warn!(registry = ?reference.name, error = %e, "could not publish an event");
    }
}
