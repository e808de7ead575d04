//! bash and kubectl tools through the call pipeline: real commands, argv without a shell unless
//! `allowShell`, the timeout, and classification deciding which calls run, wait or are
//! blocked. kubectl itself is not run (it may not be installed): its tool is built from the
//! kubernetes connection it names, and a tool naming no such connection is not served.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use toolkit_core::{ErrorKind, ToolRef};
use toolkit_runtime::{Caller, Runtime, RuntimeOptions};
use toolkit_state::AuditFilter;

fn tools(dir: &std::path::Path) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: sh}}
spec:
  type: bash
  timeout: 1s
  command:
    workingDir: '{dir}'
    env: [{{name: GREETING, value: hello}}, {{name: TOKEN, valueFrom: {{secretKeyRef: {{name: s, key: token}}}}}}]
  approval: {{timeout: 1s}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: shell}}
spec:
  type: bash
  command: {{allowShell: true, env: [{{name: TOKEN, valueFrom: {{secretKeyRef: {{name: s, key: token}}}}}}]}}
  limits: {{maxOutputBytes: 1000}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: cluster}}
spec:
  type: kubernetes
  config: {{apiserver: 'https://127.0.0.1:1', token: {{name: s, key: token}}}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: k}}
spec:
  type: kubectl
  command: {{connectionRef: {{name: cluster}}}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: k-lost}}
spec:
  type: kubectl
  command: {{connectionRef: {{name: nowhere}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: s}}
stringData: {{token: not-a-real-token}}
",
        dir = dir.display()
    )
}

async fn runtime(dir: &tempfile::TempDir) -> Runtime {
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("marker.txt"), "x").unwrap();
    std::fs::write(dir.path().join("tools.yaml"), tools(&work)).unwrap();
    let options = RuntimeOptions { tools: vec![dir.path().join("tools.yaml")], state_dir: dir.path().join("state") };
    Runtime::load(&options, toolkit_connectors::registry()).await.unwrap()
}

async fn run(rt: &Runtime, tool: &str, command: &str) -> toolkit_core::Result<Value> {
    let out = rt.call(&Caller::new("mcp:agent"), &ToolRef::new("default", tool), json!({"command": command})).await?;
    Ok(out.output.content)
}

#[tokio::test]
async fn bash_runs_commands_refuses_pipes_kills_and_is_gated() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir).await;

    let out = run(&rt, "sh", "echo 'hi there'").await.unwrap();
    assert_eq!(out, json!({"success": true, "output": "hi there\n", "exit_code": 0, "error": null}));
    let out = run(&rt, "sh", "ls").await.unwrap();
    assert_eq!(out["output"], "marker.txt\n", "runs in the working directory: {out}");
    let out = run(&rt, "sh", "printenv GREETING").await.unwrap();
    assert_eq!(out["output"], "hello\n");
    // The secret reaches the command, and is redacted on the way back.
    let out = run(&rt, "sh", "printenv TOKEN").await.unwrap();
    assert!(!out.to_string().contains("not-a-real-token"), "{out}");
    let out = run(&rt, "sh", "ls /nonexistent-dir").await.unwrap();
    assert_eq!((out["success"].clone(), out["exit_code"].clone()), (json!(false), json!(2)));
    assert!(out["error"].as_str().unwrap().contains("No such file"), "{out}");

    // No shell without allowShell.
    let err = run(&rt, "sh", "echo a | wc -c").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.to_string().contains("allowShell"), "{err}");
    let out = run(&rt, "shell", "echo a | wc -c").await.unwrap();
    assert_eq!(out["output"].as_str().unwrap().trim(), "2");
    let out = run(&rt, "shell", "seq 1 1000").await.unwrap();
    assert!(out["output"].as_str().unwrap().contains("[truncated: 400 of 3893 bytes]"), "{out}");
    // The cap cuts the secret in half: the half that is left is redacted as well.
    let out = run(&rt, "shell", "printf '%0390d' 0; printenv TOKEN").await.unwrap();
    let text = out["output"].as_str().unwrap();
    assert!(!text.contains("not-a-r") && text.contains("[redacted]… [truncated: "), "{out}");

    // Killed at the tool's timeout (1s).
    let started = Instant::now();
    let out = run(&rt, "sh", "sleep 10").await.unwrap();
    assert_eq!(out["success"], false);
    assert!(out["error"].as_str().unwrap().contains("killed"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A write waits for approval (nobody decides within 1s); a dangerous command is blocked.
    let err = run(&rt, "sh", "touch made.txt").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(!dir.path().join("work/made.txt").exists());
    let err = run(&rt, "sh", "rm -rf /").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.to_string().contains("blocked"), "{err}");

    let filter = AuditFilter { tool: Some(ToolRef::new("default", "sh")), limit: None, ..AuditFilter::default() };
    let decisions: Vec<String> =
        rt.state().audit(&filter).await.unwrap().into_iter().map(|r| r.decision.to_string()).collect();
    assert_eq!(decisions[1], "timed out");
    assert!(decisions[0].starts_with("blocked: "), "{decisions:?}");
    assert_eq!(decisions.last().unwrap(), "auto-approved (read)");
}

#[tokio::test]
async fn kubectl_takes_its_credentials_from_the_named_connection() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir).await;
    let listing = rt.list().await.unwrap();
    let k = listing.iter().find(|l| l.tool.name == "k").unwrap();
    assert!(k.served, "{k:?}");
    let lost = listing.iter().find(|l| l.tool.name == "k-lost").unwrap();
    assert!(!lost.served);
    assert!(
        lost.reason.as_deref().unwrap_or_default().contains("no kubernetes tool default/nowhere is declared"),
        "{lost:?}"
    );
    // Shell syntax is refused before anything runs.
    let err = run(&rt, "k", "get pods | grep web").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    let err = run(&rt, "k", "delete namespace kube-system").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
}
