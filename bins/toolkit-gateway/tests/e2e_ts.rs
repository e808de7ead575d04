//! End-to-end tests of the `toolkit-gateway` binary with the official MCP TypeScript SDK
//! (`tests/e2e/client.mjs`, npm `@modelcontextprotocol/sdk`): over streamable HTTP with the
//! SDK's protocol (2025-11-25) and pinned to 2025-06-18, in stateless mode, and over stdio.
//!
//! The SDK is looked up in `TOOLKIT_TEST_NODE_MODULES` (a `node_modules` folder; `.ci/run`
//! installs it into `.ci/npm-sdk`), else `.ci/npm-sdk/node_modules` of the repository; node is
//! `TOOLKIT_TEST_NODE`, else `node` on the PATH. Without them the tests are skipped with a
//! printed reason, except under CI (`CI=true`), where they fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Fixture;
use common::process::{BIN, Running};

/// Node and a folder with the SDK, or `None` after saying why the test is skipped.
fn node_sdk() -> Option<(PathBuf, PathBuf)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let modules = std::env::var_os("TOOLKIT_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".ci/npm-sdk/node_modules"));
    let node = std::env::var_os("TOOLKIT_TEST_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let reason = match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {
            if modules.join("@modelcontextprotocol/sdk/package.json").is_file() {
                return Some((node, modules));
            }
            format!("@modelcontextprotocol/sdk is not installed in {}", modules.display())
        }
        Ok(out) => format!("{} --version failed: {}", node.display(), String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("node cannot run ({}): {e}", node.display()),
    };
    let hint = "npm install --prefix .ci/npm-sdk @modelcontextprotocol/sdk, or set TOOLKIT_TEST_NODE_MODULES";
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason}; {hint}");
    }
    eprintln!("skipped: {reason} ({hint})");
    None
}

/// Runs the client script from a folder whose `node_modules` is the SDK's, so that its bare
/// imports resolve.
fn run_client(args: &[&str], fixture: &Fixture) -> Option<Output> {
    let (node, modules) = node_sdk()?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/client.mjs"), dir.path().join("client.mjs"))
        .unwrap();
    std::os::unix::fs::symlink(std::fs::canonicalize(modules).unwrap(), dir.path().join("node_modules")).unwrap();
    let out = Command::new(node)
        .arg(dir.path().join("client.mjs"))
        .args(args)
        .args(["--canary", &fixture.canary])
        .env("TOOLKIT_LOG", "info,rmcp=warn")
        .output()
        .unwrap();
    Some(out)
}

fn assert_ok(out: &Output, gateway_log: &str) {
    assert!(
        out.status.success(),
        "typescript client failed ({}):\nstdout:\n{}\nstderr:\n{}\ngateway log:\n{gateway_log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""ok":true"#));
}

fn over_http(gateway_flags: &[&str], client_flags: &[&str]) {
    let fixture = Fixture::new();
    let gateway = Running::start(&fixture, gateway_flags);
    let url = gateway.url();
    let mut args = vec!["--http", url.as_str()];
    args.extend_from_slice(client_flags);
    let Some(out) = run_client(&args, &fixture) else { return };
    assert_ok(&out, &gateway.log());
    assert!(!gateway.log().contains(&fixture.canary), "the canary reached the gateway log");
    toolkit_testkit::assert_not_in_dir(&fixture.state, &fixture.canary);
}

#[test]
fn typescript_sdk_over_http() {
    over_http(&[], &[]);
}

#[test]
fn typescript_sdk_over_http_on_protocol_2025_06_18() {
    over_http(&[], &["--protocol", "2025-06-18"]);
}

#[test]
fn typescript_sdk_over_stateless_http() {
    over_http(&["--stateless"], &[]);
}

#[test]
fn typescript_sdk_over_stdio() {
    let fixture = Fixture::new();
    let tools = fixture.tools.to_string_lossy().into_owned();
    let state = fixture.state.to_string_lossy().into_owned();
    let Some(out) = run_client(&["--stdio", BIN, "--tools", &tools, "--state", &state], &fixture) else { return };
    assert_ok(&out, "(on the client's stderr)");
    toolkit_testkit::assert_not_in_dir(&fixture.state, &fixture.canary);
}
