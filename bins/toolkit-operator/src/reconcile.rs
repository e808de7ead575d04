//! Reconciling one `Tool`: validate it as `toolkit validate` does, resolve the Secrets and
//! ConfigMaps it names, probe it as `toolkit tool probe` does, and write what was found to its
//! status (only when that changed) with an Event for each transition.
//!
//! Tools are watched as dynamic objects and parsed here, so that a Tool which does not parse
//! becomes `Validated=False` naming the field instead of breaking the watch of every other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, Resource as _, ResourceExt as _};
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, NoTools};
use toolkit_core::model::{Tool, ToolPhase, ToolStatus};
use toolkit_core::secret::{Redactor, SecretResolver as _};
use toolkit_core::validate::validate_tool;
use toolkit_core::{ConnectorRegistry, ErrorKind, ToolRef, manifest};
use toolkit_state::{AuditRecord, Decision, Outcome, StateStore};
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::status::{self, Finding, Findings};
pub use toolkit_kube::tool_resource;
use toolkit_kube::{KubeSecrets, has_cluster_references, resolve_all, resolve_references};

/// How often a tool is probed when its spec does not say.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(300);
/// How soon a tool naming an object that does not exist (yet) is looked at again.
const UNRESOLVED_RETRY: Duration = Duration::from_secs(60);
/// The longest wait between retries after API errors.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The name the operator writes status and Events under.
pub const MANAGER: &str = "toolkit-operator";

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The connectors of this build: validation, references, instances and probes.
    pub connectors: ConnectorRegistry,
    /// Publishes Events.
    pub recorder: Recorder,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// API errors in a row, per tool, for the backoff.
    failures: Mutex<HashMap<ObjectRef<DynamicObject>, u32>>,
    /// Where probes and permission applies are recorded, if anywhere.
    state: Option<StateStore>,
    /// Who the audit records name: `operator:<identity>`.
    caller: String,
}

impl Context {
    /// A context for reconciles through `client`, Events reported as `instance`.
    pub fn new(client: Client, connectors: ConnectorRegistry, instance: &str, metrics: Arc<Metrics>) -> Self {
        let reporter = kube::runtime::events::Reporter { controller: MANAGER.into(), instance: Some(instance.into()) };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            connectors,
            metrics,
            failures: Mutex::new(HashMap::new()),
            state: None,
            caller: format!("operator:{instance}"),
        }
    }

    /// Records each probe (history and audit) and each permissions apply in `state`.
    #[must_use]
    pub fn with_state(mut self, state: StateStore) -> Self {
        self.state = Some(state);
        self
    }
}

/// A reconcile that could not finish: the API server failed. The tool's own problems are not
/// errors; they are its status.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Reading or writing through the API server failed.
    #[error("tool {tool}: {what}: {source}")]
    Api {
        /// `namespace/name`.
        tool: String,
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// Reading a referenced Secret or ConfigMap failed for another reason than its absence.
    #[error("tool {tool}: {message}")]
    References {
        /// `namespace/name`.
        tool: String,
        /// One line naming the field and the object.
        message: String,
    },
}

/// Reconciles one tool: see the module docs.
pub async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = reconcile_inner(&obj, &ctx).await;
    ctx.metrics.observe_reconcile(started.elapsed(), result.is_ok());
    let key = ObjectRef::from_obj_with(obj.as_ref(), tool_resource());
    if result.is_ok()
        && let Ok(mut f) = ctx.failures.lock()
    {
        f.remove(&key);
    }
    result
}

/// After a failed reconcile: retry with exponential backoff (1s, 2s, 4s... up to 5 minutes).
pub fn error_policy(obj: Arc<DynamicObject>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    warn!(error = %error, "reconcile failed; retrying");
    let key = ObjectRef::from_obj_with(obj.as_ref(), tool_resource());
    let n = ctx.failures.lock().map_or(1, |mut f| {
        let n = f.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        *n
    });
    Action::requeue(backoff(n))
}

/// After a failed reconcile of a registry or a policy: retry after a fixed backoff (their
/// reconciles read only the API, so a failure is the API's and clears on its own).
pub fn retry_error_policy(_obj: Arc<DynamicObject>, error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    warn!(error = %error, "reconcile failed; retrying");
    Action::requeue(backoff(3))
}

/// The status an object carries now, or the default when it has none or it does not parse.
pub fn current_status<T: serde::de::DeserializeOwned + Default>(obj: &DynamicObject) -> T {
    obj.data.get("status").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default()
}

/// The wait before retry `n` (1-based).
pub fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(9)).min(MAX_BACKOFF)
}

async fn reconcile_inner(obj: &DynamicObject, ctx: &Context) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.to_owned());
    let name = obj.name_any();
    let qualified = format!("{namespace}/{name}");
    let old: ToolStatus = current_status(obj);
    let secrets = KubeSecrets::new(ctx.client.clone());
    let (mut findings, interval) = examine(obj, &namespace, &name, ctx, &secrets).await?;
    findings.bastion = bastion(obj, ctx, &findings);
    findings.active_sessions = active_sessions(&ctx.client, &namespace, &name).await;
    // An invalid or disabled tool changes only when its spec does, which triggers a reconcile.
    let next = if findings.validated.status == "False" || findings.disabled {
        Action::await_change()
    } else {
        Action::requeue(interval)
    };
    let new = findings.status(&old, obj.metadata.generation, chrono::Utc::now());
    let new = redact_status(new, &Redactor::new(&secrets.known_values(&namespace)));
    let refresh = chrono::Duration::from_std(interval / 2).unwrap_or(chrono::Duration::MAX);
    if !status::worth_writing(&old, &new, refresh) && old.observed_generation == new.observed_generation {
        return Ok(next);
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &tool_resource());
    let old_json = serde_json::to_value(&old).unwrap_or(Value::Null);
    let new_json = serde_json::to_value(&new).unwrap_or(Value::Null);
    let patch = json!({ "status": status::merge_patch(&old_json, &new_json) });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::Api { tool: qualified.clone(), what: "write status", source })?;
    if status::is_transition(&old, &new) {
        let (condition, finding) = findings.deciding();
        if new.phase == ToolPhase::Failed {
            warn!(tool = %qualified, phase = %new.phase, condition, reason = finding.reason, "{}", finding.message);
        } else {
            info!(tool = %qualified, phase = %new.phase, condition, reason = finding.reason, "{}", finding.message);
        }
        publish(ctx, obj, new.phase, condition, finding).await;
    }
    if let Some((type_, finding, _)) = &findings.permissions {
        let before = old.conditions.iter().find(|c| c.type_ == *type_);
        let changed = before.is_none_or(|c| c.status != finding.status || c.reason.as_deref() != Some(finding.reason));
        let drifted = finding.reason == "DriftCorrected";
        if changed || drifted {
            let ok = finding.status == "True";
            let reason = if ok && !drifted { type_ } else { finding.reason };
            publish_event(ctx, obj, !ok || drifted, reason, format!("{type_} {}: {}", finding.status, finding.message))
                .await;
        }
    }
    Ok(next)
}

/// `BastionReady` for a tool whose type runs sessions in pods: true once its credentials
/// resolve (the pod's `secretKeyRef`s will then too).
fn bastion(obj: &DynamicObject, ctx: &Context, findings: &Findings) -> Option<Finding> {
    let tool = parse_tool(obj).ok()?;
    let template = ctx.connectors.get(&tool.spec.type_).ok()?.session_template(&tool.spec)?;
    Some(match findings.credentials.status {
        "True" => Finding::yes("PodSessionAvailable", format!("sessions run in pods of {}", template.image)),
        _ => Finding::no("CredentialsNotResolved", "a session's pod would not start: its credentials do not resolve"),
    })
}

/// The tool's bastion sessions whose Lease was renewed within its duration.
async fn active_sessions(client: &Client, namespace: &str, name: &str) -> u32 {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(client.clone(), namespace);
    let selector = format!(
        "{},{}={name},{}={namespace}",
        toolkit_bastion::pod::SESSION_LABEL,
        toolkit_bastion::pod::TOOL_LABEL,
        toolkit_bastion::pod::TOOL_NAMESPACE_LABEL,
    );
    let Ok(list) = leases.list(&kube::api::ListParams::default().labels(&selector)).await else { return 0 };
    let now = chrono::Utc::now();
    let live = list.items.iter().filter(|l| {
        let spec = l.spec.clone().unwrap_or_default();
        let renewed = spec.renew_time.or(spec.acquire_time).map(|t| t.0);
        let duration = chrono::Duration::seconds(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
        renewed.is_some_and(|r| r + duration > now)
    });
    u32::try_from(live.count()).unwrap_or(u32::MAX)
}

/// Validates, resolves and probes, and says what was found and when to look again.
async fn examine(
    obj: &DynamicObject,
    namespace: &str,
    name: &str,
    ctx: &Context,
    secrets: &KubeSecrets,
) -> Result<(Findings, Duration), ReconcileError> {
    let pending = |why: &str| Finding::unknown("NotChecked", format!("not checked: {why}"));
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    let cluster_refs = if has_cluster_references(&value) {
        match resolve_references(&ctx.client, namespace, &mut value).await {
            Ok(lines) => Some(Finding::yes("Resolved", lines.join("; "))),
            Err(u) if u.api_failure => {
                return Err(ReconcileError::References { tool: format!("{namespace}/{name}"), message: u.message });
            }
            Err(u) => {
                let waiting = || pending("a reference does not resolve");
                let findings = Findings {
                    disabled: false,
                    references: Some(Finding::no(u.reason, u.message)),
                    validated: waiting(),
                    credentials: waiting(),
                    ready: waiting(),
                    probe: None,
                    bastion: None,
                    active_sessions: 0,
                    permissions: None,
                };
                // The objects it names are not watched: look again soon.
                return Ok((findings, UNRESOLVED_RETRY));
            }
        }
    } else {
        None
    };
    let invalid = |message: String| Findings {
        disabled: false,
        references: cluster_refs.clone(),
        validated: Finding::no("FieldInvalid", message),
        credentials: pending("the spec is invalid"),
        ready: pending("the spec is invalid"),
        probe: None,
        bastion: None,
        active_sessions: 0,
        permissions: None,
    };
    let tool = match parse_tool_value(value) {
        Ok(t) => t,
        Err(e) => return Ok((invalid(e.to_string()), DEFAULT_PROBE_INTERVAL)),
    };
    let spec = &tool.spec;
    let probe_settings = spec.probe.as_ref().map(|p| p.spec()).unwrap_or_default();
    let interval = probe_settings.interval.map_or(DEFAULT_PROBE_INTERVAL, |d| d.get()).max(Duration::from_secs(1));
    let errs = validate_tool(spec, &ctx.connectors);
    if !errs.is_empty() {
        let message = errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Ok((invalid(message), interval));
    }
    let validated = Finding::yes("Valid", "the spec passes the checks of `toolkit validate`");
    if !spec.enabled {
        let off = || Finding::unknown("Disabled", "spec.enabled is false: the tool is neither served nor probed");
        let findings = Findings {
            disabled: true,
            references: cluster_refs,
            validated,
            credentials: off(),
            ready: off(),
            probe: None,
            bastion: None,
            active_sessions: 0,
            permissions: None,
        };
        return Ok((findings, interval));
    }
    let references = manifest::references(spec, &ctx.connectors);
    let config_maps = match resolve_all(&ctx.client, secrets, namespace, &references).await {
        Ok(maps) => maps,
        Err(u) if u.api_failure => {
            return Err(ReconcileError::References { tool: format!("{namespace}/{name}"), message: u.message });
        }
        Err(u) => {
            let findings = Findings {
                disabled: false,
                references: cluster_refs,
                validated,
                credentials: Finding::no(u.reason, u.message),
                ready: pending("credentials are not resolved"),
                probe: None,
                bastion: None,
                active_sessions: 0,
                permissions: None,
            };
            return Ok((findings, interval));
        }
    };
    let credentials = match references.len() {
        0 => Finding::yes("NoneNeeded", "the tool names no Secret or ConfigMap"),
        n => Finding::yes("Resolved", format!("{n} reference{} resolved", if n == 1 { "" } else { "s" })),
    };
    let (ready, probe, permissions) =
        probe(&tool, namespace, name, ctx, secrets, config_maps, probe_settings.enabled).await;
    let findings = Findings {
        disabled: false,
        references: cluster_refs,
        validated,
        credentials,
        ready,
        probe,
        bastion: None,
        active_sessions: 0,
        permissions,
    };
    Ok((findings, interval))
}

/// What planning (and in `enforce` mode applying) `spec.permissions` found.
type PermissionsFinding = Option<(&'static str, Finding, toolkit_core::model::PermissionsStatus)>;

/// Builds the tool's instance and runs its probe, as `toolkit tool probe` does; then, when the
/// tool answered and declares `spec.permissions`, plans them (and applies them in `enforce`
/// mode), as `toolkit tool permissions [--apply]` does.
async fn probe(
    tool: &Arc<Tool>,
    namespace: &str,
    name: &str,
    ctx: &Context,
    secrets: &KubeSecrets,
    config_maps: toolkit_core::manifest::ConfigMaps,
    enabled: bool,
) -> (Finding, Option<toolkit_core::model::LastProbe>, PermissionsFinding) {
    let Ok(connector) = ctx.connectors.get(&tool.spec.type_) else {
        return (Finding::no("TypeNotInBuild", "the type is not in this build"), None, None);
    };
    let reference = ToolRef { namespace: namespace.to_owned(), name: name.to_owned() };
    let build = BuildContext {
        tool: tool.clone(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        // The same resolver: what the probe reads is redacted with what was checked.
        secrets: Arc::new(secrets.clone()),
        config_maps: Arc::new(config_maps),
        tools: Arc::new(NoTools),
    };
    let instance = match connector.build(build) {
        Ok(i) => i,
        Err(e) => return (Finding::no("BuildFailed", toolkit_core::error::one_line(&e.to_string())), None, None),
    };
    let outcome = match instance.probe() {
        None => (Finding::yes("NoProbe", "valid with its credentials resolved; this type has no probe"), None),
        Some(_) if !enabled => {
            (Finding::yes("ProbeDisabled", "valid with its credentials resolved; spec.probe is off"), None)
        }
        Some(p) => {
            let (phase, record) = toolkit_runtime::run_probe(p, &tool.spec, &secrets.known_values(namespace)).await;
            record_probe(ctx, &reference, &record, phase).await;
            let finding = if phase == ToolPhase::Ready {
                let version = record.server_version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
                // The latency is in `lastProbe`; a message that held it would change at
                // every probe and rewrite the status each time.
                Finding::yes("ProbeSucceeded", format!("the probe answered{version}"))
            } else {
                let reason = status::probe_reason(record.error_kind.as_deref());
                Finding::no(reason, record.error.clone().unwrap_or_else(|| "the probe failed".into()))
            };
            (finding, Some(record))
        }
    };
    let permissions = match (&tool.spec.permissions, outcome.0.status) {
        (Some(spec), "True") => {
            let audit = ctx.state.as_ref().map(|state| Audit { state, caller: &ctx.caller, tool: &reference });
            Some(permissions(instance.as_ref(), spec.mode, &secrets.known_values(namespace), audit).await)
        }
        _ => None,
    };
    instance.shutdown().await;
    (outcome.0, outcome.1, permissions)
}

/// Records a probe in the state, as `toolkit tool probe` does: its history and an audit
/// record. A state that cannot be written is logged; the probe's finding stands.
async fn record_probe(ctx: &Context, reference: &ToolRef, record: &toolkit_core::model::LastProbe, phase: ToolPhase) {
    let Some(state) = &ctx.state else { return };
    let audit = AuditRecord {
        id: 0,
        time: record.time,
        caller: ctx.caller.clone(),
        tool: reference.clone(),
        operation: "probe".into(),
        arguments: None,
        decision: Decision::Allowed,
        duration_ms: record.latency_ms,
        outcome: if record.ok { Outcome::Ok } else { Outcome::Error },
        error_kind: record.error_kind.clone(),
        error: record.error.clone(),
    };
    let written = match state.record_probe(reference, record, phase).await {
        Ok(()) => state.append_audit(&audit).await.map(drop),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        warn!(tool = %reference, error = %e, "could not record the probe in the state");
    }
}

/// Where an applied plan is audited.
struct Audit<'a> {
    state: &'a StateStore,
    caller: &'a str,
    tool: &'a ToolRef,
}

/// Plans the tool's permissions and, in `enforce` mode, applies the plan and reads the grants
/// again. A plan that changed what was granted corrected a drift, and says so. With a state,
/// each apply is audited as `toolkit tool permissions --apply` audits it; an apply whose record
/// cannot be written is reported as `AuditFailed` and applied (and audited) again at the next
/// reconcile.
async fn permissions(
    instance: &dyn toolkit_core::ToolInstance,
    mode: toolkit_core::model::PermissionMode,
    secrets: &[toolkit_core::SecretString],
    audit: Option<Audit<'_>>,
) -> (&'static str, Finding, toolkit_core::model::PermissionsStatus) {
    use toolkit_core::model::{PermissionMode, PermissionsStatus};
    let condition = match mode {
        PermissionMode::Declare => status::PERMISSIONS_DECLARED,
        PermissionMode::Enforce => status::PERMISSIONS_APPLIED,
    };
    let line = |e: &toolkit_core::Error| {
        toolkit_core::error::one_line(&toolkit_core::secret::redact_text(&e.to_string(), secrets))
    };
    let failed = |e: &toolkit_core::Error| {
        let reason = match e.kind() {
            ErrorKind::Denied | ErrorKind::Auth => "PermissionDenied",
            ErrorKind::Unsupported => "Unsupported",
            _ => "PlanFailed",
        };
        (condition, Finding::no(reason, line(e)), PermissionsStatus { mode, ..PermissionsStatus::default() })
    };
    let Some(provisioner) = instance.permissions() else {
        let e = toolkit_core::Error::unsupported("this type has no engine grants to plan");
        return failed(&e);
    };
    let plan = match provisioner.plan().await {
        Ok(p) => p,
        Err(e) => return failed(&e),
    };
    let recorded = |p: &toolkit_core::PermissionPlan| PermissionsStatus {
        mode,
        principal: p.principal.clone(),
        statements: p.statements.clone(),
        current: p.current.clone(),
    };
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if mode == PermissionMode::Declare {
        let message = format!(
            "{} planned for {} ({} held); not applied: spec.permissions.mode is declare",
            count(plan.statements.len(), "statement"),
            plan.principal,
            count(plan.current.len(), "grant"),
        );
        return (condition, Finding::yes("Planned", message), recorded(&plan));
    }
    let started = Instant::now();
    let time = chrono::Utc::now();
    let after = match provisioner.apply(&plan).await {
        Ok(()) => provisioner.plan().await,
        Err(e) => Err(e),
    };
    if let Some(audit) = audit {
        let mut arguments = json!({"principal": plan.principal, "statements": plan.statements});
        toolkit_core::secret::redact_json(&mut arguments, secrets);
        let record = AuditRecord {
            id: 0,
            time,
            caller: audit.caller.to_owned(),
            tool: audit.tool.clone(),
            operation: "permissions".into(),
            arguments: Some(arguments),
            decision: if after.is_ok() { Decision::Applied } else { Decision::Allowed },
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            outcome: if after.is_ok() { Outcome::Ok } else { Outcome::Error },
            error_kind: after.as_ref().err().map(|e| e.kind().as_str().to_owned()),
            error: after.as_ref().err().map(line),
        };
        if let Err(e) = audit.state.append_audit(&record).await {
            let message = format!("the plan was applied, but its audit record could not be written: {}", line(&e));
            return (condition, Finding::no("AuditFailed", message), PermissionsStatus { mode, ..Default::default() });
        }
    }
    match after {
        Ok(after) => {
            let drifted = after.current != plan.current;
            let (reason, how) = if drifted {
                ("DriftCorrected", "; the grants had drifted and were corrected")
            } else {
                ("Applied", "")
            };
            let message = format!(
                "{} applied to {} ({} held){how}",
                count(plan.statements.len(), "statement"),
                after.principal,
                count(after.current.len(), "grant"),
            );
            (condition, Finding::yes(reason, message), recorded(&after))
        }
        Err(e) => failed(&e),
    }
}

/// Parses a watched object as a `Tool`; the error names the field, under `spec.`.
pub fn parse_tool(obj: &DynamicObject) -> Result<Arc<Tool>, toolkit_core::validate::FieldError> {
    let value = serde_json::to_value(obj).map_err(|e| toolkit_core::validate::FieldError::new("", e.to_string()))?;
    parse_tool_value(value)
}

/// [`parse_tool`] of the object as JSON.
fn parse_tool_value(mut value: Value) -> Result<Arc<Tool>, toolkit_core::validate::FieldError> {
    if let Some(map) = value.as_object_mut() {
        // Status is the operator's; a status it cannot read is rewritten, not a spec error.
        map.remove("status");
    }
    let yaml = serde_yaml::to_value(&value).map_err(|e| toolkit_core::validate::FieldError::new("", e.to_string()))?;
    manifest::parse::<Tool>(yaml).map(Arc::new)
}

/// Every string of the status with resolved secret values taken out (messages come from
/// servers, which may quote what they were sent).
fn redact_status(status: ToolStatus, redactor: &Redactor) -> ToolStatus {
    if redactor.is_empty() {
        return status;
    }
    let mut value = serde_json::to_value(&status).unwrap_or(Value::Null);
    if redactor.json(&mut value) { serde_json::from_value(value).unwrap_or(status) } else { status }
}

async fn publish(ctx: &Context, obj: &DynamicObject, phase: ToolPhase, condition: &str, finding: &Finding) {
    let reason = if phase == ToolPhase::Ready { "Ready" } else { finding.reason };
    let note = format!("{phase}: {condition} {}: {}", finding.status, finding.message);
    publish_event(ctx, obj, phase == ToolPhase::Failed, reason, note).await;
}

async fn publish_event(ctx: &Context, obj: &DynamicObject, warning: bool, reason: &str, note: String) {
    let reference = ObjectReference {
        api_version: Some(Tool::api_version(&()).into_owned()),
        kind: Some(Tool::kind(&()).into_owned()),
        name: obj.metadata.name.clone(),
        namespace: obj.metadata.namespace.clone(),
        uid: obj.metadata.uid.clone(),
        resource_version: obj.metadata.resource_version.clone(),
        ..ObjectReference::default()
    };
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        warn!(tool = ?reference.name, error = %e, "could not publish an event");
    }
}
