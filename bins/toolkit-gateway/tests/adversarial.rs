//! Hostile input through the `toolkit-gateway` binary, with an HTTP upstream started by the test
//! that records everything it receives: arguments that try to break out of the URL or the body
//! template, CR/LF aimed at headers, oversize arguments, wrong types, unknown tools and a flood
//! past the rate limit. Each gets a clear error (or stays data), the gateway keeps serving, and
//! the upstream receives nothing it should not.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use common::Fixture;
use common::process::{Running, request};
use serde_json::{Value, json};

/// One request as the upstream saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// An upstream on its own thread and runtime, answering `{"ok": true}` to everything.
struct Upstream {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log = seen.clone();
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(record).with_state(log);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { base: format!("http://{}", rx.recv().unwrap()), seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(State(log): State<Arc<Mutex<Vec<Seen>>>>, req: Request) -> Response {
    let method = req.method().to_string();
    let target = req.uri().path_and_query().map(ToString::to_string).unwrap_or_default();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), 16 << 20).await.unwrap_or_default().to_vec();
    let key = headers.get("x-api-key").map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    log.lock().unwrap().push(Seen { method, target: target.clone(), headers, body });
    let reply = |status: u16, ct: &str, body: Vec<u8>| {
        Response::builder().status(status).header("content-type", ct).body(Body::from(body)).unwrap()
    };
    // Upstreams that echo the credential they were sent: in an error body that a 200-character
    // excerpt would cut, in binary, and at the end of a body a size cap cuts.
    match target.as_str() {
        "/leak/error" => reply(500, "text/plain", [vec![b'e'; 190], key].concat()),
        "/leak/binary" => reply(200, "application/octet-stream", [vec![0xff, 0xfe, 0x00], key].concat()),
        "/leak/capped" => reply(200, "text/plain", [vec![b'c'; 1000], key].concat()),
        t if t.starts_with("/redirect-to/") => {
            let port = t.trim_start_matches("/redirect-to/");
            Response::builder()
                .status(302)
                .header("location", format!("http://127.0.0.1:{port}/stolen"))
                .body(Body::empty())
                .unwrap()
        }
        _ => reply(200, "application/json", br#"{"ok":true}"#.to_vec()),
    }
}

fn manifests(upstream: &str) -> String {
    format!(
        r#"apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: item}}
spec:
  type: http
  description: GET one item
  http:
    url: "{upstream}/items/{{id}}?view={{view}}"
    headers: [{{name: X-Fixed, value: {{value: fixed}}}}]
  inputSchema:
    type: object
    properties: {{id: {{type: string}}, view: {{type: string}}}}
    required: [id, view]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: create}}
spec:
  type: http
  description: POST a templated body
  http:
    url: "{upstream}/create"
    method: POST
    body: '{{"name": "{{{{.input.name}}}}", "count": {{{{.input.count}}}}, "role": "reader"}}'
  inputSchema:
    type: object
    properties: {{name: {{type: string}}, count: {{type: integer}}}}
    required: [name, count]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: bounded}}
spec:
  type: http
  description: GET with a length limit on its argument
  http: {{url: "{upstream}/bounded/{{q}}"}}
  inputSchema:
    type: object
    properties: {{q: {{type: string, maxLength: 256}}}}
    required: [q]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: limited}}
spec:
  type: http
  description: rate-limited
  http: {{url: "{upstream}/limited"}}
  rateLimit: {{requestsPerMinute: 60, burst: 5}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: bad-secret}}
spec:
  type: http
  description: a header from a Secret that ends in a line break
  http:
    url: "{upstream}/secret"
    headers: [{{name: X-Token, value: {{valueFrom: {{secretKeyRef: {{name: crlf, key: token}}}}}}}}]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: leak}}
spec:
  type: http
  description: an upstream that echoes the tool's credential in several forms
  http:
    url: "{upstream}/leak/{{how}}"
    maxResponseBytes: 1020
    headers: [{{name: X-Api-Key, value: {{valueFrom: {{secretKeyRef: {{name: canary, key: value}}}}}}}}]
  inputSchema:
    type: object
    properties: {{how: {{type: string}}}}
    required: [how]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: hop}}
spec:
  type: http
  description: an upstream that redirects to another port of the same host
  http:
    url: "{upstream}/redirect-to/{{port}}"
    headers: [{{name: X-Api-Key, value: {{valueFrom: {{secretKeyRef: {{name: canary, key: value}}}}}}}}]
  inputSchema:
    type: object
    properties: {{port: {{type: string}}}}
    required: [port]
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: nested}}
spec:
  type: http
  description: two path segments and a fixed query parameter
  http: {{url: "{upstream}/api/v1/{{a}}/{{b}}?count=1"}}
  inputSchema:
    type: object
    properties: {{a: {{type: string}}, b: {{type: string}}, extra: {{type: string}}}}
    required: [a, b]
---
apiVersion: v1
kind: Secret
metadata: {{name: crlf}}
stringData: {{token: "abc\r\nX-Injected: yes"}}
"#
    )
}

struct Setup {
    fixture: Fixture,
    upstream: Upstream,
    gateway: Running,
}

fn setup() -> Setup {
    let upstream = Upstream::start();
    let fixture = Fixture::new();
    fixture.write("adversarial.yaml", &manifests(&upstream.base));
    let gateway = Running::start(&fixture, &["--stateless"]);
    Setup { fixture, upstream, gateway }
}

/// A JSON-RPC request to the stateless gateway: the HTTP status and the reply.
fn rpc(gateway: &Running, method: &str, params: Value) -> (u16, Value) {
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let response = request(gateway.addr, "POST", "/mcp", &headers, &body);
    let reply = if response.status == 200 { response.json() } else { Value::String(response.body.clone()) };
    (response.status, reply)
}

/// `tools/call`: `Ok(structuredContent)` or `Err(error text)` for an `isError` result.
fn call(gateway: &Running, tool: &str, arguments: Value) -> Result<Value, String> {
    let (status, reply) = rpc(gateway, "tools/call", json!({"name": tool, "arguments": arguments}));
    assert_eq!(status, 200, "{reply}");
    let result = &reply["result"];
    assert!(result.is_object(), "no result: {reply}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
    if result["isError"] == true { Err(text) } else { Ok(result["structuredContent"].clone()) }
}

#[test]
fn url_values_stay_in_their_slot() {
    let s = setup();
    let attempts = [
        ("../../admin", "full", "/items/..%2F..%2Fadmin?view=full"),
        ("1?admin=true", "x&debug=1", "/items/1%3Fadmin%3Dtrue?view=x%26debug%3D1"),
        ("1#frag", "@evil.example", "/items/1%23frag?view=%40evil.example"),
        ("%2e%2e%2fsecret", "a b", "/items/%252e%252e%252fsecret?view=a%20b"),
        ("1\r\nX-Injected: yes", "v\nHost: evil", "/items/1%0D%0AX-Injected%3A%20yes?view=v%0AHost%3A%20evil"),
    ];
    for (id, view, expected) in attempts {
        let out = call(&s.gateway, "item", json!({"id": id, "view": view})).unwrap();
        assert_eq!(out["status"], 200);
        let seen = s.upstream.requests().pop().unwrap();
        assert_eq!(seen.target, expected);
        assert_eq!(seen.method, "GET");
        assert!(seen.headers.get("x-injected").is_none());
        assert_eq!(seen.headers.get("host").unwrap().to_str().unwrap(), s.upstream.base.trim_start_matches("http://"));
    }
    assert_eq!(s.upstream.requests().len(), attempts.len());
}

#[test]
fn body_values_cannot_break_out_of_the_template() {
    let s = setup();
    let names = [
        r#"x", "role": "admin"#,
        r#"x"}, {"role": "admin"#,
        "back\\slash \"quoted\" \r\n\t newline",
        "</script>\u{0}\u{2028}",
        "\"",
    ];
    for name in names {
        call(&s.gateway, "create", json!({"name": name, "count": 2})).unwrap();
        let seen = s.upstream.requests().pop().unwrap();
        let body: Value = serde_json::from_slice(&seen.body).expect("the rendered body is valid JSON");
        assert_eq!(body, json!({"name": name, "count": 2, "role": "reader"}));
    }
    // A number slot takes only what the schema allows.
    let err = call(&s.gateway, "create", json!({"name": "x", "count": "1, \"role\": \"admin\""})).unwrap_err();
    assert!(err.contains("/count"), "{err}");
    assert_eq!(s.upstream.requests().len(), names.len());
}

#[test]
fn line_breaks_never_reach_headers() {
    let s = setup();
    let err = call(&s.gateway, "bad-secret", json!({})).unwrap_err();
    assert!(err.contains("line break") && !err.contains("X-Injected"), "{err}");
    assert!(s.upstream.requests().is_empty(), "a request with the bad header was sent");
    // Arguments never become headers: CR/LF in them are only data.
    call(&s.gateway, "create", json!({"name": "a\r\nX-Injected: yes\r\n\r\nGET /other", "count": 1})).unwrap();
    let seen = s.upstream.requests();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].headers.get("x-injected").is_none());
    assert_eq!(seen[0].target, "/create");
}

#[test]
fn oversize_arguments_get_a_clear_error_and_the_gateway_keeps_serving() {
    let s = setup();
    // Past the transport's 4 MiB request limit: refused before any parsing.
    let huge = "A".repeat(5 * 1024 * 1024);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"message": huge}}})
    .to_string();
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let response = request(s.gateway.addr, "POST", "/mcp", &headers, &body);
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(response.body.contains("exceeds") && response.body.len() < 512, "{}", response.body);

    // Under it, a schema limit refuses the argument without echoing it.
    let big = "A".repeat(3 * 1024 * 1024);
    let err = call(&s.gateway, "bounded", json!({"q": big})).unwrap_err();
    assert!(err.contains("invalid arguments") && err.contains("/q"), "{}", &err[..err.len().min(300)]);
    assert!(err.len() < 4096, "the error echoes the argument: {} bytes", err.len());
    // Without a schema limit the call goes through the pipeline, and the output is capped.
    let out = call(&s.gateway, "echo", json!({"message": big})).unwrap_or_else(Value::String);
    assert!(out.to_string().len() < 2 * 1024 * 1024, "{} bytes", out.to_string().len());
    assert!(s.upstream.requests().is_empty());
    assert!(call(&s.gateway, "echo", json!({"message": "still here"})).is_ok());
    // The audit records keep bounded previews, not megabytes.
    let db = std::fs::metadata(s.fixture.state.join("state.db")).map(|m| m.len()).unwrap_or(0);
    assert!(db < 2 * 1024 * 1024, "state.db is {db} bytes");
}

#[test]
fn wrong_types_and_shapes_are_refused() {
    let s = setup();
    for (args, path) in [
        (json!({"id": 5, "view": "x"}), "/id"),
        (json!({"id": ["a"], "view": "x"}), "/id"),
        (json!({"id": {"$ne": 1}, "view": "x"}), "/id"),
        (json!({"id": null, "view": "x"}), "/id"),
        (json!({"view": "x"}), "id"),
    ] {
        let err = call(&s.gateway, "item", args.clone()).unwrap_err();
        assert!(err.contains("invalid arguments") && err.contains(path), "{args}: {err}");
    }
    // `arguments` that are not an object do not parse as a tools/call request: rmcp answers
    // with a JSON-RPC error (-32601, naming the method) and nothing runs.
    let (status, reply) = rpc(&s.gateway, "tools/call", json!({"name": "item", "arguments": ["id", "x"]}));
    assert_eq!(status, 200);
    let code = reply["error"]["code"].as_i64().unwrap_or_default();
    assert!([-32600, -32601, -32602].contains(&code), "{reply}");
    assert!(s.upstream.requests().is_empty());
}

#[test]
fn unknown_tools_are_invalid_params() {
    let s = setup();
    for name in ["nope", "../item", "item\r\n", &"x".repeat(10_000), "default__item", "\u{0}"] {
        let (status, reply) = rpc(&s.gateway, "tools/call", json!({"name": name, "arguments": {}}));
        assert_eq!(status, 200);
        assert_eq!(reply["error"]["code"], -32602, "{name:?}: {reply}");
        assert!(reply["error"]["message"].as_str().unwrap().len() < 512);
    }
    assert!(s.upstream.requests().is_empty());
}

#[test]
fn a_flood_past_the_rate_limit_is_refused_before_the_upstream() {
    let s = setup();
    let results: Vec<Result<Value, String>> = (0..20).map(|_| call(&s.gateway, "limited", json!({}))).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    // Burst 5, then one a second: the 20 calls take well under a second or two.
    assert!((5..=7).contains(&ok), "{ok} calls got through");
    assert!(refused.iter().all(|e| e.contains("rate limit")), "{refused:?}");
    assert_eq!(s.upstream.requests().len(), ok);
    // Other tools are not affected.
    assert!(call(&s.gateway, "echo", json!({"message": "hi"})).is_ok());
}

#[test]
fn dot_segments_undeclared_and_fixed_arguments_are_refused() {
    let s = setup();
    for (a, b) in [("..", "admin"), (".", "x"), ("", "x"), ("1", "..")] {
        let err = call(&s.gateway, "nested", json!({"a": a, "b": b})).unwrap_err();
        assert!(err.contains("segment") || err.contains("path"), "{a:?} {b:?}: {err}");
    }
    let err = call(&s.gateway, "item", json!({"id": "..", "view": "full"})).unwrap_err();
    assert!(err.contains("segment") || err.contains("path"), "{err}");
    // An argument the tool does not declare is not sent; one that would replace the fixed
    // `count=1` neither.
    let err = call(&s.gateway, "item", json!({"id": "1", "view": "x", "count": 100_000})).unwrap_err();
    assert!(err.contains("count"), "{err}");
    let err = call(&s.gateway, "nested", json!({"a": "1", "b": "2", "count": 100_000})).unwrap_err();
    assert!(err.contains("count"), "{err}");
    assert!(s.upstream.requests().is_empty(), "{:?}", s.upstream.requests());
    call(&s.gateway, "nested", json!({"a": "1", "b": "2", "extra": "e"})).unwrap();
    assert_eq!(s.upstream.requests()[0].target, "/api/v1/1/2?count=1&extra=e");
}

#[test]
fn the_credential_never_comes_back_whole_cut_or_encoded() {
    use base64::Engine as _;
    let s = setup();
    let canary = s.fixture.canary.clone();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&canary);
    let mut seen = Vec::new();
    let err = call(&s.gateway, "leak", json!({"how": "error"})).unwrap_err();
    seen.push(err);
    let out = call(&s.gateway, "leak", json!({"how": "binary"})).unwrap();
    seen.push(out.to_string());
    let body = out["body"].as_str().unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&decoded).contains(&canary[..8]), "{body}");
    let out = call(&s.gateway, "leak", json!({"how": "capped"})).unwrap();
    seen.push(out.to_string());
    // Another port of the same host is another origin: not followed, nothing sent there.
    let other = Upstream::start();
    let port = other.base.rsplit(':').next().unwrap().to_owned();
    let err = call(&s.gateway, "hop", json!({"port": port})).unwrap_err();
    assert!(err.contains("origin"), "{err}");
    assert!(other.requests().is_empty());
    seen.push(err);
    for text in &seen {
        assert!(!text.contains(&canary[..8]) && !text.contains(&b64[..12]), "{text}");
    }
    assert!(!s.gateway.log().contains(&canary[..8]));
    toolkit_testkit::assert_not_in_dir(&s.fixture.state, &canary[..8]);
    toolkit_testkit::assert_not_in_dir(&s.fixture.state, &b64[..12]);
}
