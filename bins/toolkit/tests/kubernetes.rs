//! `toolkit --kubernetes`: the CLI reads Tools (and the Secrets they name) from the API
//! emulator of `.ci/kube-apiserver` instead of a folder. A PostgreSQL tool's password is a
//! canary kept in a Secret of the cluster; no output may show it.
//!
//! Needs the emulator, kubectl and PostgreSQL of `.ci/services.sh`; without them the test is
//! skipped with the reason (under `CI=true` it fails).

use std::process::{Command, Output};

use serde_json::Value;
use toolkit_testkit::kube::{Cluster, secret_manifest, skip, tool_manifest as tool};
use toolkit_testkit::pg::{PasswordRole, postgres_spec};

/// An emulated cluster with the CRDs and the Secret `pg-creds` holding the password (a canary)
/// of a PostgreSQL role that logs in with it; `None` after saying why the test is skipped.
fn cluster_with_a_password(prefix: &str) -> Option<(tempfile::TempDir, Cluster, String, PasswordRole)> {
    toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::from_env(dir.path())?;
    let canary = toolkit_testkit::canary();
    let role = match PasswordRole::create(prefix, &canary) {
        Ok(r) => r,
        Err(why) => {
            skip(&why);
            return None;
        }
    };
    cluster.apply_crds();
    cluster.apply(&secret_manifest("pg-creds", "password", &canary));
    Some((dir, cluster, canary, role))
}

#[test]
fn cli_reads_the_tools_of_a_cluster() {
    let Some((dir, cluster, canary, role)) = cluster_with_a_password("cli_kube") else { return };
    cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}\n");
    let pg = postgres_spec(&role.name, "");
    let lost = "  type: postgres\n  config: {hostname: 127.0.0.1, username: x, databaseName: postgres, credentialsRef: {name: pg-creds, key: pasword}}";
    cluster.apply(
        &(tool("pg", &pg)
            + &tool("broken", "  type: postgres\n  timeout: banana\n  config: {hostname: 127.0.0.1}")
            + &tool("lost", lost)),
    );

    let state = dir.path().join("state");
    let toolkit = |args: &[&str]| -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_toolkit"))
            .arg("--kubernetes")
            .arg("--state")
            .arg(&state)
            .args(args)
            .env("KUBECONFIG", cluster.kubeconfig())
            .env_remove("TOOLKIT_TOOLS")
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(&canary), "the canary is in the output of {args:?}: {all}");
        out
    };
    let text = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();

    // Validation of the cluster's objects names the object and the field.
    let out = toolkit(&["validate"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains("cluster:tools/default/broken") && errors.contains("spec.timeout"), "{errors}");
    assert!(text(&out).contains("3 tools in the cluster: 2 valid, 1 invalid"), "{}", text(&out));

    let out = toolkit(&["tool", "list", "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let served: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tool"]["name"].as_str().unwrap(), t["served"].as_bool().unwrap()))
        .collect();
    assert_eq!(served, [("broken", false), ("lost", true), ("pg", true)]);
    let source = listed[0]["source"].as_str().unwrap();
    assert_eq!(source, "cluster:tools/default/broken");

    let out = toolkit(&["tool", "call", "pg", "--args", r#"{"query": "select current_user as who"}"#, "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).contains(&role.name), "{}", text(&out));

    // A key the Secret does not have fails the call, naming the Secret and the key.
    let out = toolkit(&["tool", "call", "lost", "--args", r#"{"query": "select 1"}"#]);
    assert!(!out.status.success());
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains("secret default/pg-creds has no key `pasword`"), "{errors}");

    let out = toolkit(&["--namespace", "empty", "tool", "list"]);
    assert!(text(&out).contains("no tools declared in namespace empty of the cluster"), "{}", text(&out));
}

#[test]
fn bastion_pods_hold_sessions_without_the_cli_reading_the_secret() {
    let Some((dir, cluster, canary, role)) = cluster_with_a_password("cli_pods") else { return };
    let pg = postgres_spec(&role.name, "  idleTimeout: 10m\n");
    cluster.apply(&(tool("pg", &pg) + &tool("echo", "  type: builtin\n  builtin: {name: noop}")));
    // What the test itself asked of the API server so far (kubectl apply reads the Secret).
    let before = std::fs::read_to_string(cluster.dir().join("requests.jsonl")).unwrap().lines().count();
    let state = dir.path().join("state");
    let command = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_toolkit"));
        c.arg("--kubernetes").arg("--state").arg(&state).args(args);
        c.env("KUBECONFIG", cluster.kubeconfig()).env_remove("TOOLKIT_TOOLS");
        c
    };
    let toolkit = |args: &[&str]| -> Output {
        let out = command(args).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(&canary), "the canary is in the output of {args:?}: {all}");
        out
    };
    let sessions =
        || cluster.json(&["get", "pods,leases", "-l", "toolkit.dev/session"])["items"].as_array().unwrap().len();

    // A command runs in a pod, through the pipeline: the read goes, the write is refused before
    // any pod is made; no pod or Lease is left.
    let out = toolkit(&["tool", "exec", "pg", "--", "select current_user as who"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&role.name), "{}", String::from_utf8_lossy(&out.stdout));
    let out = toolkit(&["tool", "exec", "pg", "--", "drop table nothing"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("policy refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sessions(), 0, "a session's pod or Lease was left behind");

    // A connected session holds a pod whose password comes from the Secret by reference (its
    // terminal open as long as the CLI's stdin is).
    let mut connected = command(&["tool", "connect", "pg", "--", "sleep", "60"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pod = toolkit_testkit::kube::eventually("the session's pod", || {
        let pods = cluster.json(&["get", "pods", "-l", "toolkit.dev/tool=pg"]);
        pods["items"].as_array().and_then(|p| p.first().cloned())
    });
    let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
    let password = env.iter().find(|e| e["name"] == "PGPASSWORD").unwrap();
    assert_eq!(
        password["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "pg-creds", "key": "password", "optional": false})
    );
    assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
    assert_eq!(pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
    let listed: Value = serde_json::from_slice(&toolkit(&["tool", "status", "-o", "json"]).stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["tool"]["name"], "pg");
    assert_eq!(listed[0]["idleTimeoutSecs"], 600);
    assert!(listed[0]["holder"].as_str().is_some_and(|h| !h.is_empty()));

    // Pausing deletes the pod and its Lease, which ends the connected client.
    let out = toolkit(&["tool", "pause", "pg"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sessions(), 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while connected.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the connected client did not end with its pod");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(connected.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains(&canary));

    // A type without a pod session says so; and the CLI never read a Secret.
    let out = toolkit(&["tool", "connect", "echo"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("have no pod session"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = std::fs::read_to_string(cluster.dir().join("requests.jsonl")).unwrap();
    assert!(!requests.lines().skip(before).any(|l| l.contains("/secrets")), "the CLI read a Secret");
    let objects = cluster.kubectl(&["get", "pods,leases,events.events.k8s.io", "-o", "json"]);
    assert!(!objects.contains(&canary));
}
