//! `toolkit-gateway --kubernetes` end to end: Tools applied with real kubectl to the API
//! emulator of `.ci/kube-apiserver`, listed and called with the official MCP Python SDK
//! (`tests/e2e/kube_client.py`), followed as they change, and their call counts reported to
//! their status. The PostgreSQL tool's password is a canary, read from a Secret in the cluster.
//!
//! Needs the emulator, kubectl and PostgreSQL of `.ci/services.sh` and the Python SDK; without
//! them the test is skipped with the reason (under `CI=true` it fails).

mod common;

use std::path::Path;
use std::process::Command;

use common::process::{BIN, Running};
use serde_json::Value;
use toolkit_testkit::kube::{Cluster, eventually, secret_manifest, skip, tool_manifest as tool};
use toolkit_testkit::pg::{PasswordRole, postgres_spec};

#[test]
fn gateway_serves_and_follows_the_tools_of_a_cluster() {
    if toolkit_testkit::service("TOOLKIT_TEST_PG_HOST").is_none() {
        return;
    }
    if !common::python_sdk() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = Cluster::from_env(dir.path()) else { return };
    let canary = toolkit_testkit::canary();
    let role = match PasswordRole::create("gateway_kube", &canary) {
        Ok(r) => r,
        Err(why) => return skip(&why),
    };

    cluster.apply_crds();
    let ark_crd = toolkit_testkit::fixture("ark-mcpserver-crd.yaml");
    cluster.kubectl(&["apply", "--validate=false", "-f", ark_crd.to_str().unwrap()]);
    cluster.apply(&secret_manifest("pg-creds", "password", &canary));
    let echo = std::fs::read_to_string(common::examples().join("tools/builtin.yaml")).unwrap();
    let echo = echo.split("\n---\n").next().unwrap().to_owned() + "\n---\n";
    let pg = postgres_spec(&role.name, "");
    cluster.apply(&(echo + &tool("pg", &pg) + &tool("broken", "  type: postgres\n  timeout: banana")));

    let state = dir.path().join("state");
    let mut command = Command::new(BIN);
    command.args(["--kubernetes", "--status-interval", "1s", "--state"]).arg(&state);
    command.env("KUBECONFIG", cluster.kubeconfig());
    let mut gateway = Running::spawn(command, &[], "info,rmcp=warn,kube=warn");

    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/kube_client.py"))
        .args(["--http", &gateway.url(), "--kubectl", cluster.kubectl_bin()])
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .arg("--dir")
        .arg(dir.path())
        .args(["--pg-role", &role.name, "--canary", &canary])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed ({}):\nstdout:\n{}\nstderr:\n{}\ngateway log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        gateway.log(),
    );

    // Calls are added to each Tool's status, in batches.
    let counts = |name: &str| {
        let t = cluster.tool(name);
        (t["status"]["invocationCount"].as_u64().unwrap_or(0), t["status"]["errorCount"].as_u64().unwrap_or(0))
    };
    // echo: hi, the canary, and once through relay; pg: one query and one refused write.
    eventually("echo's calls in its status", || Some(counts("echo")).filter(|c| c.0 >= 3));
    let pg_counts = eventually("pg's calls in its status", || Some(counts("pg")).filter(|c| c.0 >= 2));
    assert!(pg_counts.1 >= 1, "the refused write is not counted as an error: {pg_counts:?}");
    let log = gateway.log();
    assert!(log.contains("broken"), "the invalid tool is not reported: {log}");

    // Shutdown reports what is left; nothing leaked the password.
    gateway.terminate();
    let log = gateway.log();
    assert!(!log.contains(&canary), "the canary reached the gateway log");
    toolkit_testkit::assert_not_in_dir(&state, &canary);
    let objects: Value = cluster.json(&["get", "tools,events.events.k8s.io"]);
    assert!(!objects.to_string().contains(&canary), "the canary reached the API objects");
}

/// A gateway started before the CRDs are installed serves nothing (not ready) and waits, and
/// serves the tools once they are applied.
#[test]
fn gateway_waits_for_a_cluster_without_its_crds() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = Cluster::from_env(dir.path()) else { return };
    let cluster = std::sync::Arc::new(cluster);
    let installer = {
        let cluster = cluster.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(3));
            cluster.apply_crds();
            cluster.apply(&tool(
                "late",
                "  type: builtin\n  description: Applied after the gateway started.\n  builtin: {name: noop}",
            ));
        })
    };
    let mut command = Command::new(BIN);
    command.args(["--kubernetes", "--state"]).arg(dir.path().join("state"));
    command.env("KUBECONFIG", cluster.kubeconfig());
    // Returns once a catalog is loaded: after the CRDs and the Tool were applied.
    let gateway = Running::spawn(command, &["--stateless"], "info,rmcp=warn,kube=warn");
    installer.join().unwrap();
    let log = gateway.log();
    assert!(log.contains("cannot read the cluster's tools yet"), "{log}");
    let ready = common::process::request(gateway.addr, "GET", "/readyz", &[], "");
    assert_eq!(ready.status, 200);
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let body = r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}"#;
    let listed = common::process::request(gateway.addr, "POST", "/mcp", &headers, body).json();
    assert_eq!(listed["result"]["tools"][0]["name"], "late", "{listed}");
}

/// With `--kubernetes`, a `tokenRef` of the tokens file reads its Secret from the cluster.
#[test]
fn token_refs_read_their_secret_from_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = Cluster::from_env(dir.path()) else { return };
    cluster.apply_crds();
    let token = toolkit_testkit::canary();
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: gateway-tokens}}\nstringData: {{ops: \"{token}\"}}\n"
    ));
    cluster.apply(&tool("echo", "  type: builtin\n  builtin: {name: noop}"));
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(&tokens, "tokens:\n- name: ops\n  tokenRef: {name: gateway-tokens, key: ops}\n").unwrap();
    let mut command = Command::new(BIN);
    command.args(["--kubernetes", "--state"]).arg(dir.path().join("state")).arg("--tokens").arg(&tokens);
    command.env("KUBECONFIG", cluster.kubeconfig()).env_remove("POD_NAMESPACE");
    let gateway = Running::spawn(command, &["--stateless"], "info,rmcp=warn,kube=warn");
    let list = |bearer: Option<&str>| {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let body = r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}"#;
        common::process::request(gateway.addr, "POST", "/mcp", &headers, body)
    };
    assert_eq!(list(None).status, 401);
    let answered = list(Some(&token));
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(answered.json()["result"]["tools"][0]["name"], "echo");
    assert!(!gateway.log().contains(&token), "the token reached the log");
}
