//! `toolkit-operator run` end to end: two replicas against the Kubernetes API emulator of
//! `.ci/kube-apiserver`, driven with real kubectl, with Tools pointing at the local PostgreSQL
//! (a role with a password) and Redis.
//!
//! Needs `TOOLKIT_TEST_KUBE_EMULATOR`, `TOOLKIT_TEST_KUBECTL`, `TOOLKIT_TEST_PG_HOST` and
//! `TOOLKIT_TEST_REDIS_HOST` (set by `.ci/services.sh`); without them the test is skipped with
//! the reason (under `CI=true` it fails).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use toolkit_testkit::kube::{Cluster, Running, condition, eventually, skip};
use toolkit_testkit::pg::PasswordRole;

/// Starts `toolkit-operator run` as `identity` against `cluster`, recording in `state`; returns it with its metrics
/// port and log file.
fn operator(cluster: &Cluster, identity: &str, state: &str) -> (Running, u16, PathBuf) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = cluster.dir().join(format!("{identity}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_toolkit-operator"))
        .args(["run", "--identity", identity, "--lease-duration", "3s", "--reap-interval", "1s"])
        .args(["--metrics-addr", &format!("127.0.0.1:{port}"), "--state", state])
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("TOOLKIT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start toolkit-operator");
    (Running(child), port, log)
}

fn phase(tool: &Value) -> String {
    tool["status"]["phase"].as_str().unwrap_or_default().to_owned()
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn secret_yaml(password: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: pg-creds}}\nstringData: {{password: \"{password}\"}}\n")
}

#[test]
fn operator_reconciles_tools_against_an_api_server() {
    let Some(pg_host) = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST") else { return };
    let Some(redis_host) = toolkit_testkit::service("TOOLKIT_TEST_REDIS_HOST") else { return };
    let pg_port = std::env::var("TOOLKIT_TEST_PG_PORT").unwrap_or_else(|_| "5432".into());
    let redis_port = std::env::var("TOOLKIT_TEST_REDIS_PORT").unwrap_or_else(|_| "6379".into());

    let dir = tempfile::tempdir().unwrap();
    let Some(mut cluster) = Cluster::from_env(dir.path()) else { return };
    let (right, wrong) = (toolkit_testkit::canary(), toolkit_testkit::canary());
    let pg_role = match PasswordRole::create("operator_e2e", &right) {
        Ok(r) => r,
        Err(why) => return skip(&why),
    };
    let role = &pg_role.name;

    cluster.apply_crds();
    cluster.apply(&secret_yaml(&right));
    let tool = |name: &str, spec: &str| {
        format!("apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}}}\nspec:\n{spec}\n---\n")
    };
    // Probed every hour: a re-probe within the test comes from the Secret's rotation.
    let pg = format!(
        "  type: postgres\n  probe: {{interval: 1h, timeout: 5s}}\n  config: {{hostname: \"{pg_host}\", port: {pg_port}, \
         username: {role}, databaseName: postgres, sslMode: disable, credentialsRef: {{name: pg-creds, key: password}}}}"
    );
    let redis = format!("  type: redis\n  config: {{hostname: \"{redis_host}\", port: {redis_port}}}");
    let broken = "  type: postgres\n  timeout: banana\n  config: {hostname: 127.0.0.1}";
    cluster.apply(&(tool("pg", &pg) + &tool("cache", &redis) + &tool("broken", broken)));

    // Both replicas record probes and applies in one PostgreSQL state.
    let state = match toolkit_testkit::pg::Database::create("operator_state") {
        Ok(db) => db,
        Err(why) => return skip(&why),
    };
    let (op_a, metrics_a, log_a) = operator(&cluster, "replica-a", &state.url());
    let pg_ready = eventually("pg Ready", || Some(cluster.tool("pg")).filter(|t| phase(t) == "Ready"));
    assert_eq!(condition(&pg_ready, "Validated")["status"], "True");
    assert_eq!(condition(&pg_ready, "CredentialsResolved")["status"], "True");
    assert_eq!(condition(&pg_ready, "Ready")["reason"], "ProbeSucceeded");
    assert_eq!(pg_ready["status"]["observedGeneration"], 1);
    assert!(pg_ready["status"]["lastProbe"]["serverVersion"].as_str().unwrap().starts_with("PostgreSQL"));
    eventually("cache Ready", || Some(cluster.tool("cache")).filter(|t| phase(t) == "Ready"));
    let broken = eventually("broken Failed", || Some(cluster.tool("broken")).filter(|t| phase(t) == "Failed"));
    let validated = condition(&broken, "Validated");
    assert_eq!(validated["status"], "False");
    assert!(validated["message"].as_str().unwrap().starts_with("spec.timeout: invalid duration `banana`"));

    // kubectl prints the printer columns.
    let table = cluster.kubectl(&["get", "tools"]);
    let header: Vec<&str> =
        table.lines().next().unwrap().split("  ").filter(|s| !s.is_empty()).map(str::trim).collect();
    assert_eq!(header, ["NAME", "TYPE", "PHASE", "READY", "LAST PROBE", "AGE"], "{table}");
    let pg_row: Vec<&str> = table.lines().find(|l| l.starts_with("pg ")).unwrap().split_whitespace().collect();
    assert_eq!(&pg_row[..4], ["pg", "postgres", "Ready", "True"], "{table}");
    assert!(cluster.kubectl(&["get", "tl", "broken"]).contains("Failed"));

    // A wrong password after a rotation: Ready=False for authentication, then back.
    cluster.apply(&secret_yaml(&wrong));
    let failed =
        eventually("pg failing on the rotated password", || Some(cluster.tool("pg")).filter(|t| phase(t) == "Failed"));
    let ready = condition(&failed, "Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "AuthenticationFailed", "{ready}");
    assert_eq!(failed["status"]["lastProbe"]["errorKind"], "auth");
    cluster.apply(&secret_yaml(&right));
    eventually("pg Ready again", || Some(cluster.tool("pg")).filter(|t| phase(t) == "Ready"));

    // Events on transitions: Ready, the authentication failure, Ready again; one invalid tool.
    let events = cluster.json(&["get", "events.events.k8s.io"]);
    let reasons_of = |name: &str| -> Vec<String> {
        let mut items: Vec<&Value> =
            events["items"].as_array().unwrap().iter().filter(|e| e["regarding"]["name"] == name).collect();
        items.sort_by_key(|e| e["eventTime"].as_str().unwrap_or_default().to_owned());
        items.iter().map(|e| e["reason"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(reasons_of("pg"), ["Ready", "AuthenticationFailed", "Ready"]);
    assert_eq!(reasons_of("broken"), ["FieldInvalid"]);

    // A ToolRegistry discovers labelled Services (toolkit's label and Omnia's) on a named port,
    // and follows a Service that appears and goes.
    let service = |name: &str, label: &str, port: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  labels: {{\"{label}\": \"true\", team: platform}}\n\
             \x20 annotations: {{toolkit.dev/tool-path: /run}}\nspec:\n  ports: [{{name: {port}, port: 8080}}]\n---\n"
        )
    };
    cluster.apply(
        &(service("weather", "toolkit.dev/tool", "http")
            + &service("orders", "omnia.altairalabs.ai/tool", "http")
            + "apiVersion: toolkit.dev/v1alpha1\nkind: ToolRegistry\nmetadata: {name: shelf}\n\
               spec: {discovery: {matchLabels: {team: platform}, port: http}}\n"),
    );
    let registry = |cluster: &Cluster, phase: &str, found: u64| {
        let phase = phase.to_owned();
        eventually(&format!("shelf {phase} with {found} tools"), || {
            Some(cluster.json(&["get", "toolregistry", "shelf"]))
                .filter(|r| r["status"]["phase"] == phase.as_str() && r["status"]["discoveredTools"] == found)
        })
    };
    let shelf = registry(&cluster, "Ready", 2);
    assert_eq!(shelf["status"]["availableTools"], 2);
    assert_eq!(condition(&shelf, "ToolsDiscovered")["status"], "True");
    assert_eq!(condition(&shelf, "AllToolsReady")["status"], "True");
    let endpoints: Vec<&str> =
        shelf["status"]["tools"].as_array().unwrap().iter().filter_map(|t| t["endpoint"].as_str()).collect();
    assert_eq!(endpoints, ["http://orders.default.svc:8080/run", "http://weather.default.svc:8080/run"]);
    let table = cluster.kubectl(&["get", "tr"]);
    let row: Vec<&str> = table.lines().find(|l| l.starts_with("shelf ")).unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["shelf", "Ready", "2", "2"], "{table}");
    cluster.apply(&service("slow", "toolkit.dev/tool", "grpc"));
    let shelf = registry(&cluster, "Degraded", 3);
    assert_eq!(shelf["status"]["availableTools"], 2);
    assert_eq!(condition(&shelf, "AllToolsReady")["status"], "False");
    cluster.kubectl(&["delete", "service", "slow"]);
    registry(&cluster, "Ready", 2);

    // ApprovalPolicies are validated as local mode validates them.
    cluster.apply(
        "apiVersion: toolkit.dev/v1alpha1\nkind: ApprovalPolicy\nmetadata: {name: strict}\nspec: {blockDangerous: true}\n---\n\
         apiVersion: toolkit.dev/v1alpha1\nkind: ApprovalPolicy\nmetadata: {name: wrong}\nspec: {blockedPatterns: [\"\"]}\n",
    );
    let validated = |name: &str, status: &str| {
        let status = status.to_owned();
        eventually(&format!("policy {name} Validated={status}"), || {
            let policy = cluster.json(&["get", "approvalpolicy", name]);
            Some(condition(&policy, "Validated")).filter(|c| c["status"] == status.as_str())
        })
    };
    validated("strict", "True");
    let refused = validated("wrong", "False");
    assert!(refused["message"].as_str().unwrap().starts_with("spec.blockedPatterns[0]"), "{refused}");

    // A second replica stands by while the first holds the lease.
    let (mut op_b, metrics_b, log_b) = operator(&cluster, "replica-b", &state.url());
    eventually("replica-b standing by", || std::fs::read_to_string(&log_b).ok().filter(|l| l.contains("standing by")));
    let lease = cluster.json(&["get", "lease", "toolkit-operator"]);
    assert_eq!(lease["spec"]["holderIdentity"], "replica-a");
    let metrics = http_get(metrics_a, "/metrics");
    assert!(metrics.contains("toolkit_operator_leader 1"), "{metrics}");
    assert!(metrics.contains("toolkit_operator_tools{phase=\"Ready\"} 2"), "{metrics}");
    assert!(metrics.contains("toolkit_operator_tools{phase=\"Failed\"} 1"), "{metrics}");
    assert!(metrics.contains("toolkit_operator_reconciles_total{result=\"ok\"}"), "{metrics}");
    assert!(http_get(metrics_b, "/metrics").contains("toolkit_operator_leader 0"));
    assert!(http_get(metrics_b, "/healthz").starts_with("HTTP/1.0 200"));
    assert!(http_get(metrics_b, "/readyz").starts_with("HTTP/1.0 200"));
    // Everything so far was written by the leader alone.
    let reporters: Vec<String> = cluster.json(&["get", "events.events.k8s.io"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reportingInstance"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(reporters.iter().all(|r| r == "replica-a"), "{reporters:?}");

    // What a tool names in the cluster: an ark MCPServer that does not exist is a condition
    // naming it; one that exists, and an agent's Service, give the tool its URL.
    let ark_crd = toolkit_testkit::fixture("ark-mcpserver-crd.yaml");
    cluster.kubectl(&["apply", "--validate=false", "-f", ark_crd.to_str().unwrap()]);
    cluster.apply(&tool("relay-lost", "  type: mcp\n  mcp: {serverRef: {name: nowhere}, toolName: echo}"));
    let lost = eventually("relay-lost Failed", || Some(cluster.tool("relay-lost")).filter(|t| phase(t) == "Failed"));
    let refs = condition(&lost, "ReferencesResolved");
    assert_eq!(refs["status"], "False", "{lost}");
    assert_eq!(refs["reason"], "McpServerNotFound");
    assert!(refs["message"].as_str().unwrap().contains("MCPServer default/nowhere"), "{refs}");
    cluster.apply(
        "apiVersion: ark.mckinsey.com/v1alpha1\nkind: MCPServer\nmetadata: {name: upstream}\n\
         spec: {address: {value: \"http://127.0.0.1:9/mcp\"}, transport: http}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: helper}\nspec: {ports: [{name: mcp, port: 8000}]}\n",
    );
    cluster.apply(
        &(tool("relay", "  type: mcp\n  mcp: {serverRef: {name: upstream}, toolName: echo}")
            + &tool("ask", "  type: agent\n  agent: {name: helper}")),
    );
    for (name, url) in [("relay", "http://127.0.0.1:9/mcp"), ("ask", "http://helper.default.svc:8000/mcp")] {
        let resolved = eventually(&format!("{name} references resolved"), || {
            Some(condition(&cluster.tool(name), "ReferencesResolved")).filter(|c| c["status"] == "True")
        });
        assert!(resolved["message"].as_str().unwrap().contains(url), "{resolved}");
    }
    for name in ["relay-lost", "relay", "ask"] {
        cluster.kubectl(&["delete", "tool", name]);
    }

    // A session whose holder stopped renewing its Lease is reaped with its pod; a live one stays.
    let session = |name: &str, renewed: &str| {
        format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: {name}, labels: {{toolkit.dev/session: {name}, toolkit.dev/tool: pg, toolkit.dev/tool-namespace: default}}}}\n\
             spec: {{holderIdentity: ana, leaseDurationSeconds: 60, acquireTime: \"{renewed}\", renewTime: \"{renewed}\"}}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{toolkit.dev/session: {name}, toolkit.dev/tool: pg, toolkit.dev/tool-namespace: default}}}}\n\
             spec: {{containers: [{{name: session, image: busybox}}]}}\n---\n"
        )
    };
    let now = chrono::Utc::now();
    let stale = (now - chrono::Duration::minutes(5)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let fresh = now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    cluster.apply(&(session("toolkit-session-stale", &stale) + &session("toolkit-session-fresh", &fresh)));
    eventually("the idle session reaped", || {
        let left = cluster.json(&["get", "pods,leases", "-l", "toolkit.dev/session"]);
        let names: Vec<String> = left["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.iter().all(|n| n == "toolkit-session-fresh").then_some(names).filter(|n| n.len() == 2)
    });
    // The tool counts its open session, and says its sessions can run in pods.
    let pg_tool = eventually("pg with one active session", || {
        Some(cluster.tool("pg")).filter(|t| t["status"]["activeSessions"] == 1)
    });
    let bastion = condition(&pg_tool, "BastionReady");
    assert_eq!(bastion["status"], "True", "{bastion}");
    assert!(bastion["message"].as_str().unwrap().contains("postgres:17-alpine"), "{bastion}");
    assert_eq!(phase(&pg_tool), "Ready", "BastionReady does not decide the phase");
    cluster.kubectl(&["delete", "lease", "toolkit-session-fresh"]);
    eventually("pg with no active session", || {
        Some(cluster.tool("pg")).filter(|t| t["status"].get("activeSessions").is_none_or(|n| n == 0))
    });
    cluster.kubectl(&["delete", "pod", "toolkit-session-fresh"]);

    // Declared permissions are planned against the real server and recorded in the status.
    let planned =
        pg.clone() + "\n  permissions: {mode: declare, rules: [{schema: public, tables: ['*'], privileges: [SELECT]}]}";
    cluster.apply(&tool("pg-plan", &planned));
    let with_plan = eventually("pg-plan's permissions declared", || {
        Some(cluster.tool("pg-plan")).filter(|t| condition(t, "PermissionsDeclared")["status"] == "True")
    });
    let statements = with_plan["status"]["permissions"]["statements"].to_string();
    assert!(statements.contains("GRANT SELECT") && statements.contains(role.as_str()), "{with_plan}");
    assert_eq!(with_plan["status"]["permissions"]["mode"], "declare");
    cluster.kubectl(&["delete", "tool", "pg-plan"]);

    // A kubernetes tool in enforce mode: its RBAC plan applied to the API server it names,
    // bound to the ServiceAccount its bastion pods run as.
    let rbac = format!(
        "  type: kubernetes\n  config: {{apiserver: \"{}\", namespace: apps}}\n  permissions: {{mode: enforce, role: agent-reader, \
         rules: [{{resources: [pods, pods/log], verbs: [get, list]}}]}}",
        cluster.url()
    );
    cluster.apply(&tool("k8s-rbac", &rbac));
    let applied = eventually("k8s-rbac's permissions applied", || {
        Some(cluster.tool("k8s-rbac")).filter(|t| condition(t, "PermissionsApplied")["status"] == "True")
    });
    assert_eq!(applied["status"]["permissions"]["principal"], "system:serviceaccount:apps:agent-reader");
    let k8s_role = cluster.json(&["get", "role", "toolkit-k8s-rbac", "-n", "apps"]);
    assert_eq!(k8s_role["rules"][0]["resources"], serde_json::json!(["pods", "pods/log"]));
    let binding = cluster.json(&["get", "rolebinding", "toolkit-k8s-rbac", "-n", "apps"]);
    assert_eq!(binding["subjects"][0]["name"], "agent-reader");
    cluster.json(&["get", "serviceaccount", "agent-reader", "-n", "apps"]);
    cluster.kubectl(&["delete", "tool", "k8s-rbac"]);

    // The leader dies without releasing the lease: the other takes over and reconciles.
    drop(op_a);
    eventually("replica-b leading", || {
        Some(cluster.json(&["get", "lease", "toolkit-operator"])).filter(|l| l["spec"]["holderIdentity"] == "replica-b")
    });
    cluster.apply(&tool("cache2", &redis));
    eventually("cache2 Ready", || Some(cluster.tool("cache2")).filter(|t| phase(t) == "Ready"));
    let events = cluster.json(&["get", "events.events.k8s.io"]);
    let cache2 = events["items"].as_array().unwrap().iter().find(|e| e["regarding"]["name"] == "cache2").unwrap();
    assert_eq!(cache2["reportingInstance"], "replica-b");
    assert!(http_get(metrics_b, "/metrics").contains("toolkit_operator_leader 1"));

    // The API server goes away for longer than the lease lasts and returns empty: the operator
    // keeps running, takes the lease again and reconciles what is applied anew.
    cluster.restart(Duration::from_secs(8));
    cluster.apply_crds();
    cluster.apply(&secret_yaml(&right));
    cluster.apply(&(tool("pg", &pg) + &tool("cache", &redis)));
    cluster.apply(
        &(service("weather", "toolkit.dev/tool", "http")
            + "apiVersion: toolkit.dev/v1alpha1\nkind: ToolRegistry\nmetadata: {name: shelf}\n\
           spec: {discovery: {matchLabels: {team: platform}, port: http}}\n"),
    );
    eventually("pg Ready after the restart", || Some(cluster.tool("pg")).filter(|t| phase(t) == "Ready"));
    eventually("cache Ready after the restart", || Some(cluster.tool("cache")).filter(|t| phase(t) == "Ready"));
    registry(&cluster, "Ready", 1);
    assert!(op_b.0.try_wait().unwrap().is_none(), "the operator exited");
    let logs_b = std::fs::read_to_string(&log_b).unwrap();
    assert!(logs_b.contains("stopped reconciling"), "{logs_b}");
    drop(op_b);

    // One audit trail of both replicas: their probes, and the RBAC plan applied.
    let audit = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = toolkit_state::StateStore::open_location(&state.url()).await.unwrap();
        store.audit(&toolkit_state::AuditFilter::default()).await.unwrap()
    });
    let by = |caller: &str, operation: &str| {
        audit
            .iter()
            .filter(|r| r.caller == caller && r.operation == operation)
            .map(|r| r.tool.to_string())
            .collect::<Vec<_>>()
    };
    assert!(by("operator:replica-a", "probe").contains(&"default/pg".to_owned()), "{audit:?}");
    assert!(by("operator:replica-b", "probe").contains(&"default/cache2".to_owned()), "{audit:?}");
    assert_eq!(by("operator:replica-a", "permissions").first().map(String::as_str), Some("default/k8s-rbac"));
    let audit_text = serde_json::to_string(&audit).unwrap();

    // No password anywhere: status, Events, logs, audit.
    let everything = cluster.kubectl(&["get", "tools,events.events.k8s.io,leases", "-o", "json"]);
    let logs = std::fs::read_to_string(&log_a).unwrap() + &std::fs::read_to_string(&log_b).unwrap();
    for canary in [&right, &wrong] {
        assert!(!everything.contains(canary.as_str()), "a password is in the API objects");
        assert!(!logs.contains(canary.as_str()), "a password is in the operator's logs");
        assert!(!audit_text.contains(canary.as_str()), "a password is in the audit");
    }
    // Secrets were watched by metadata only; only the named one was read whole.
    let requests = std::fs::read_to_string(dir.path().join("requests.jsonl")).unwrap();
    for line in requests.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let path = r["path"].as_str().unwrap();
        if r["method"] == "GET" && path.ends_with("/secrets") {
            assert!(r["as"].as_str().is_some_and(|a| a.starts_with("PartialObjectMetadata")), "{line}");
        }
        if r["method"] == "GET" && path.contains("/secrets/") {
            assert!(path.ends_with("/secrets/pg-creds"), "{line}");
        }
    }
}

/// What `toolkit-operator manifests` prints is accepted by `kubectl apply`, in both modes.
#[test]
fn manifests_apply_with_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = Cluster::from_env(dir.path()) else { return };
    let manifests = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("manifests").args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // As the README installs: server-side, the CRDs being too large for client-side apply's
    // annotation.
    let file = dir.path().join("install.yaml");
    std::fs::write(&file, manifests(&[])).unwrap();
    cluster.kubectl(&["apply", "--server-side", "--validate=false", "-f", file.to_str().unwrap()]);
    let names = |what: &str, ns: &str| cluster.kubectl(&["get", what, "-n", ns, "-o", "name"]);
    assert!(names("deployments", "toolkit-system").contains("deployment.apps/toolkit-operator"));
    assert!(names("deployments", "toolkit-system").contains("deployment.apps/toolkit-gateway"));
    assert!(names("services", "toolkit-system").contains("service/toolkit-gateway"));
    assert!(names("clusterroles", "default").contains("toolkit-operator"));
    assert!(names("roles", "toolkit-system").contains("toolkit-operator-leader-election"));
    assert!(names("crds", "default").contains("tools.toolkit.dev"));

    cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n");
    cluster.apply(&manifests(&["--namespace", "team"]));
    assert!(names("roles", "team").contains("role.rbac.authorization.k8s.io/toolkit-operator\n"));
    assert!(names("rolebindings", "team").contains("toolkit-operator"));
    let deployment = cluster.json(&["get", "deployment", "toolkit-operator", "-n", "team"]);
    assert_eq!(deployment["spec"]["replicas"], 2);
}
