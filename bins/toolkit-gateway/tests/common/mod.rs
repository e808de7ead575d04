//! A tools folder for the tests: the examples' builtin and SQLite manifests (with a copy of the
//! demo database), a canary Secret, and a state directory outside the watched folder.

#![allow(dead_code, reason = "each test crate uses a different part")]

pub mod oauth;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use toolkit_state::{ApprovalRecord, ApprovalState, StateStore};

/// The examples folder of the repository.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A temporary catalog: `tools/` (watched), `data/demo.db`, `state/`.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub tools: PathBuf,
    pub state: PathBuf,
    pub canary: String,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        for file in ["builtin.yaml", "sqlite.yaml"] {
            std::fs::copy(examples().join("tools").join(file), tools.join(file)).unwrap();
        }
        // sqlite.yaml names `../data/demo.db`, relative to itself.
        std::fs::copy(examples().join("data/demo.db"), data.join("demo.db")).unwrap();
        let canary = toolkit_testkit::canary();
        std::fs::write(
            tools.join("secrets.yaml"),
            format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: canary}}\nstringData: {{value: {canary}}}\n"),
        )
        .unwrap();
        let state = dir.path().join("state");
        Self { _dir: dir, tools, state, canary }
    }

    /// Writes (or replaces) a manifest in the watched folder.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tools.join(name), text).unwrap();
    }
}

/// A builtin noop tool named `name` in `namespace`.
pub fn noop_manifest(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  type: builtin\n  description: Added while serving.\n  builtin: {{name: noop}}\n"
    )
}

/// Whether the Python SDK is usable; otherwise prints why and skips, or panics under CI.
pub fn python_sdk() -> bool {
    let probe =
        std::process::Command::new("python3").args(["-c", "from mcp import Client, StdioServerParameters"]).output();
    let reason = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!("the Python MCP SDK is missing ({})", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("python3 cannot run: {e}"),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason}; .ci/run installs it with `pip install mcp`");
    }
    eprintln!("skipped: {reason} (pip install mcp)");
    false
}

/// Two builtin tools that need approval: `guarded` (30 s to decide) and `hasty` (2 s, then
/// refused).
pub const GUARDED: &str = "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: guarded}
spec:
  type: builtin
  description: A noop that a person must approve.
  builtin: {name: noop}
  approval: {required: always, timeout: 30s}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: hasty}
spec:
  type: builtin
  description: A noop whose approval lapses quickly.
  builtin: {name: noop}
  approval: {required: always, timeout: 2s, onTimeout: reject}
";

/// The first pending approval request after id `after`, waiting up to 30 seconds.
pub async fn next_pending(state: &StateStore, after: i64) -> ApprovalRecord {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = state.approvals(false).await.unwrap();
        if let Some(r) = pending.into_iter().find(|r| r.id > after && r.state == ApprovalState::Pending) {
            return r;
        }
        assert!(Instant::now() < deadline, "no call came to wait for approval");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
