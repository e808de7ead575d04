//! End-to-end tests of the `toolkit-gateway` binary: the official MCP Python SDK
//! (`tests/e2e/client.py`) over streamable HTTP and over stdio, on both protocol lifecycles,
//! including a manifest edit that must reach the client as `list_changed`; plus the HTTP
//! guards (Host and Origin checks, probes, the refusal of a public address) and shutdown.
//!
//! Without python3 and the `mcp` package (`pip install mcp`) the SDK tests are skipped with a
//! printed reason, except under CI (`CI=true`), where they fail.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::process::{BIN, Running, request};
use common::{Fixture, python_sdk};
use sha2::Digest as _;

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/client.py")
}

fn run_client(args: &[&str], fixture: &Fixture) -> Output {
    Command::new("python3")
        .arg(client_script())
        .args(args)
        .arg("--tools")
        .arg(&fixture.tools)
        .args(["--canary", &fixture.canary])
        .env("TOOLKIT_LOG", "info,rmcp=warn")
        .output()
        .unwrap()
}

fn assert_client_ok(out: &Output, gateway_log: &str) {
    assert!(
        out.status.success(),
        "python client failed ({}):\nstdout:\n{}\nstderr:\n{}\ngateway log:\n{gateway_log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

fn python_over_http(mode: &str, extra: &[&str]) {
    if !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    let gateway = Running::start(&fixture, extra);
    let out = run_client(&["--http", &gateway.url(), "--mode", mode], &fixture);
    assert_client_ok(&out, &gateway.log());
    assert!(!gateway.log().contains(&fixture.canary), "the canary reached the gateway log");
    toolkit_testkit::assert_not_in_dir(&fixture.state, &fixture.canary);
}

fn python_over_stdio(mode: &str) {
    if !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    let state = fixture.state.to_string_lossy().into_owned();
    let out = run_client(&["--stdio", BIN, "--state", &state, "--mode", mode], &fixture);
    assert_client_ok(&out, "(on the client's stderr)");
    toolkit_testkit::assert_not_in_dir(&fixture.state, &fixture.canary);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let audit = rt.block_on(async {
        let state = toolkit_state::StateStore::open(&fixture.state).await.unwrap();
        state.audit(&toolkit_state::AuditFilter::default()).await.unwrap()
    });
    assert!(!audit.is_empty() && audit.iter().all(|r| r.caller == "stdio:e2e-python"), "{audit:?}");
}

#[test]
fn python_sdk_over_http_with_the_handshake() {
    python_over_http("legacy", &[]);
}

#[test]
fn python_sdk_over_http_with_discover() {
    python_over_http("modern", &[]);
}

#[test]
fn python_sdk_over_stateless_http() {
    python_over_http("modern", &["--stateless"]);
}

#[test]
fn python_sdk_over_http_with_a_bearer_token() {
    if !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    let token = toolkit_testkit::canary();
    let tokens = fixture.tools.parent().unwrap().join("tokens.yaml");
    let digest: String = sha2::Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&tokens, format!("tokens:\n  - name: e2e\n    tokenSha256: {digest}\n")).unwrap();
    let gateway = Running::start(&fixture, &["--tokens", &tokens.to_string_lossy()]);
    let out = run_client(&["--http", &gateway.url(), "--mode", "modern", "--token", &token], &fixture);
    assert_client_ok(&out, &gateway.log());
    let rejected = run_client(&["--http", &gateway.url(), "--mode", "modern"], &fixture);
    assert!(!rejected.status.success(), "a client without the token got through: {rejected:?}");
    for secret in [&token, &fixture.canary] {
        assert!(!gateway.log().contains(secret.as_str()), "a secret reached the gateway log");
        toolkit_testkit::assert_not_in_dir(&fixture.state, secret);
    }
}

#[test]
fn python_sdk_over_stdio_with_the_handshake() {
    python_over_stdio("legacy");
}

#[test]
fn python_sdk_over_stdio_with_discover() {
    python_over_stdio("modern");
}

#[test]
fn a_call_in_flight_finishes_after_sigterm() {
    if !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    let mut gateway = Running::start(&fixture, &[]);
    let pid = gateway.child.id().to_string();
    let out = run_client(&["--http", &gateway.url(), "--mode", "drain", "--gateway-pid", &pid], &fixture);
    assert_client_ok(&out, &gateway.log());
    let exit = gateway.wait();
    assert!(exit.success(), "exit after SIGTERM: {exit}\n{}", gateway.log());
    assert!(gateway.log().contains("waiting for calls in flight"), "{}", gateway.log());
}

/// Sends one raw HTTP/1.1 request and returns the status code.
fn status(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    request(addr, method, path, headers, body).status
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

fn initialize(addr: SocketAddr, host: &str, origin: Option<&str>) -> u16 {
    let mut headers =
        vec![("Host", host), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    status(addr, "POST", "/mcp", &headers, INITIALIZE)
}

#[test]
fn rebinding_hosts_and_foreign_origins_are_refused() {
    let fixture = Fixture::new();
    let gateway = Running::start(&fixture, &[]);
    let addr = gateway.addr;
    let local = format!("localhost:{}", addr.port());
    assert_eq!(initialize(addr, "evil.example", None), 403);
    assert_eq!(initialize(addr, &format!("evil.example:{}", addr.port()), None), 403);
    assert_eq!(initialize(addr, &local, Some("http://evil.example")), 403);
    assert_eq!(initialize(addr, &local, None), 200);
    assert_eq!(initialize(addr, &addr.to_string(), Some(&format!("http://{local}"))), 200);
    assert_eq!(initialize(addr, &format!("[::1]:{}", addr.port()), None), 200);

    let allowed = Running::start(&fixture, &["--allowed-host", "gateway.internal"]);
    assert_eq!(initialize(allowed.addr, "gateway.internal:8443", Some("https://gateway.internal:8443")), 200);
    assert_eq!(initialize(allowed.addr, "evil.example", None), 403);
}

#[test]
fn probes_answer() {
    let fixture = Fixture::new();
    let mut gateway = Running::start(&fixture, &[]);
    assert_eq!(status(gateway.addr, "GET", "/healthz", &[("Host", "10.0.0.7")], ""), 200);
    assert_eq!(status(gateway.addr, "GET", "/readyz", &[("Host", "localhost")], ""), 200);
    let exit = gateway.terminate();
    assert!(exit.success(), "exit after SIGTERM: {exit}\n{}", gateway.log());
    assert!(gateway.log().contains("shutting down"), "{}", gateway.log());
}

#[test]
fn a_public_address_needs_insecure() {
    let fixture = Fixture::new();
    let out = Command::new(BIN)
        .arg("--tools")
        .arg(&fixture.tools)
        .arg("--state")
        .arg(&fixture.state)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without --tokens") && stderr.contains("--insecure"), "{stderr}");
}

#[test]
fn unreadable_manifests_are_a_configuration_error() {
    let fixture = Fixture::new();
    let out = Command::new(BIN)
        .arg("--tools")
        .arg(fixture.tools.join("missing"))
        .arg("--state")
        .arg(&fixture.state)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}
