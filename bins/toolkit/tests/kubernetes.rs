//! `toolkit --kubernetes`: the CLI reads Tools (and the Secrets they name) from the API
//! emulator of `.ci/kube-apiserver` instead of a folder. A PostgreSQL tool's password is a
//! canary kept in a Secret of the cluster; no output may show it.
//!
//! Needs the emulator, kubectl and PostgreSQL of `.ci/services.sh`; without them the test is
//! skipped with the reason (under `CI=true` it fails).

use std::process::{Command, Output};

use serde_json::Value;
use toolkit_testkit::kube::{Cluster, skip};
use toolkit_testkit::pg::PasswordRole;

fn tool(name: &str, spec: &str) -> String {
    format!("apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}}}\nspec:\n{spec}\n---\n")
}

#[test]
fn cli_reads_the_tools_of_a_cluster() {
    let Some(pg_host) = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST") else { return };
    let pg_port = std::env::var("TOOLKIT_TEST_PG_PORT").unwrap_or_else(|_| "5432".into());
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = Cluster::from_env(dir.path()) else { return };
    let canary = toolkit_testkit::canary();
    let role = match PasswordRole::create("cli_kube", &canary) {
        Ok(r) => r,
        Err(why) => return skip(&why),
    };
    cluster.apply_crds();
    cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}\n");
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: pg-creds}}\nstringData: {{password: \"{canary}\"}}\n"
    ));
    let pg = format!(
        "  type: postgres\n  readOnly: true\n  config: {{hostname: \"{pg_host}\", port: {pg_port}, username: {}, \
         databaseName: postgres, sslMode: disable, credentialsRef: {{name: pg-creds, key: password}}}}",
        role.name
    );
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
