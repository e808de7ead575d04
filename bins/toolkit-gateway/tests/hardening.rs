//! The gateway against a client on the same network that means harm, through the
//! `toolkit-gateway` binary over real HTTP with two tokens: sessions bound to the identity that
//! opened them, JSON-RPC ids in flight, malformed JSON-RPC, `Host` headers, caps on sessions,
//! connections and calls, clients that stay silent, and a private state directory.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::Fixture;
use common::process::{Response, Running, request};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-0123456789abcdef";
const VERSION: &str = "2025-11-25";

fn sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An upstream that answers every request after `delay`, on its own threads.
fn slow_upstream(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                thread::sleep(delay);
                let body = r#"{"slow":true}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

/// A fixture with a `slow` tool (1.5s upstream) and tokens for alice and bob.
fn fixture() -> (Fixture, String) {
    let fixture = Fixture::new();
    let upstream = slow_upstream(Duration::from_millis(1500));
    fixture.write(
        "slow.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: slow}}\n\
             spec: {{type: http, description: slow, http: {{url: 'http://{upstream}/slow'}}}}\n"
        ),
    );
    let tokens = fixture.tools.parent().unwrap().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "tokens:\n  - name: alice\n    tokenSha256: {}\n  - name: bob\n    tokenSha256: {}\n",
            sha256(ALICE),
            sha256(BOB)
        ),
    )
    .unwrap();
    (fixture, tokens.to_string_lossy().into_owned())
}

fn start(fixture: &Fixture, tokens: &str, extra: &[&str]) -> Running {
    let mut args = vec!["--tokens", tokens];
    args.extend_from_slice(extra);
    Running::start(fixture, &args)
}

/// A POST of `message` to `/mcp` as `token`, on `session` when given.
fn post(gw: &Running, token: &str, session: Option<&str>, message: &Value) -> Response {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", VERSION),
        ("Authorization", bearer.as_str()),
    ];
    if let Some(s) = session {
        headers.push(("Mcp-Session-Id", s));
    }
    request(gw.addr, "POST", "/mcp", &headers, &message.to_string())
}

fn raw_post(gw: &Running, token: &str, session: Option<&str>, body: &str) -> Response {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", VERSION),
        ("Authorization", bearer.as_str()),
    ];
    if let Some(s) = session {
        headers.push(("Mcp-Session-Id", s));
    }
    request(gw.addr, "POST", "/mcp", &headers, body)
}

/// The JSON-RPC message in a reply: the body itself, or the last `data:` event of a stream.
fn message(response: &Response) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(&response.body) {
        return v;
    }
    response
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .next_back()
        .unwrap_or_else(|| panic!("no JSON-RPC message in {response:?}"))
}

fn rpc(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Opens a session as `token`: `initialize`, then `notifications/initialized`.
fn open(gw: &Running, token: &str) -> String {
    let init = rpc(
        json!(0),
        "initialize",
        json!({"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    );
    let response = post(gw, token, None, &init);
    assert_eq!(response.status, 200, "{response:?}");
    let session = response.header("mcp-session-id").unwrap_or_else(|| panic!("no session: {response:?}")).to_owned();
    let done = post(gw, token, Some(&session), &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(done.status, 202, "{done:?}");
    session
}

fn other(gw: &Running, method: &str, token: &str, session: &str, extra: &[(&str, &str)]) -> Response {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("Accept", "text/event-stream"),
        ("MCP-Protocol-Version", VERSION),
        ("Authorization", bearer.as_str()),
        ("Mcp-Session-Id", session),
    ];
    headers.extend_from_slice(extra);
    request(gw.addr, method, "/mcp", &headers, "")
}

/// Starts a slow call on `session` in a thread; its reply comes from the join.
fn slow_call(gw: &Running, token: &'static str, session: &str, id: i64) -> thread::JoinHandle<Response> {
    let (addr, session) = (gw.addr, session.to_owned());
    thread::spawn(move || {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", VERSION),
            ("Authorization", bearer.as_str()),
            ("Mcp-Session-Id", session.as_str()),
        ];
        let body = rpc(json!(id), "tools/call", json!({"name": "slow", "arguments": {}}));
        request(addr, "POST", "/mcp", &headers, &body.to_string())
    })
}

#[test]
fn a_session_answers_only_the_identity_that_opened_it() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &[]);
    let session = open(&gw, ALICE);
    let list = rpc(json!(1), "tools/list", json!({}));
    assert_eq!(post(&gw, ALICE, Some(&session), &list).status, 200);

    // A call of alice's in flight; bob knows the session id.
    let call = slow_call(&gw, ALICE, &session, 2);
    thread::sleep(Duration::from_millis(300));
    let not_found = |r: &Response| r.status == 404 && r.body.contains("Session not found");
    let r = post(&gw, BOB, Some(&session), &list);
    assert!(not_found(&r), "POST: {r:?}");
    let r = other(&gw, "GET", BOB, &session, &[]);
    assert!(not_found(&r), "GET: {r:?}");
    for last in ["0", "1", &format!("{session}/0"), "2/0"] {
        let r = other(&gw, "GET", BOB, &session, &[("Last-Event-ID", last)]);
        assert!(not_found(&r), "resume {last}: {r:?}");
    }
    let r = other(&gw, "DELETE", BOB, &session, &[]);
    assert!(not_found(&r), "DELETE: {r:?}");
    // Alice's call answers her, whole.
    let reply = message(&call.join().unwrap());
    assert_eq!(reply["id"], 2);
    assert_eq!(reply["result"]["structuredContent"]["body"]["slow"], true, "{reply}");
    // An unknown session and another's look the same.
    let unknown = post(&gw, BOB, Some("no-such-session"), &list);
    assert_eq!((unknown.status, unknown.body.as_str()), (404, "Not Found: Session not found"));

    // Alice ends it; then it is gone for her too.
    let r = other(&gw, "DELETE", ALICE, &session, &[]);
    assert!(r.status < 300, "{r:?}");
    assert!(not_found(&post(&gw, ALICE, Some(&session), &list)));
}

#[test]
fn a_request_id_in_flight_is_not_reused() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &[]);
    let session = open(&gw, ALICE);
    let first = slow_call(&gw, ALICE, &session, 7);
    thread::sleep(Duration::from_millis(300));
    let again = post(&gw, ALICE, Some(&session), &rpc(json!(7), "tools/list", json!({})));
    assert_eq!(again.status, 400, "{again:?}");
    let reply = message(&again);
    assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (json!(7), json!(-32600)), "{reply}");
    // The same id as a string is another id.
    assert_eq!(post(&gw, ALICE, Some(&session), &rpc(json!("7"), "tools/list", json!({}))).status, 200);
    let reply = message(&first.join().unwrap());
    assert_eq!(reply["result"]["structuredContent"]["body"]["slow"], true, "{reply}");
    // Once answered, the id is free again.
    assert_eq!(post(&gw, ALICE, Some(&session), &rpc(json!(7), "tools/list", json!({}))).status, 200);
}

#[test]
fn malformed_json_rpc_gets_json_rpc_errors() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &[]);
    let session = open(&gw, ALICE);
    for s in [None, Some(session.as_str())] {
        let cases = [
            ("{not json", 400, -32700),
            (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, 400, -32600),
            (r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, 400, -32600),
            (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#, 400, -32600),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, 400, -32600),
            (r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, 400, -32600),
            (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, 400, -32600),
            ("42", 400, -32600),
        ];
        for (body, status, code) in cases {
            let r = raw_post(&gw, ALICE, s, body);
            assert_eq!(r.status, status, "{body}: {r:?}");
            assert_eq!(r.header("content-type"), Some("application/json"), "{body}");
            assert_eq!(message(&r)["error"]["code"], code, "{body}: {r:?}");
        }
    }
    for arguments in [json!("x"), json!([1]), json!(3)] {
        let call = rpc(json!(9), "tools/call", json!({"name": "echo", "arguments": arguments}));
        let reply = message(&post(&gw, ALICE, Some(&session), &call));
        assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (json!(9), json!(-32602)), "{reply}");
    }
}

/// Sends `head` as the whole request and returns the status line.
fn raw(addr: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn host_headers_are_strict() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &[]);
    let port = gw.addr.port();
    let ok = raw(gw.addr, &format!("GET /healthz HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"));
    assert!(ok.contains(" 200 "), "{ok}");
    for host in [
        format!("Host: localhost:{port}\r\nHost: evil.example"),
        format!("Host: evil@localhost:{port}"),
        "Host: localhost:abc".to_owned(),
        "Host: localhost:99999".to_owned(),
        "Host: localhost/x".to_owned(),
    ] {
        for path in ["/healthz", "/mcp", "/metrics"] {
            let status = raw(gw.addr, &format!("GET {path} HTTP/1.1\r\n{host}\r\nConnection: close\r\n\r\n"));
            assert!(status.contains(" 400 "), "{path} {host:?}: {status}");
        }
    }
    let status = raw(gw.addr, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(status.contains(" 400 "), "no Host: {status}");
}

#[test]
fn sessions_are_capped_and_the_least_recently_used_idle_one_makes_room() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &["--max-sessions-per-identity", "2", "--max-sessions", "3"]);
    let list = rpc(json!(1), "tools/list", json!({}));
    let a1 = open(&gw, ALICE);
    let a2 = open(&gw, ALICE);
    // a1 used last: a2 is the one to go.
    assert_eq!(post(&gw, ALICE, Some(&a1), &list).status, 200);
    let a3 = open(&gw, ALICE);
    assert_eq!(post(&gw, ALICE, Some(&a2), &list).status, 404);
    assert_eq!(post(&gw, ALICE, Some(&a1), &list).status, 200);

    // Both of alice's sessions busy: a third is refused, with a JSON-RPC error.
    let calls = [slow_call(&gw, ALICE, &a1, 5), slow_call(&gw, ALICE, &a3, 5)];
    thread::sleep(Duration::from_millis(300));
    let init = rpc(
        json!(0),
        "initialize",
        json!({"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    );
    let refused = post(&gw, ALICE, None, &init);
    assert_eq!(refused.status, 429, "{refused:?}");
    let reply = message(&refused);
    assert!(reply["error"]["message"].as_str().unwrap().contains("--max-sessions-per-identity"), "{reply}");
    // Bob is not held back by alice's cap, only by the total (3): with every session busy the
    // total refuses him too once his first session is busy.
    let b1 = open(&gw, BOB);
    let busy = slow_call(&gw, BOB, &b1, 1);
    thread::sleep(Duration::from_millis(300));
    let refused = post(&gw, BOB, None, &init);
    assert_eq!(refused.status, 503, "{refused:?}");
    for c in calls {
        assert_eq!(message(&c.join().unwrap())["id"], 5);
    }
    busy.join().unwrap();
    // Idle again: room is made.
    open(&gw, BOB);
}

/// Whether the server closed `stream` within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn silent_and_slow_clients_are_cut_off_and_connections_capped() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &["--header-read-timeout", "1s", "--max-connections", "4"]);
    // Silent, and headers that never end: both closed after about a second.
    let started = Instant::now();
    let mut silent = TcpStream::connect(gw.addr).unwrap();
    let mut slow = TcpStream::connect(gw.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)));
    assert!(closed_within(&mut slow, Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Four silent connections fill the gateway: the fifth gets 503 at once...
    let held: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(gw.addr).unwrap()).collect();
    thread::sleep(Duration::from_millis(200));
    let full = raw(gw.addr, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert!(full.contains(" 503 "), "{full}");
    // ...until the header deadline frees them.
    thread::sleep(Duration::from_millis(1500));
    let ok = raw(gw.addr, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert!(ok.contains(" 200 "), "{ok}");
    drop(held);
}

#[test]
fn calls_in_flight_are_capped_per_identity() {
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &["--max-calls-per-identity", "1"]);
    let a = open(&gw, ALICE);
    let b = open(&gw, BOB);
    let first = slow_call(&gw, ALICE, &a, 1);
    thread::sleep(Duration::from_millis(300));
    let second = message(&slow_call(&gw, ALICE, &a, 2).join().unwrap());
    assert_eq!(second["result"]["isError"], true, "{second}");
    assert!(second.to_string().contains("--max-calls-per-identity"), "{second}");
    // Bob has his own allowance.
    let bobs = message(&slow_call(&gw, BOB, &b, 3).join().unwrap());
    assert_eq!(bobs["result"]["structuredContent"]["body"]["slow"], true, "{bobs}");
    assert_eq!(message(&first.join().unwrap())["result"]["structuredContent"]["body"]["slow"], true);
}

#[cfg(unix)]
#[test]
fn the_state_directory_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let (fixture, tokens) = fixture();
    let gw = start(&fixture, &tokens, &[]);
    let session = open(&gw, ALICE);
    post(
        &gw,
        ALICE,
        Some(&session),
        &rpc(json!(1), "tools/call", json!({"name": "echo", "arguments": {"message": "x"}})),
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fixture.state), 0o700);
    for entry in std::fs::read_dir(&fixture.state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
    }
}
