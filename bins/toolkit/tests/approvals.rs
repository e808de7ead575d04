//! `toolkit approvals`: one process calls a tool that needs approval and waits; others list,
//! approve and reject the call. A caller cannot decide its own call.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: &str = "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: guarded}
spec:
  type: builtin
  builtin: {name: noop}
  approval: {required: always, timeout: 30s}
";

fn toolkit(dir: &std::path::Path, user: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toolkit"));
    cmd.arg("--tools").arg(dir.join("tools.yaml")).arg("--state").arg(dir.join("state")).args(args);
    cmd.env_remove("TOOLKIT_TOOLS").env_remove("TOOLKIT_STATE").env("USER", user);
    cmd
}

fn run(dir: &std::path::Path, user: &str, args: &[&str], code: i32) -> String {
    let out = toolkit(dir, user, args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "toolkit {args:?}\n{text}");
    text
}

fn wait_pending(dir: &std::path::Path) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = toolkit(dir, "alice", &["approvals", "list", "-o", "json"]).output().unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(id) = list.get(0).and_then(|r| r["id"].as_i64()) {
            return id;
        }
        assert!(Instant::now() < deadline, "no pending approval");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn call(dir: &std::path::Path) -> Child {
    toolkit(dir, "agent", &["tool", "call", "guarded", "--args", r#"{"n": 1}"#])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn approve_and_reject_from_another_process() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tools.yaml"), TOOLS).unwrap();

    let child = call(dir.path());
    let id = wait_pending(dir.path());
    let table = run(dir.path(), "alice", &["approvals", "list"], 0);
    assert!(table.contains("default/guarded") && table.contains("local:agent"), "{table}");
    let own = run(dir.path(), "agent", &["approvals", "approve", &id.to_string()], 5);
    assert!(own.contains("own call"), "{own}");
    run(dir.path(), "alice", &["approvals", "approve", &id.to_string()], 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let child = call(dir.path());
    let id = wait_pending(dir.path());
    run(dir.path(), "bob", &["approvals", "reject", &id.to_string(), "--reason", "not today"], 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not today"));
    run(dir.path(), "bob", &["approvals", "approve", &id.to_string()], 7);

    let all = run(dir.path(), "alice", &["approvals", "list", "--all"], 0);
    assert!(all.contains("approved by local:alice") && all.contains("rejected by local:bob: not today"), "{all}");
    let audit = run(dir.path(), "alice", &["audit"], 0);
    assert!(audit.contains("approved by local:alice") && audit.contains("rejected by local:bob"), "{audit}");
}
