//! Reconciling one `ApprovalPolicy`: the checks local mode applies (strict fields, blocked
//! patterns that compile) become its `Validated` condition with `observedGeneration`, written
//! only when it changed, with an Event when it turns.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource as _, ResourceExt as _};
use serde_json::json;
use toolkit_core::manifest;
use toolkit_core::model::{ApprovalPolicy, ApprovalPolicyStatus, Condition};
use toolkit_policy::ApprovalSettings;
use tracing::{info, warn};

use crate::reconcile::{Context, ReconcileError, current_status};
use crate::status::VALIDATED;

pub use toolkit_kube::policy_resource;

/// Whether a policy passes the checks of local mode: `Ok`, or one line naming the field.
pub fn check(obj: &DynamicObject) -> Result<(), String> {
    let mut value = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    let yaml = serde_yaml::to_value(&value).map_err(|e| e.to_string())?;
    let policy = manifest::parse::<ApprovalPolicy>(yaml).map_err(|e| e.to_string())?;
    ApprovalSettings::from_spec(&policy.spec)
        .map(|_| ())
        .map_err(|e| format!("spec.{}", toolkit_core::error::one_line(e.message())))
}

/// The status of a policy that `check` found `result` for, over `old`.
pub fn status(
    old: &ApprovalPolicyStatus,
    result: &Result<(), String>,
    generation: Option<i64>,
) -> ApprovalPolicyStatus {
    let (status, reason, message) = match result {
        Ok(()) => ("True", "Valid", "the policy passes the checks of `toolkit validate`".to_owned()),
        Err(m) => ("False", "FieldInvalid", m.clone()),
    };
    let previous = old.conditions.iter().find(|c| c.type_ == VALIDATED);
    ApprovalPolicyStatus {
        conditions: vec![Condition {
            type_: VALIDATED.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            last_transition_time: match previous {
                Some(p) if p.status == status => p.last_transition_time,
                _ => chrono::Utc::now(),
            },
            observed_generation: generation,
        }],
        observed_generation: generation,
    }
}

/// Reconciles one policy: see the module docs.
pub async fn reconcile_policy(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = reconcile_inner(&obj, &ctx).await;
    ctx.metrics.observe_reconcile(started.elapsed(), result.is_ok());
    result
}

async fn reconcile_inner(obj: &DynamicObject, ctx: &Context) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.to_owned());
    let name = obj.name_any();
    let qualified = format!("{namespace}/{name}");
    let old: ApprovalPolicyStatus = current_status(obj);
    let checked = check(obj);
    let new = status(&old, &checked, obj.metadata.generation);
    if new == old {
        return Ok(Action::await_change());
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &policy_resource());
    let patch = json!({ "status": new });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::Api { tool: qualified.clone(), what: "write status", source })?;
    let was = old.conditions.first().map(|c| c.status.as_str());
    let is = new.conditions.first().map(|c| c.status.as_str());
    if was != is {
        let (type_, reason, note) = match &checked {
            Ok(()) => (EventType::Normal, "Valid", "the policy is valid".to_owned()),
            Err(m) => (EventType::Warning, "FieldInvalid", m.clone()),
        };
        if checked.is_ok() {
            info!(policy = %qualified, "{note}");
        } else {
            warn!(policy = %qualified, "{note}");
        }
        let reference = ObjectReference {
            api_version: Some(ApprovalPolicy::api_version(&()).into_owned()),
            kind: Some(ApprovalPolicy::kind(&()).into_owned()),
            name: obj.metadata.name.clone(),
            namespace: obj.metadata.namespace.clone(),
            uid: obj.metadata.uid.clone(),
            resource_version: obj.metadata.resource_version.clone(),
            ..ObjectReference::default()
        };
        let event =
            Event { type_, reason: reason.into(), note: Some(note), action: "Reconcile".into(), secondary: None };
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            warn!(policy = %qualified, error = %e, "could not publish an event");
        }
    }
    Ok(Action::await_change())
}
