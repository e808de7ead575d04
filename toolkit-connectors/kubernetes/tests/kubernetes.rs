//! Against kmock's Kubernetes API emulator (`TOOLKIT_TEST_KUBE_APISERVER`,
//! `TOOLKIT_TEST_KUBE_TOKEN`), started by `.ci/services/kubernetes.sh` with
//! `tests/kmock_server.py`: namespace `toolkit-demo` with pods `web-1` and `worker-1`,
//! configmaps `settings` and `features`, Secret `db-password`, an event of `web-1` and its log.
//! The server checks the bearer token; the canary is planted in a second Secret entry.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use toolkit_connector_kubernetes::KubernetesConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;
const DEMO: &str = "toolkit-demo";
/// The value of Secret `db-password` in the stand-in, base64 as the API serves it.
const SECRET_DATA: &str = "c2VjcmV0LXZhbHVlLWluLXRoZS1jbHVzdGVy";

struct Fixture {
    apiserver: String,
    token: String,
    canary: String,
}

fn fixture() -> Option<Fixture> {
    let apiserver = toolkit_testkit::service("TOOLKIT_TEST_KUBE_APISERVER")?;
    let token = toolkit_testkit::service("TOOLKIT_TEST_KUBE_TOKEN")?;
    Some(Fixture { apiserver, token, canary: toolkit_testkit::canary() })
}

fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(more)) = (base.as_object_mut(), extra) {
        for (k, v) in more {
            match (b.get_mut(&k), v) {
                (Some(Value::Object(inner)), Value::Object(m)) => inner.extend(m),
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "kubernetes",
            "config": {
                "apiserver": self.apiserver,
                "token": {"name": "kube-cred", "key": "token"},
                "namespace": DEMO,
                "connectTimeout": "2s"
            }
        });
        merge(&mut spec, extra);
        spec
    }

    fn secrets(&self, token: &str) -> Vec<(String, String, String)> {
        vec![
            ("kube-cred".into(), "token".into(), token.to_owned()),
            ("kube-cred".into(), "canary".into(), self.canary.clone()),
        ]
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        self.tool_with_token(extra, &self.token)
    }

    fn tool_with_token(&self, extra: Value, token: &str) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert!(KubernetesConnector.validate(&spec).is_empty(), "{:?}", KubernetesConnector.validate(&spec));
        let mut store = SecretStore::default();
        let data: BTreeMap<String, SecretString> =
            self.secrets(token).into_iter().map(|(_, k, v)| (k, SecretString::new(v))).collect();
        store.insert(NS, "kube-cred", data);
        let mut tool = Tool::new("cluster", spec);
        tool.metadata.namespace = Some(NS.into());
        KubernetesConnector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NS.into(),
                name: "cluster".into(),
                secrets: Arc::new(store),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
            })
            .unwrap()
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
        assert!(!text.contains(&self.token), "token leaked: {text}");
    }

    async fn call(&self, tool: &Arc<dyn ToolInstance>, args: Value) -> toolkit_core::Result<InvokeOutput> {
        self.call_limited(tool, args, CallLimits::default()).await
    }

    async fn call_limited(
        &self,
        tool: &Arc<dyn ToolInstance>,
        args: Value,
        limits: CallLimits,
    ) -> toolkit_core::Result<InvokeOutput> {
        let arguments: Map<String, Value> = args.as_object().cloned().unwrap();
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        match &result {
            Ok(out) => self.assert_clean(&format!("{out:?}")),
            Err(e) => self.assert_clean(&format!("{e} {e:?}")),
        }
        result
    }
}

fn names(out: &InvokeOutput) -> Vec<String> {
    out.content["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn probe_reports_version_and_access_review() {
    let Some(fx) = fixture() else { return };
    let report = fx.tool(json!({})).probe().unwrap().probe().await.unwrap();
    assert!(report.server_version.as_deref().unwrap().starts_with('v'), "{report:?}");
    assert_eq!(report.details["accessReview"], format!("list pods in {DEMO}: allowed (kmock allows everything)"));
    fx.assert_clean(&format!("{report:?}"));
}

#[tokio::test]
async fn get_list_and_describe_objects() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let out = fx.call(&tool, json!({"operation": "list", "resource": "pods"})).await.unwrap();
    assert_eq!(names(&out), ["web-1", "worker-1"]);
    assert_eq!(out.content["kind"], "PodList");
    assert!(!out.content.to_string().contains("managedFields"));
    assert!(!out.truncated);

    // `get` without a name lists; kinds and short names work; selectors reach the server.
    let out = fx.call(&tool, json!({"operation": "get", "resource": "cm", "labelSelector": "app=x"})).await.unwrap();
    assert_eq!(out.content["resource"], "configmaps");
    let out = fx.call(&tool, json!({"operation": "get", "resource": "ConfigMap", "name": "settings"})).await.unwrap();
    assert_eq!(out.content["data"]["mode"], "settings");
    let out = fx.call(&tool, json!({"operation": "list", "resource": "deployments", "namespace": DEMO})).await.unwrap();
    assert_eq!(out.content["itemCount"], 0);

    let out = fx.call(&tool, json!({"operation": "describe", "resource": "pods", "name": "web-1"})).await.unwrap();
    assert_eq!(out.content["object"]["metadata"]["name"], "web-1");
    assert_eq!(out.content["events"][0]["reason"], "Started");

    let err = fx.call(&tool, json!({"operation": "get", "resource": "pods", "name": "nope"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("404"), "{err}");
    let err = fx.call(&tool, json!({"operation": "get", "resource": "widgets"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a resource of this cluster") && err.to_string().contains("tools"), "{err}");

    // Custom resources are found through the API's discovery, by plural, kind or plural.group.
    let out = fx.call(&tool, json!({"operation": "list", "resource": "tools"})).await.unwrap();
    assert_eq!(names(&out), ["orders-db"]);
    assert_eq!(out.content["kind"], "ToolList");
    assert_eq!(out.content["apiVersion"], "toolkit.dev/v1alpha1");
    for resource in ["Tool", "tools.toolkit.dev"] {
        let out = fx.call(&tool, json!({"operation": "get", "resource": resource, "name": "orders-db"})).await.unwrap();
        assert_eq!(out.content["spec"]["type"], "postgres", "{resource}");
    }
    let read_only = fx.tool(json!({"readOnly": true}));
    let err =
        fx.call(&read_only, json!({"operation": "delete", "resource": "pods", "name": "web-1"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.to_string().contains("readOnly"), "{err}");
    let err = fx.call(&tool, json!({"operation": "drain", "resource": "nodes"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn logs_are_read_and_capped() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let out = fx.call(&tool, json!({"operation": "logs", "name": "web-1", "tailLines": 2})).await.unwrap();
    assert_eq!(out.content["log"], "web-1 log line 49\nweb-1 log line 50\n");
    assert!(!out.truncated);
    let limits = CallLimits { max_output_bytes: 40, ..CallLimits::default() };
    let out = fx.call_limited(&tool, json!({"operation": "logs", "name": "web-1"}), limits).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["log"].as_str().unwrap().len(), 40);
    let err = fx.call(&tool, json!({"operation": "logs"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn lists_are_capped_by_items_and_bytes() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let limits = CallLimits { max_rows: 1, ..CallLimits::default() };
    let out = fx.call_limited(&tool, json!({"operation": "list", "resource": "pods"}), limits).await.unwrap();
    assert_eq!((names(&out).len(), out.truncated), (1, true));
    assert_eq!(out.content["truncated"], true);
    let limits = CallLimits { max_output_bytes: 300, ..CallLimits::default() };
    let out = fx.call_limited(&tool, json!({"operation": "list", "resource": "pods"}), limits).await.unwrap();
    assert!(out.truncated && names(&out).len() < 2);
    let limits = CallLimits { max_output_bytes: 100, ..CallLimits::default() };
    let out =
        fx.call_limited(&tool, json!({"operation": "get", "resource": "pods", "name": "web-1"}), limits).await.unwrap();
    assert!(out.truncated && out.content.get("spec").is_none());
}

#[tokio::test]
async fn secret_values_are_never_returned() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    for args in [
        json!({"operation": "get", "resource": "secrets", "name": "db-password"}),
        json!({"operation": "list", "resource": "secret"}),
        json!({"operation": "describe", "resource": "secrets", "name": "db-password"}),
    ] {
        let out = fx.call(&tool, args.clone()).await.unwrap();
        let text = format!("{out:?}");
        assert!(!text.contains(SECRET_DATA), "{args}: {text}");
        assert!(text.contains("db-password") && text.contains("dataKeys"), "{text}");
        assert_eq!(out.metadata["secretDataWithheld"], true);
    }
}

#[tokio::test]
async fn failures_are_classified() {
    let Some(fx) = fixture() else { return };
    let wrong = fx.tool_with_token(json!({}), "not-the-token");
    let err = wrong.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-token"));
    let err = fx.call(&wrong, json!({"operation": "list", "resource": "pods"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"config": {"apiserver": format!("http://127.0.0.1:{port}")}}));
    let err = fx.call(&gone, json!({"operation": "list", "resource": "pods"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn sessions_write_a_private_kubeconfig_and_run_reads() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let text = format!("{env:?}");
    fx.assert_clean(&text);
    let path = std::path::PathBuf::from(env.iter().find(|e| e.name == "KUBECONFIG").unwrap().value.expose());
    fx.assert_clean(&path.display().to_string());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(config["users"][0]["user"]["token"], fx.token.as_str());
    assert_eq!(config["clusters"][0]["cluster"]["server"], fx.apiserver.as_str());
    assert_eq!(config["contexts"][0]["context"]["namespace"], DEMO);
    assert_eq!(session.client().unwrap(), ["kubectl"]);

    let limits = CallLimits::default();
    let out = session.exec(&["get pods web-1".into()], &limits).await.unwrap();
    assert_eq!(out.content["metadata"]["name"], "web-1");
    let argv: Vec<String> = ["kubectl", "logs", "web-1", "--tail", "1"].iter().map(|s| s.to_string()).collect();
    let out = session.exec(&argv, &limits).await.unwrap();
    assert_eq!(out.content["log"], "web-1 log line 50\n");
    session.close().await;
    assert!(!path.exists());
    assert!(session.exec(&["get pods".into()], &limits).await.is_err());
}

#[tokio::test]
async fn permissions_plan_is_kubernetes_yaml() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
    let Some(fx) = fixture() else { return };
    let rules = json!([
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"], "clusterScope": true}
    ]);
    let tool = fx.tool(json!({"permissions": {"role": "agent-reader", "rules": rules}}));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, format!("system:serviceaccount:{DEMO}:agent-reader"));
    assert_eq!(plan.statements.len(), 5);
    let role: Role = serde_yaml::from_str(&plan.statements[1]).unwrap();
    assert_eq!(role.metadata.namespace.as_deref(), Some(DEMO));
    assert_eq!(role.rules.unwrap()[0].verbs, ["get", "list", "watch"]);
    let binding: RoleBinding = serde_yaml::from_str(&plan.statements[2]).unwrap();
    assert_eq!(binding.role_ref.name, role.metadata.name.unwrap());
    assert_eq!(binding.subjects.unwrap()[0].name, "agent-reader");
    let cluster: ClusterRole = serde_yaml::from_str(&plan.statements[3]).unwrap();
    assert_eq!(cluster.rules.unwrap()[0].resources.as_deref(), Some(&["namespaces".to_owned()][..]));
    fx.assert_clean(&format!("{plan:?}"));
    // declare mode: a plan, never applied by the operator; `apply` itself refuses nothing.
    assert!(plan.current.is_empty(), "{:?}", plan.current);
}

/// A kubernetes tool on the API emulator of `.ci/kube-apiserver`, which stores RBAC objects
/// and takes server-side apply (it enforces none of it).
fn emulated_tool(cluster: &toolkit_testkit::kube::Cluster, rules: Value) -> Arc<dyn ToolInstance> {
    let spec: ToolSpec = serde_json::from_value(json!({
        "type": "kubernetes",
        "config": {"apiserver": cluster.url(), "namespace": "apps", "connectTimeout": "2s"},
        "permissions": {"mode": "enforce", "role": "agent-reader", "rules": rules}
    }))
    .unwrap();
    assert!(KubernetesConnector.validate(&spec).is_empty(), "{:?}", KubernetesConnector.validate(&spec));
    KubernetesConnector
        .build(BuildContext {
            tool: Arc::new(Tool::new("Prod K8s", spec)),
            namespace: NS.into(),
            name: "Prod K8s".into(),
            secrets: Arc::new(SecretStore::default()),
            config_maps: Arc::new(ConfigMaps::default()),
            tools: Arc::new(toolkit_core::connector::NoTools),
        })
        .unwrap()
}

#[tokio::test]
async fn permissions_apply_converges_to_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = toolkit_testkit::kube::Cluster::from_env(dir.path()) else { return };
    let pods = json!({"resources": ["pods", "pods/log"], "verbs": ["get", "list"]});
    let nodes = json!({"resources": ["nodes"], "verbs": ["get"], "clusterScope": true});
    let tool = emulated_tool(&cluster, json!([pods, nodes]));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert!(plan.current.is_empty(), "{:?}", plan.current);
    prov.apply(&plan).await.unwrap();
    let after = prov.plan().await.unwrap();
    assert_eq!(
        after.current,
        [
            "ServiceAccount apps/agent-reader",
            "Role apps/toolkit-prod-k8s: get,list on pods,pods/log",
            "RoleBinding apps/toolkit-prod-k8s: Role toolkit-prod-k8s to ServiceAccount apps/agent-reader",
            "ClusterRole toolkit-prod-k8s: get on nodes",
            "ClusterRoleBinding toolkit-prod-k8s: ClusterRole toolkit-prod-k8s to ServiceAccount apps/agent-reader",
        ]
    );
    let role = cluster.json(&["get", "role", "toolkit-prod-k8s", "-n", "apps"]);
    assert_eq!(role["metadata"]["labels"]["app.kubernetes.io/managed-by"], "toolkit");
    assert_eq!(role["rules"][0]["verbs"], json!(["get", "list"]));

    // Drift: someone widens the Role; planning shows it, applying takes it back.
    cluster.kubectl(&[
        "patch",
        "role",
        "toolkit-prod-k8s",
        "-n",
        "apps",
        "--type=merge",
        "-p",
        r#"{"rules":[{"apiGroups":[""],"resources":["pods","secrets"],"verbs":["*"]}]}"#,
    ]);
    let drifted = prov.plan().await.unwrap();
    assert!(drifted.current.contains(&"Role apps/toolkit-prod-k8s: * on pods,secrets".to_owned()), "{drifted:?}");
    prov.apply(&drifted).await.unwrap();
    assert_eq!(prov.plan().await.unwrap().current, after.current);

    // A plan from another spec is refused, and nothing is written.
    let narrower = emulated_tool(&cluster, json!([pods]));
    let narrow_plan = narrower.permissions().unwrap().plan().await.unwrap();
    assert_eq!(prov.apply(&narrow_plan).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(prov.plan().await.unwrap().current, after.current);

    // The cluster-wide rule goes: its ClusterRole and binding are deleted, the rest stays.
    narrower.permissions().unwrap().apply(&narrow_plan).await.unwrap();
    let now = narrower.permissions().unwrap().plan().await.unwrap().current;
    assert_eq!(now, after.current[..3]);
    let left = cluster.kubectl(&["get", "clusterroles,clusterrolebindings", "-o", "name"]);
    assert!(!left.contains("toolkit-prod-k8s"), "{left}");
}

fn set_apiserver(spec: &mut Value, host: &str, port: u16) {
    spec["config"]["apiserver"] = json!(format!("http://{host}:{port}"));
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &KubernetesConnector,
        spec: fx.spec(json!({})),
        secrets: fx.secrets(&fx.token),
        canary: fx.canary.clone(),
        password: Some(("kube-cred".into(), "token".into())),
        endpoint: Some(set_apiserver),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            let url = spec["config"]["apiserver"].as_str().unwrap().replace("http://", "https://");
            spec["config"]["apiserver"] = json!(url);
        }),
        call: Some(json!({"operation": "list", "resource": "pods"})),
    }
    .run()
    .await;
}

/// A server that answers `/version` and 404 to everything else, as one without the
/// SelfSubjectAccessReview API would.
async fn version_only_server() -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = if head.starts_with("GET /version ") {
                    ("200 OK", json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0"}))
                } else {
                    (
                        "404 Not Found",
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}),
                    )
                };
                let body = body.to_string();
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn probe_passes_without_the_access_review_api() {
    let Some(fx) = fixture() else { return };
    let (port, server) = version_only_server().await;
    let tool = fx.tool(json!({"config": {"apiserver": format!("http://127.0.0.1:{port}")}}));
    let report = tool.probe().unwrap().probe().await.unwrap();
    server.abort();
    assert_eq!(report.server_version.as_deref(), Some("v1.30.0"));
    assert!(report.details["accessReview"].starts_with("unavailable"), "{report:?}");
}

/// Creates `object` in the emulator directly (it does not create on server-side apply).
fn create(fx: &Fixture, collection: &str, object: &Value) {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-XPOST",
            "-H",
            &format!("Authorization: Bearer {}", fx.token),
            "-H",
            "Content-Type: application/json",
        ])
        .arg(format!("{}{collection}", fx.apiserver))
        .arg("-d")
        .arg(object.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "create {collection}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn writes_patch_apply_scale_restart_and_delete() {
    let Some(fx) = fixture() else { return };
    const NS_W: &str = "toolkit-writes";
    let tool = fx.tool(json!({"config": {"namespace": NS_W}}));
    let cm = toolkit_testkit::unique_name("cm");
    create(
        &fx,
        &format!("/api/v1/namespaces/{NS_W}/configmaps"),
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm, "namespace": NS_W}, "data": {"a": "1"}}),
    );

    let out = fx
        .call(&tool, json!({"operation": "patch", "resource": "cm", "name": cm, "patch": {"metadata": {"labels": {"tier": "web"}}}}))
        .await
        .unwrap();
    assert_eq!(out.content["metadata"]["labels"]["tier"], "web");
    assert_eq!(out.metadata["operation"], "patch");
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm}, "data": {"a": "2"}});
    let out = fx.call(&tool, json!({"operation": "apply", "object": applied})).await.unwrap();
    assert_eq!(out.content["data"]["a"], "2", "{:?}", out.content);

    // A delete removes it. (The emulator ignores `dryRun`; the unit tests check that it is sent.)
    fx.call(&tool, json!({"operation": "delete", "resource": "configmaps", "name": cm})).await.unwrap();
    let gone = fx.call(&tool, json!({"operation": "get", "resource": "configmaps", "name": cm})).await.unwrap_err();
    assert!(gone.to_string().contains("404"), "{gone}");

    let deploy = toolkit_testkit::unique_name("web");
    create(
        &fx,
        &format!("/apis/apps/v1/namespaces/{NS_W}/deployments"),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deploy, "namespace": NS_W},
                "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}}}}}),
    );
    let out = fx
        .call(&tool, json!({"operation": "scale", "resource": "deploy", "name": deploy, "replicas": 3}))
        .await
        .unwrap();
    assert_eq!(out.content["spec"]["replicas"], 3);
    let out = fx.call(&tool, json!({"operation": "restart", "resource": "deployments", "name": deploy})).await.unwrap();
    let restarted = &out.content["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"];
    assert!(restarted.as_str().is_some_and(|t| t.ends_with('Z')), "{:?}", out.content);
    let err = fx
        .call(&tool, json!({"operation": "scale", "resource": "configmaps", "name": "x", "replicas": 1}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // Classified for approvals and readOnly: writes write, a namespace delete is dangerous.
    let class = |args: Value| {
        let args = args.as_object().cloned().unwrap();
        tool.classify(toolkit_core::Request::Call(&args)).unwrap().class
    };
    assert_eq!(class(json!({"operation": "list", "resource": "pods"})), toolkit_core::Class::Read);
    assert_eq!(
        class(json!({"operation": "scale", "resource": "deploy", "name": "w", "replicas": 2})),
        toolkit_core::Class::Write
    );
    assert_eq!(class(json!({"operation": "delete", "resource": "ns", "name": "prod"})), toolkit_core::Class::Dangerous);
    assert_eq!(
        class(json!({"operation": "delete", "resource": "ns", "name": "prod", "dryRun": true})),
        toolkit_core::Class::Read
    );
}
