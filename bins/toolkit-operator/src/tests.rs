//! Reconcile paths against a mocked API server (kube's client over a `tower-test` service, as
//! controller-rs does), with a connector of its own whose probe needs no server: it accepts the
//! password `right-password` and refuses any other as an authentication failure.

use std::sync::Arc;

use async_trait::async_trait;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use kube::core::DynamicObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use toolkit_core::connector::{
    BuildContext, Capabilities, PermissionPlan, PermissionProvisioner, Probe, ProbeReport, SpecPart, ToolInstance,
    TypeInfo,
};
use toolkit_core::model::{Reference, SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;
use toolkit_core::{Connector, ConnectorRegistry, Error, ErrorKind};

mod registry;

use crate::metrics::Metrics;
use crate::reconcile::{Context, reconcile};

const CANARY: &str = "CANARY-wrong-password-3f9a";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FakeConfig {
    host: String,
    password_ref: SecretKeySelector,
}

struct Fake;

impl Connector for Fake {
    fn info(&self) -> TypeInfo {
        TypeInfo::new("fake", "a server that needs no network").with(SpecPart::config::<FakeConfig>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, permissions_plan: true, permissions_apply: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(c) = spec.read_config::<FakeConfig>(&mut errs)
            && c.host.is_empty()
        {
            errs.push(FieldError::new("spec.config.host", "must not be empty"));
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        match spec.config_as::<FakeConfig>() {
            Ok(Some(c)) => vec![Reference::secret("spec.config.passwordRef", &c.password_ref)],
            _ => Vec::new(),
        }
    }

    fn build(&self, ctx: BuildContext) -> toolkit_core::Result<Arc<dyn ToolInstance>> {
        let config = match ctx.spec().config_as::<FakeConfig>() {
            Ok(Some(c)) => c,
            Ok(None) => return Err(Error::config("spec.config is required")),
            Err(errs) => return Err(toolkit_core::validate::config_error("fake tool", &errs)),
        };
        Ok(Arc::new(FakeInstance { ctx, selector: config.password_ref }))
    }
}

struct FakeInstance {
    ctx: BuildContext,
    selector: SecretKeySelector,
}

#[async_trait]
impl ToolInstance for FakeInstance {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        Some(self)
    }
}

/// The grant the fake engine holds, shared by every instance (the operator builds one per
/// reconcile): set by `apply`, taken away by a test to make a drift.
static GRANTED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

#[async_trait]
impl PermissionProvisioner for FakeInstance {
    async fn plan(&self) -> toolkit_core::Result<PermissionPlan> {
        let held = *GRANTED.lock().unwrap();
        Ok(PermissionPlan {
            principal: "app".into(),
            statements: vec!["GRANT SELECT ON orders TO app".into()],
            current: if held { vec!["SELECT ON orders".into()] } else { Vec::new() },
        })
    }

    async fn apply(&self, _plan: &PermissionPlan) -> toolkit_core::Result<()> {
        *GRANTED.lock().unwrap() = true;
        Ok(())
    }
}

#[async_trait]
impl Probe for FakeInstance {
    async fn probe(&self) -> toolkit_core::Result<ProbeReport> {
        let password = self.ctx.secrets.resolve(&self.ctx.namespace, &self.selector).await?;
        if password.expose() == "right-password" {
            Ok(ProbeReport { server_version: Some("fake 1.0".into()), ..ProbeReport::default() })
        } else {
            // A server that quotes what it was sent: the operator must redact it.
            Err(Error::new(ErrorKind::Auth, format!("password `{}` refused", password.expose())))
        }
    }
}

/// One request the client made: method, path with query, and JSON body.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

/// Answers the client's requests with `respond` until the client is dropped, and returns what
/// it asked.
fn api_server(
    respond: impl Fn(&str, &str) -> (u16, Value) + Send + 'static,
) -> (Client, tokio::task::JoinHandle<Vec<Seen>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let path = request.uri().to_string();
            let bytes = request.into_body().collect_bytes().await.unwrap_or_default();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let (code, answer) = respond(&method, &path);
            seen.push(Seen { method, path, body });
            let response = Response::builder().status(code).body(Body::from(serde_json::to_vec(&answer).unwrap()));
            send.send_response(response.unwrap());
        }
        seen
    });
    (Client::new(service, "default"), task)
}

fn registry() -> ConnectorRegistry {
    let mut r = ConnectorRegistry::new();
    r.register(Fake);
    r
}

fn tool(spec: Value, status: Option<Value>) -> Arc<DynamicObject> {
    let mut obj = json!({
        "apiVersion": "toolkit.dev/v1alpha1",
        "kind": "Tool",
        "metadata": {"name": "db", "namespace": "team", "uid": "u-1", "generation": 2, "resourceVersion": "7"},
        "spec": spec,
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    Arc::new(serde_json::from_value(obj).unwrap())
}

fn valid_spec() -> Value {
    json!({"type": "fake", "config": {"host": "db.internal", "passwordRef": {"name": "db-creds", "key": "password"}}})
}

fn secret(password: &str) -> Value {
    use base64::Engine as _;
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "team"},
        "data": {"password": base64::engine::general_purpose::STANDARD.encode(password)},
    })
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"}),
    )
}

/// Runs one reconcile of `obj` against an API server answering with `respond`.
async fn reconcile_with(
    obj: Arc<DynamicObject>,
    respond: impl Fn(&str, &str) -> (u16, Value) + Send + 'static,
) -> Vec<Seen> {
    let (client, server) = api_server(respond);
    let ctx = Arc::new(Context::new(client, registry(), "test-replica", Arc::new(Metrics::new())));
    reconcile(obj, ctx.clone()).await.expect("reconcile");
    drop(ctx);
    server.await.unwrap()
}

/// Answers a Secret with `password`, status patches and Events with what they were sent.
fn cluster(password: Option<&'static str>) -> impl Fn(&str, &str) -> (u16, Value) + Send + 'static {
    move |method, path| match (method, path) {
        ("GET", p) if p.starts_with("/api/v1/namespaces/team/secrets/db-creds") => match password {
            Some(pw) => (200, secret(pw)),
            None => not_found(),
        },
        ("PATCH", p) if p.starts_with("/apis/toolkit.dev/v1alpha1/namespaces/team/tools/db/status") => {
            (200, serde_json::to_value(tool(valid_spec(), None).as_ref()).unwrap())
        }
        ("POST", p) if p.starts_with("/apis/events.k8s.io/v1/namespaces/team/events") => (
            201,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "team"}, "eventTime": null}),
        ),
        _ => not_found(),
    }
}

fn status_patch(seen: &[Seen]) -> &Value {
    let patch = seen.iter().find(|s| s.method == "PATCH").expect("a status patch");
    assert!(patch.path.contains("/tools/db/status"), "{}", patch.path);
    &patch.body["status"]
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == type_).unwrap()
}

#[tokio::test]
async fn a_valid_tool_is_patched_ready_with_an_event() {
    let seen = reconcile_with(tool(valid_spec(), None), cluster(Some("right-password"))).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Ready");
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(condition(status, "Validated")["status"], "True");
    assert_eq!(condition(status, "CredentialsResolved")["status"], "True");
    assert_eq!(condition(status, "Ready")["reason"], "ProbeSucceeded");
    assert_eq!(status["lastProbe"]["ok"], true);
    assert_eq!(status["lastProbe"]["serverVersion"], "fake 1.0");
    let event = seen.iter().find(|s| s.method == "POST").expect("an event");
    assert_eq!(event.body["reason"], "Ready");
    assert_eq!(event.body["type"], "Normal");
    assert_eq!(event.body["regarding"]["name"], "db");
}

#[tokio::test]
async fn an_invalid_tool_is_validated_false_naming_the_field_and_reads_no_secret() {
    let spec = json!({"type": "fake", "timeout": "soon", "config": {"host": "", "passwordRef": {"name": "db-creds", "key": "password"}}});
    let seen = reconcile_with(tool(spec, None), cluster(Some("right-password"))).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let validated = condition(status, "Validated");
    assert_eq!(validated["status"], "False");
    assert_eq!(validated["reason"], "FieldInvalid");
    assert!(validated["message"].as_str().unwrap().starts_with("spec.timeout: "), "{validated}");
    assert_eq!(condition(status, "Ready")["status"], "Unknown");
    assert!(!seen.iter().any(|s| s.path.contains("/secrets/")), "an invalid tool reads no Secret");
    // A spec that parses but fails the checks names its field too.
    let spec = json!({"type": "fake", "config": {"host": "", "passwordRef": {"name": "db-creds", "key": "password"}}});
    let seen = reconcile_with(tool(spec, None), cluster(Some("right-password"))).await;
    let message = condition(status_patch(&seen), "Validated")["message"].as_str().unwrap().to_owned();
    assert_eq!(message, "spec.config.host: must not be empty");
}

#[tokio::test]
async fn a_missing_secret_is_credentials_resolved_false() {
    let seen = reconcile_with(tool(valid_spec(), None), cluster(None)).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let credentials = condition(status, "CredentialsResolved");
    assert_eq!(credentials["status"], "False");
    assert_eq!(credentials["reason"], "SecretNotFound");
    assert_eq!(credentials["message"], "spec.config.passwordRef: secret team/db-creds does not exist");
    assert_eq!(condition(status, "Ready")["status"], "Unknown");
}

#[tokio::test]
async fn a_wrong_password_is_ready_false_for_authentication_and_never_shown() {
    let (client, server) = api_server(cluster(Some(CANARY)));
    let ctx = Arc::new(Context::new(client, registry(), "test-replica", Arc::new(Metrics::new())));
    reconcile(tool(valid_spec(), None), ctx.clone()).await.unwrap();
    drop(ctx);
    let seen = server.await.unwrap();
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let ready = condition(status, "Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "AuthenticationFailed");
    assert_eq!(status["lastProbe"]["errorKind"], "auth");
    let written: Vec<String> = seen.iter().filter(|s| s.method != "GET").map(|s| s.body.to_string()).collect();
    assert!(!written.is_empty());
    for body in written {
        assert!(!body.contains(CANARY), "the password reached the API server: {body}");
    }
}

#[tokio::test]
async fn an_unchanged_status_is_not_written() {
    // The status a first reconcile writes, read back as the object's status.
    let seen = reconcile_with(tool(valid_spec(), None), cluster(Some("right-password"))).await;
    let written = status_patch(&seen).clone();
    let seen = reconcile_with(tool(valid_spec(), Some(written)), cluster(Some("right-password"))).await;
    assert!(seen.iter().all(|s| s.method == "GET"), "{seen:?}");
    assert!(seen.iter().any(|s| s.path.contains("/secrets/db-creds")), "the probe still ran");
}

#[tokio::test]
async fn a_disabled_tool_is_disabled_without_reading_secrets() {
    let mut spec = valid_spec();
    spec["enabled"] = json!(false);
    let seen = reconcile_with(tool(spec, None), cluster(Some("right-password"))).await;
    assert_eq!(status_patch(&seen)["phase"], "Disabled");
    assert!(!seen.iter().any(|s| s.path.contains("/secrets/")));
}

#[tokio::test]
async fn a_missing_mcp_server_is_references_resolved_false() {
    let spec = json!({"type": "mcp", "mcp": {"serverRef": {"name": "nowhere"}, "toolName": "echo"}});
    let seen = reconcile_with(tool(spec, None), cluster(None)).await;
    assert!(
        seen.iter().any(|s| s.path.starts_with("/apis/ark.mckinsey.com/v1alpha1/namespaces/team/mcpservers/nowhere"))
    );
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let references = condition(status, "ReferencesResolved");
    assert_eq!(references["status"], "False");
    assert_eq!(references["reason"], "McpServerNotFound");
    assert_eq!(
        references["message"],
        "spec.mcp.serverRef: MCPServer team/nowhere (ark.mckinsey.com/v1alpha1) does not exist"
    );
    assert_eq!(condition(status, "Validated")["status"], "Unknown");
    assert_eq!(status["conditions"][0]["type"], "ReferencesResolved");
}

#[tokio::test]
async fn an_agent_by_name_is_reached_through_its_service() {
    let spec = json!({"type": "agent", "agent": {"name": "helper"}});
    let seen = reconcile_with(tool(spec, None), |method, path| match (method, path) {
        ("GET", p) if p.starts_with("/api/v1/namespaces/team/services?") => {
            assert!(p.contains("labelSelector=toolkit.dev%2Fagent%3Dhelper"), "{p}");
            (200, json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": []}))
        }
        ("GET", p) if p.starts_with("/api/v1/namespaces/team/services/helper") => (
            200,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "helper", "namespace": "team"},
                   "spec": {"ports": [{"name": "metrics", "port": 9090}, {"name": "mcp", "port": 8000}]}}),
        ),
        (m, p) => cluster(None)(m, p),
    })
    .await;
    let references = condition(status_patch(&seen), "ReferencesResolved").clone();
    assert_eq!(references["status"], "True", "{references}");
    assert_eq!(
        references["message"],
        "spec.agent.name: agent team/helper is served at http://helper.team.svc:8000/mcp"
    );
}

/// `old` with the JSON merge patch `patch` applied.
fn merged(old: &Value, patch: &Value) -> Value {
    match (old, patch) {
        (Value::Object(o), Value::Object(p)) => {
            let mut out = o.clone();
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let next = merged(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), next);
                }
            }
            Value::Object(out)
        }
        _ => patch.clone(),
    }
}

#[tokio::test]
async fn permissions_are_declared_or_applied_and_a_drift_is_corrected() {
    let mut spec = valid_spec();
    spec["permissions"] = json!({"mode": "declare"});
    let seen = reconcile_with(tool(spec.clone(), None), cluster(Some("right-password"))).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Ready");
    let declared = condition(status, "PermissionsDeclared");
    assert_eq!(declared["reason"], "Planned", "{declared}");
    assert_eq!(status["permissions"]["statements"], json!(["GRANT SELECT ON orders TO app"]));
    assert_eq!(status["permissions"]["mode"], "declare");
    assert!(!*GRANTED.lock().unwrap(), "declare mode applied the plan");

    spec["permissions"] = json!({"mode": "enforce"});
    let seen = reconcile_with(tool(spec.clone(), None), cluster(Some("right-password"))).await;
    let status = status_patch(&seen).clone();
    let applied = condition(&status, "PermissionsApplied");
    assert_eq!(applied["status"], "True");
    assert_eq!(applied["reason"], "DriftCorrected", "nothing was granted before: {applied}");
    assert_eq!(status["permissions"]["current"], json!(["SELECT ON orders"]));
    let event =
        seen.iter().find(|s| s.method == "POST" && s.body["reason"] == "DriftCorrected").expect("a drift event");
    assert_eq!(event.body["type"], "Warning");

    // In sync: applied again without a drift, then nothing new to write.
    let seen = reconcile_with(tool(spec.clone(), Some(status.clone())), cluster(Some("right-password"))).await;
    let status = merged(&status, status_patch(&seen));
    assert_eq!(condition(&status, "PermissionsApplied")["reason"], "Applied");
    assert!(!seen.iter().any(|s| s.method == "POST" && s.body["reason"] == "DriftCorrected"));
    let seen = reconcile_with(tool(spec.clone(), Some(status.clone())), cluster(Some("right-password"))).await;
    assert!(seen.iter().all(|s| s.method == "GET"), "an unchanged status is not written: {seen:?}");
    // Taken away behind the operator's back: corrected, with an Event.
    *GRANTED.lock().unwrap() = false;
    let seen = reconcile_with(tool(spec, Some(status)), cluster(Some("right-password"))).await;
    assert!(seen.iter().any(|s| s.method == "POST" && s.body["reason"] == "DriftCorrected"), "{seen:?}");
}

#[test]
fn backoff_doubles_up_to_five_minutes() {
    use std::time::Duration;
    assert_eq!(crate::backoff(1), Duration::from_secs(1));
    assert_eq!(crate::backoff(4), Duration::from_secs(8));
    assert_eq!(crate::backoff(40), Duration::from_secs(300));
}
