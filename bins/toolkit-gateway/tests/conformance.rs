//! The MCP conformance suite (npm `@modelcontextprotocol/conformance`, which needs Node 22)
//! against the `toolkit-gateway` binary over streamable HTTP: every server scenario of the
//! suite, on the examples' tools plus the builtin tools `tests/conformance/tools.yaml` declares
//! under the names the scenarios call, with the ones that do not apply to a gateway listed in
//! `tests/conformance/baseline.yml`
//! (why: docs/CONFORMANCE.md). The run fails on any other failure, and on a listed scenario
//! that passes.
//!
//! Node 22 is `TOOLKIT_TEST_NODE22`, else `.ci/node22/node_modules/.bin/node`; the suite is
//! `TOOLKIT_TEST_CONFORMANCE` (its `dist/index.js`), else the copy `.ci/run` installs in
//! `.ci/conformance`. Without them the test is skipped with a printed reason, except under CI
//! (`CI=true`), where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;
use common::process::Running;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Node 22 and the suite's entry point, or `None` after saying why the test is skipped.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let repo = here().join("../..");
    let env_or = |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
    let node = env_or("TOOLKIT_TEST_NODE22", repo.join(".ci/node22/node_modules/.bin/node"));
    let cli = env_or(
        "TOOLKIT_TEST_CONFORMANCE",
        repo.join(".ci/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"),
    );
    let version = Command::new(&node).arg("--version").output();
    let reason = match version {
        Ok(out) if String::from_utf8_lossy(&out.stdout).starts_with("v22.") => {
            if cli.is_file() {
                return Some((node, cli));
            }
            format!("the conformance suite is not at {}", cli.display())
        }
        Ok(out) => format!("{} is not Node 22 ({})", node.display(), String::from_utf8_lossy(&out.stdout).trim()),
        Err(e) => format!("{} cannot run: {e}", node.display()),
    };
    let hint = "npm install --prefix .ci/node22 node@22 and --prefix .ci/conformance \
                @modelcontextprotocol/conformance, or set TOOLKIT_TEST_NODE22 and TOOLKIT_TEST_CONFORMANCE";
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason}; {hint}");
    }
    eprintln!("skipped: {reason} ({hint})");
    None
}

fn run_suite(node: &Path, cli: &Path, url: &str, gateway_log: impl Fn() -> String) {
    // The suite writes its results under the working directory.
    let work = tempfile::tempdir().unwrap();
    let baseline = here().join("tests/conformance/baseline.yml");
    let out = Command::new(node)
        .arg(cli)
        .args(["server", "--url", url, "--suite", "all", "--expected-failures"])
        .arg(&baseline)
        .current_dir(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.rsplit("=== SUMMARY ===").next().unwrap_or_default();
    eprintln!("{summary}");
    assert!(
        out.status.success(),
        "conformance suite failed ({}):\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        gateway_log()
    );
    assert!(summary.contains("server-initialize: 1 passed") && summary.contains("tools-list: 1 passed"), "{summary}");
}

#[test]
fn conformance_server_scenarios() {
    let Some((node, cli)) = suite() else { return };
    let fixture = Fixture::new();
    fixture.write("conformance.yaml", include_str!("conformance/tools.yaml"));
    let gateway = Running::start(&fixture, &[]);
    run_suite(&node, &cli, &gateway.url(), || gateway.log());
}
