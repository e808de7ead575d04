//! API tokens and metrics over HTTP, against the `toolkit-gateway` binary: 401 without a valid
//! bearer token (even on loopback), scoped tool lists, calls outside the scope answered like
//! unknown tools and audited, `/metrics` after calls, and tokens that never reach logs, metrics
//! or state. Raw JSON-RPC on a `--stateless` gateway keeps the requests plain.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::process::{Running, mcp_request, request};
use common::{Fixture, noop_manifest};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use toolkit_core::ToolRef;
use toolkit_state::{AuditFilter, AuditRecord, StateStore};

const ADMIN: &str = "admin-token-0123456789abcdef";
const CI: &str = "ci-token-0123456789abcdef";

fn sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Tools `echo`, `finish`, `customers` (default) and `prod/echo`; tokens `admin` (every tool)
/// and `ci` (namespace prod), plus `ops` from a Secret whose token is `ops_token`.
fn fixture(ops_token: &str) -> (Fixture, PathBuf) {
    let fixture = Fixture::new();
    fixture.write("prod.yaml", &noop_manifest("prod", "echo"));
    fixture.write(
        "gateway-tokens.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: gateway-tokens}}\nstringData: {{ops: {ops_token}}}\n"
        ),
    );
    let tokens = fixture.tools.parent().unwrap().join("tokens.yaml");
    write_tokens(&tokens, true);
    (fixture, tokens)
}

fn write_tokens(path: &Path, with_ci: bool) {
    let mut text = format!(
        "tokens:\n  - name: admin\n    tokenSha256: {}\n  - name: ops\n    tokenRef: {{name: gateway-tokens, key: ops}}\n",
        sha256(ADMIN)
    );
    if with_ci {
        text.push_str(&format!("  - name: ci\n    tokenSha256: {}\n    namespaces: [prod]\n", sha256(CI)));
    }
    std::fs::write(path, text).unwrap();
}

fn start(fixture: &Fixture, tokens: &Path, extra: &[&str]) -> Running {
    let tokens = tokens.to_string_lossy().into_owned();
    let mut args = vec!["--stateless", "--tokens", &tokens];
    args.extend_from_slice(extra);
    // Debug logs, so that the search for tokens covers them too.
    Running::start_logging(fixture, &args, "debug,rmcp=debug")
}

/// One JSON-RPC request to `/mcp`; returns the HTTP status and the body.
fn rpc(gateway: &Running, token: Option<&str>, method: &str, params: Value) -> (u16, Value) {
    let response = mcp_request(gateway.addr, token, method, params);
    let json = if response.status == 200 { response.json() } else { Value::String(response.body.clone()) };
    (response.status, json)
}

fn tool_names(gateway: &Running, token: &str) -> Vec<String> {
    let (status, body) = rpc(gateway, Some(token), "tools/list", json!({}));
    assert_eq!(status, 200, "{body}");
    body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

fn call(gateway: &Running, token: &str, name: &str, arguments: Value) -> Value {
    let (status, body) = rpc(gateway, Some(token), "tools/call", json!({"name": name, "arguments": arguments}));
    assert_eq!(status, 200, "{body}");
    body
}

fn audit(fixture: &Fixture, tool: ToolRef) -> Vec<AuditRecord> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let state = StateStore::open(&fixture.state).await.unwrap();
        state.audit(&AuditFilter { tool: Some(tool), limit: None, ..AuditFilter::default() }).await.unwrap()
    })
}

fn metrics(gateway: &Running, token: Option<&str>) -> common::process::Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("Authorization", b.as_str())).collect();
    request(gateway.addr, "GET", "/metrics", &headers, "")
}

#[test]
fn requests_without_a_valid_token_get_401_even_on_loopback() {
    let (fixture, tokens) = fixture(&toolkit_testkit::canary());
    let gateway = start(&fixture, &tokens, &[]);
    let (status, _) = rpc(&gateway, None, "tools/list", json!({}));
    assert_eq!(status, 401);
    let (status, _) = rpc(&gateway, Some("wrong-token"), "tools/list", json!({}));
    assert_eq!(status, 401);

    let missing = request(gateway.addr, "POST", "/mcp", &[("Content-Type", "application/json")], "{}");
    assert_eq!(missing.header("www-authenticate"), Some(r#"Bearer realm="toolkit-gateway""#));
    let wrong = request(gateway.addr, "POST", "/mcp", &[("Authorization", "Bearer nope")], "{}");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("www-authenticate").unwrap().contains(r#"error="invalid_token""#), "{wrong:?}");
    let basic = request(gateway.addr, "POST", "/mcp", &[("Authorization", &format!("Basic {ADMIN}"))], "{}");
    assert_eq!(basic.status, 401, "only the Bearer scheme counts");

    assert_eq!(metrics(&gateway, None).status, 401);
    assert_eq!(request(gateway.addr, "GET", "/healthz", &[], "").status, 200, "the probes need no token");
    assert_eq!(tool_names(&gateway, ADMIN), ["customers", "echo", "finish", "prod__echo"]);
}

#[test]
fn a_scoped_token_sees_and_calls_only_its_tools() {
    let (fixture, tokens) = fixture(&toolkit_testkit::canary());
    let gateway = start(&fixture, &tokens, &[]);
    assert_eq!(tool_names(&gateway, CI), ["prod__echo"]);

    let ok = call(&gateway, CI, "prod__echo", json!({"m": 1}));
    assert_eq!(ok["result"]["isError"], false, "{ok}");

    // A tool hidden from the token and a tool that does not exist are answered alike.
    let hidden = call(&gateway, CI, "echo", json!({"message": "x"}));
    let missing = call(&gateway, CI, "nothing", json!({"message": "x"}));
    assert_eq!(hidden["error"]["code"], missing["error"]["code"]);
    let message = |v: &Value, name: &str| v["error"]["message"].as_str().unwrap().replace(name, "NAME");
    assert_eq!(message(&hidden, "echo"), message(&missing, "nothing"));
    assert!(message(&hidden, "echo").contains("unknown tool"), "{hidden}");

    let prod = audit(&fixture, ToolRef::new("prod", "echo"));
    assert_eq!((prod[0].caller.as_str(), prod[0].decision.to_string().as_str()), ("token:ci", "allowed"));
    let denied = audit(&fixture, ToolRef::new("default", "echo"));
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].caller, "token:ci");
    assert_eq!(denied[0].decision.to_string(), "denied: outside the caller's scope");
    let unknown = audit(&fixture, ToolRef::new("default", "nothing"));
    assert_eq!((unknown.len(), unknown[0].caller.as_str()), (1, "token:ci"), "unknown tools are audited too");

    // Metrics would name every tool: a scoped token may not read them.
    assert_eq!(metrics(&gateway, Some(CI)).status, 403);
}

#[test]
fn metrics_count_calls_and_tokens_never_show() {
    let ops = toolkit_testkit::canary();
    let (fixture, tokens) = fixture(&ops);
    let gateway = start(&fixture, &tokens, &["--metrics-listen", "127.0.0.1:0"]);
    call(&gateway, &ops, "echo", json!({"message": "hi"}));
    call(&gateway, &ops, "echo", json!({"message": 5}));
    let (status, _) = rpc(&gateway, Some("not-a-token"), "tools/list", json!({}));
    assert_eq!(status, 401);

    let scrape = metrics(&gateway, Some(ADMIN));
    assert_eq!(scrape.status, 200, "{scrape:?}");
    assert!(scrape.header("content-type").unwrap().starts_with("application/openmetrics-text"), "{scrape:?}");
    for line in [
        r#"toolkit_calls_total{tool="default/echo",outcome="ok"} 1"#,
        r#"toolkit_calls_total{tool="default/echo",outcome="error"} 1"#,
        r#"toolkit_call_errors_total{tool="default/echo",kind="invalid_input"} 1"#,
        r#"toolkit_call_duration_seconds_count{tool="default/echo"} 2"#,
        r#"toolkit_rate_limited_total{tool="default/echo"} 0"#,
        "toolkit_tools_served 4",
        "toolkit_unauthorized_total 1",
    ] {
        assert!(scrape.body.lines().any(|l| l == line), "{line} missing:\n{}", scrape.body);
    }
    let audit = audit(&fixture, ToolRef::new("default", "echo"));
    assert!(audit.iter().all(|r| r.caller == "token:ops"), "{audit:?}");

    // The metrics listener needs no token, and answers only loopback host names.
    let url = gateway
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["message"] == "metrics listening")
        .and_then(|e| e["url"].as_str().map(str::to_owned))
        .expect("metrics listener url in the log");
    let addr = url.trim_start_matches("http://").trim_end_matches("/metrics").parse().unwrap();
    let open = request(addr, "GET", "/metrics", &[], "");
    assert!(open.status == 200 && open.body.contains("toolkit_calls_total"), "{open:?}");
    assert_eq!(request(addr, "GET", "/metrics", &[("Host", "evil.example")], "").status, 403);
    assert_eq!(request(addr, "POST", "/mcp", &[], "{}").status, 404, "no MCP on the metrics listener");

    for token in [ADMIN, CI, ops.as_str()] {
        assert!(!gateway.log().contains(token), "a token reached the log");
        assert!(!scrape.body.contains(token) && !open.body.contains(token), "a token reached the metrics");
        toolkit_testkit::assert_not_in_dir(&fixture.state, token);
    }
}

#[test]
fn an_edited_tokens_file_takes_effect() {
    let (fixture, tokens) = fixture(&toolkit_testkit::canary());
    let gateway = start(&fixture, &tokens, &[]);
    assert_eq!(tool_names(&gateway, CI), ["prod__echo"]);
    // The watcher starts right after the listener; an edit before it is in place goes unseen.
    let watching = Instant::now() + Duration::from_secs(10);
    while gateway.log().matches("watching manifests").count() < 2 {
        assert!(Instant::now() < watching, "the gateway never watched its files:\n{}", gateway.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    write_tokens(&tokens, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rpc(&gateway, Some(CI), "tools/list", json!({})).0 != 401 {
        assert!(Instant::now() < deadline, "the removed token still works:\n{}", gateway.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    // A broken file keeps the tokens loaded before.
    std::fs::write(&tokens, "tokens: [{name: x}]\n").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(tool_names(&gateway, ADMIN).len(), 4);
    assert!(gateway.log().contains("still serving the previous catalog"), "{}", gateway.log());
}

#[test]
fn a_public_address_with_tokens_starts() {
    let (fixture, tokens) = fixture(&toolkit_testkit::canary());
    let tokens = tokens.to_string_lossy().into_owned();
    let mut gateway = Running::start(&fixture, &["--listen", "0.0.0.0:0", "--tokens", &tokens]);
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], gateway.addr.port()));
    let refused = request(local, "POST", "/mcp", &[("Host", &format!("localhost:{}", local.port()))], "{}");
    assert_eq!(refused.status, 401);
    assert!(gateway.terminate().success());
}

#[test]
fn a_bad_tokens_file_is_a_configuration_error() {
    let (fixture, tokens) = fixture(&toolkit_testkit::canary());
    std::fs::write(&tokens, "tokens:\n  - name: a\n    tokenSha256: 1234\n").unwrap();
    let out = std::process::Command::new(common::process::BIN)
        .arg("--tools")
        .arg(&fixture.tools)
        .arg("--state")
        .arg(&fixture.state)
        .arg("--tokens")
        .arg(&tokens)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tokens[0].tokenSha256"), "{stderr}");
}
