//! The web console at `/ui`, against the `toolkit-gateway` binary: signing in with an API token,
//! deciding calls that wait for approval (the agent's MCP call then succeeds, or fails with the
//! reason), self-approval refused, CSRF tokens, cookie flags, security headers, a `<script>`
//! planted in a tool's description and in a call's arguments rendered inert on every page, no
//! secret on any page, read-only users, the audit log's filters and downloads, and the local
//! user without tokens. Raw HTTP/1.1 on a `--stateless` gateway keeps the requests plain.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::process::{BIN, Response, Running, mcp_request, request};
use common::{Fixture, next_pending};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use toolkit_state::{ApprovalRecord, StateStore};

const AGENT: &str = "agent-token-0123456789abcdef";
const READER: &str = "reader-token-0123456789abcdef";
const PROD: &str = "prod-token-0123456789abcdef";

/// What is planted in a description and in arguments.
const SCRIPT: &str = "<script>alert('pwned')</script>";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `planted`: a noop that waits for approval, with a `<script>` in its description; `keyed`: an
/// http tool whose header is the canary Secret; `prod/echo`. Tokens: `ops` (the canary itself,
/// from a Secret), `agent`, `reader`, and `prod` (namespace prod only).
fn fixture() -> (Fixture, PathBuf) {
    let fixture = Fixture::new();
    fixture.write("prod.yaml", &common::noop_manifest("prod", "echo"));
    fixture.write(
        "console.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: planted}}
spec:
  type: builtin
  description: \"A noop that a person must approve. {SCRIPT}\"
  builtin: {{name: noop}}
  inputSchema:
    type: object
    properties: {{note: {{type: string}}}}
  approval: {{required: always, timeout: 30s}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: keyed}}
spec:
  type: http
  description: An upstream that is never there, called with the canary as its key.
  http:
    url: http://127.0.0.1:9/nothing
    headers: [{{name: X-Api-Key, value: {{valueFrom: {{secretKeyRef: {{name: canary, key: value}}}}}}}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: gateway-tokens}}
stringData: {{ops: {}}}
",
            fixture.canary
        ),
    );
    let tokens = fixture.tools.parent().unwrap().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "tokens:
  - name: ops
    tokenRef: {{name: gateway-tokens, key: ops}}
  - name: agent
    tokenSha256: {}
  - name: reader
    tokenSha256: {}
  - name: prod
    tokenSha256: {}
    namespaces: [prod]
",
            sha256(AGENT),
            sha256(READER),
            sha256(PROD)
        ),
    )
    .unwrap();
    (fixture, tokens)
}

/// A browser: keeps the cookies the gateway sets, and checks every answer for what no console
/// response may hold.
struct Browser<'a> {
    gateway: &'a Running,
    canary: String,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(gateway: &'a Running, fixture: &Fixture) -> Self {
        Self { gateway, canary: fixture.canary.clone(), cookies: Vec::new() }
    }

    fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Response {
        let cookie = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let body = url_encode(form);
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        if method == "POST" {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let response = request(self.gateway.addr, method, path, &headers, &body);
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(old, _)| old != n);
            if !v.is_empty() && !value.contains("Max-Age=0") {
                self.cookies.push((n.to_owned(), v.to_owned()));
            }
        }
        self.check(path, &response);
        response
    }

    fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, &[], &[])
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        self.send("POST", path, form, &[])
    }

    /// What every console response must be: strict headers, no live script, no secret.
    fn check(&self, path: &str, response: &Response) {
        assert_eq!(response.header("content-security-policy"), Some(CSP), "{path}: {response:?}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{path}");
        // Downloads hold the arguments as recorded; a page never runs them.
        let html = response.header("content-type").is_some_and(|t| t.starts_with("text/html"));
        assert!(!html || !response.body.contains("<script>alert"), "{path} carries a live script:\n{}", response.body);
        assert!(!response.body.contains(&self.canary[..12]), "{path} shows the canary:\n{}", response.body);
        for (name, value) in &response.headers {
            assert!(!value.contains(&self.canary[..12]), "{path}: header {name} shows the canary");
        }
    }

    /// Signs in with `token`, as a person would: the form, then its POST.
    fn sign_in(&mut self, token: &str) -> Response {
        let form = self.get("/ui/login");
        assert_eq!(form.status, 200, "{form:?}");
        let csrf = csrf(&form.body);
        self.post("/ui/login", &[("csrf", &csrf), ("token", token)])
    }

    /// The CSRF token of the session's forms, read from a page.
    fn csrf(&mut self) -> String {
        csrf(&self.get("/ui/approvals").body)
    }
}

fn url_encode(form: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect::<Vec<_>>().join("&")
}

/// The value of the first `csrf` field of a page.
fn csrf(body: &str) -> String {
    let at = body.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf field in:\n{body}"));
    let rest = &body[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn start(fixture: &Fixture, tokens: &std::path::Path, extra: &[&str]) -> Running {
    let tokens = tokens.to_string_lossy().into_owned();
    let mut args = vec!["--stateless", "--tokens", &tokens, "--approver", "ops", "--approver", "agent"];
    args.extend_from_slice(extra);
    Running::start_logging(fixture, &args, "debug,rmcp=warn")
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// The first request after `after` waiting for approval.
fn pending(fixture: &Fixture, after: i64) -> ApprovalRecord {
    block_on(async {
        let state = StateStore::open(&fixture.state).await.unwrap();
        let found = next_pending(&state, after).await;
        state.close().await;
        found
    })
}

/// Calls `planted` as `token` (or without one) on its own thread: the call waits for a decision.
fn call_planted(gateway: &Running, token: Option<&str>, note: &str) -> JoinHandle<Value> {
    let addr = gateway.addr;
    let token = token.map(str::to_owned);
    let note = note.to_owned();
    std::thread::spawn(move || {
        let params = json!({"name": "planted", "arguments": {"note": note}});
        let response = mcp_request(addr, token.as_deref(), "tools/call", params);
        assert_eq!(response.status, 200, "{response:?}");
        response.json()
    })
}

fn result_text(reply: &Value) -> String {
    reply["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn sign_in_then_approve_and_reject_what_agents_wait_for() {
    let (fixture, tokens) = fixture();
    let gateway = start(&fixture, &tokens, &[]);
    let mut ops = Browser::new(&gateway, &fixture);

    // Signed out, pages send the browser to the sign-in form.
    let away = ops.get("/ui/approvals");
    assert_eq!((away.status, away.header("location")), (303, Some("/ui/login")), "{away:?}");

    // The sign-in form's CSRF token: missing or wrong is 403, whatever the token.
    let form = ops.get("/ui/login");
    let login_csrf = csrf(&form.body);
    assert_eq!(ops.post("/ui/login", &[("token", &fixture.canary)]).status, 403);
    assert_eq!(ops.post("/ui/login", &[("csrf", "0000"), ("token", &fixture.canary)]).status, 403);
    let mut stranger = Browser::new(&gateway, &fixture);
    assert_eq!(stranger.post("/ui/login", &[("csrf", &login_csrf), ("token", &fixture.canary)]).status, 403);
    // A wrong token is 401 and starts no session.
    let wrong = ops.sign_in("not-a-token-at-all");
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.body.contains("not valid"), "{}", wrong.body);

    // The token itself (here the canary) signs in; the cookie is scoped and not for scripts.
    let signed = ops.sign_in(&fixture.canary);
    assert_eq!((signed.status, signed.header("location")), (303, Some("/ui/approvals")), "{signed:?}");
    let cookie = signed
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("toolkit_console="))
        .map(|(_, v)| v.clone())
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=28800"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "no TLS, no Secure: {cookie}");

    // An agent's call waits; the console lists it with its arguments, escaped.
    let first = call_planted(&gateway, Some(AGENT), SCRIPT);
    let request_one = pending(&fixture, 0);
    assert_eq!(request_one.caller, "token:agent");
    let page = ops.get("/ui/approvals");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("token:ops") && page.body.contains("approver"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert('pwned')&lt;/script&gt;"), "{}", page.body);
    let approve = format!("/ui/approvals/{}/approve", request_one.id);
    assert!(page.body.contains(&approve), "{}", page.body);
    let fragment = ops.get("/ui/approvals/pending");
    assert!(fragment.body.contains(&approve) && !fragment.body.contains("<html"), "{}", fragment.body);

    // The agent, an approver too, sees its own call as such and cannot approve it.
    let mut agent = Browser::new(&gateway, &fixture);
    assert_eq!(agent.sign_in(AGENT).status, 303);
    let own = agent.get("/ui/approvals");
    assert!(own.body.contains("your own call") && !own.body.contains(&approve), "{}", own.body);
    let agent_csrf = agent.csrf();
    let refused = agent.post(&approve, &[("csrf", &agent_csrf)]);
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.body.contains("own call"), "{}", refused.body);

    // A reader sees no buttons, and its POSTs are refused even with a good CSRF token.
    let mut reader = Browser::new(&gateway, &fixture);
    assert_eq!(reader.sign_in(READER).status, 303);
    let read = reader.get("/ui/approvals");
    assert!(read.body.contains("read-only"), "{}", read.body);
    assert!(!read.body.contains("<button class=\"approve\"") && !read.body.contains(&approve), "{}", read.body);
    let reader_csrf = reader.csrf();
    assert_eq!(reader.post(&approve, &[("csrf", &reader_csrf)]).status, 403);

    // Without the session's CSRF token, or with another session's, the approver is refused too.
    assert_eq!(ops.post(&approve, &[]).status, 403);
    assert_eq!(ops.post(&approve, &[("csrf", &reader_csrf)]).status, 403);
    let ops_csrf = ops.csrf();
    let done = ops.post(&approve, &[("csrf", &ops_csrf)]);
    assert_eq!((done.status, done.header("location")), (303, Some("/ui/approvals")), "{done:?}");
    let reply = first.join().unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");

    // A rejection's reason reaches the agent.
    let second = call_planted(&gateway, Some(AGENT), "second");
    let request_two = pending(&fixture, request_one.id);
    let reject = format!("/ui/approvals/{}/reject", request_two.id);
    let done = ops.post(&reject, &[("csrf", &ops_csrf), ("reason", "not during the freeze")]);
    assert_eq!(done.status, 303, "{done:?}");
    let reply = second.join().unwrap();
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = result_text(&reply);
    assert!(text.contains("rejected by token:ops") && text.contains("not during the freeze"), "{text}");

    // Decided requests are listed with who, when and why; deciding again is refused.
    let page = ops.get("/ui/approvals");
    assert!(page.body.contains("No call is waiting for approval."), "{}", page.body);
    assert!(page.body.contains("not during the freeze") && page.body.contains("rejected"), "{}", page.body);
    assert_eq!(ops.post(&approve, &[("csrf", &ops_csrf)]).status, 409);

    // Every other page renders the planted script inert and shows no secret.
    let keyed = mcp_request(gateway.addr, Some(AGENT), "tools/call", json!({"name": "keyed", "arguments": {}}));
    assert_eq!(keyed.status, 200);
    let tools = ops.get("/ui/tools");
    assert_eq!(tools.status, 200);
    assert!(tools.body.contains("default/planted") && tools.body.contains("always, 30s"), "{}", tools.body);
    let detail = ops.get("/ui/tools/default/planted");
    assert!(detail.body.contains("A noop that a person must approve. &lt;script&gt;"), "{}", detail.body);
    assert!(detail.body.contains("inputSchema"), "{}", detail.body);
    assert_eq!(ops.get("/ui/tools/default/keyed").status, 200);
    assert_eq!(ops.get("/ui/tools/default/nothing").status, 404);
    assert_eq!(ops.get("/ui/sessions").status, 200);

    let audit = ops.get("/ui/audit?tool=planted");
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("approved by token:ops"), "{}", audit.body);
    assert!(audit.body.contains("rejected by token:ops: not during the freeze"), "{}", audit.body);
    let rejected_only = ops.get("/ui/audit?tool=planted&decision=rejected");
    assert!(!rejected_only.body.contains("approved by token:ops"), "{}", rejected_only.body);
    let errors = ops.get("/ui/audit?outcome=error&caller=token%3Aagent");
    assert!(errors.body.contains("default/keyed") && !errors.body.contains("approved by"), "{}", errors.body);
    assert_eq!(ops.get("/ui/audit?decision=maybe").status, 400);
    let id = audit.body.split("href=\"/ui/audit/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let record = ops.get(&format!("/ui/audit/{id}"));
    assert_eq!(record.status, 200);
    assert!(record.body.contains("token:agent"), "{}", record.body);
    let json = ops.get("/ui/audit.json?tool=planted");
    assert_eq!(json.header("content-type"), Some("application/json"));
    let records: Vec<Value> = serde_json::from_str(&json.body).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().any(|r| r["arguments"]["note"] == SCRIPT), "{records:?}");
    let csv = ops.get("/ui/audit.csv?tool=planted");
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"), "{csv:?}");
    assert!(csv.body.starts_with("id,time,tool,caller,operation,decision,outcome"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);

    // Hosts and origins /mcp would refuse are refused here too.
    let evil_host = ops.send("GET", "/ui/approvals", &[], &[("Host", "evil.example")]);
    assert_eq!(evil_host.status, 403);
    let evil_origin = ops.send("POST", &approve, &[("csrf", &ops_csrf)], &[("Origin", "https://evil.example")]);
    assert_eq!(evil_origin.status, 403);
    let local_origin = format!("http://{}", gateway.addr);
    let ok_origin = ops.send("GET", "/ui/tools", &[], &[("Origin", &local_origin)]);
    assert_eq!(ok_origin.status, 200);

    // The assets are served from the binary, under the same policy.
    let css = ops.get("/ui/static/console.css");
    assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
    assert_eq!(ops.get("/ui/static/console.js").status, 200);

    // Signing out needs the CSRF token, and ends the session.
    assert_eq!(ops.post("/ui/logout", &[]).status, 403);
    let out = ops.post("/ui/logout", &[("csrf", &ops_csrf)]);
    assert_eq!((out.status, out.header("location")), (303, Some("/ui/login")));
    assert_eq!(ops.get("/ui/approvals").status, 303);

    assert!(!gateway.log().contains(&fixture.canary[..12]), "the log shows the canary");
}

#[test]
fn without_tokens_the_local_user_decides_on_loopback() {
    let fixture = Fixture::new();
    fixture.write("planted.yaml", &fixture_planted());
    let mut command = Command::new(BIN);
    command.arg("--tools").arg(&fixture.tools).arg("--state").arg(&fixture.state).env("USER", "tester");
    let gateway = Running::spawn(command, &["--stateless", "--approver", "local:tester"], "info,rmcp=warn");
    let mut me = Browser::new(&gateway, &fixture);

    // No sign-in: the first page starts a session for local:tester.
    let page = me.get("/ui/approvals");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("local:tester"), "{}", page.body);
    assert!(me.cookies.iter().any(|(n, _)| n == "toolkit_console"), "{:?}", page.headers);
    assert_eq!(me.get("/ui/login").status, 303);

    let call = call_planted(&gateway, None, "hello");
    let waiting = pending(&fixture, 0);
    let approve = format!("/ui/approvals/{}/approve", waiting.id);
    // A form posted without the session (so without its token) is refused.
    let mut other = Browser::new(&gateway, &fixture);
    assert_eq!(other.post(&approve, &[("csrf", "x")]).status, 403);
    let csrf = me.csrf();
    // Another site's form is refused even with the token; the browser's own form says
    // `Origin: null` (the pages' referrer policy is no-referrer) and goes through.
    let cross = me.send("POST", &approve, &[("csrf", &csrf)], &[("Sec-Fetch-Site", "cross-site")]);
    assert_eq!(cross.status, 403);
    let own = [("Origin", "null"), ("Sec-Fetch-Site", "same-origin")];
    assert_eq!(me.send("POST", &approve, &[("csrf", &csrf)], &own).status, 303);
    let reply = call.join().unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let audit = me.get("/ui/audit");
    assert!(audit.body.contains("approved by local:tester"), "{}", audit.body);
}

#[test]
fn a_scoped_token_sees_only_its_tools_requests_and_records() {
    let (fixture, tokens) = fixture();
    let gateway = start(&fixture, &tokens, &["--approver", "prod"]);
    let waiting = call_planted(&gateway, Some(AGENT), "default namespace");
    let request_one = pending(&fixture, 0);
    let mut prod = Browser::new(&gateway, &fixture);
    assert_eq!(prod.sign_in(PROD).status, 303);
    let tools = prod.get("/ui/tools");
    assert!(tools.body.contains("prod/echo") && !tools.body.contains("default/planted"), "{}", tools.body);
    assert_eq!(prod.get("/ui/tools/default/planted").status, 404);
    let approvals = prod.get("/ui/approvals");
    assert!(approvals.body.contains("No call is waiting for approval."), "{}", approvals.body);
    // An approver of its namespace only: a request for another is not found, as the tool is not.
    let csrf = prod.csrf();
    let approve = format!("/ui/approvals/{}/approve", request_one.id);
    assert_eq!(prod.post(&approve, &[("csrf", &csrf)]).status, 404);
    let mut ops = Browser::new(&gateway, &fixture);
    assert_eq!(ops.sign_in(&fixture.canary).status, 303);
    let ops_csrf = ops.csrf();
    assert_eq!(ops.post(&approve, &[("csrf", &ops_csrf)]).status, 303);
    assert_eq!(waiting.join().unwrap()["result"]["isError"], false);
    let audit = prod.get("/ui/audit");
    assert!(audit.body.contains("No record matches."), "{}", audit.body);
    let json: Vec<Value> = serde_json::from_str(&prod.get("/ui/audit.json").body).unwrap();
    assert!(json.is_empty(), "{json:?}");
}

#[test]
fn access_tokens_of_an_identity_provider_sign_in_until_they_expire() {
    let Some(provider) = common::oauth::Provider::start() else { return };
    let fixture = Fixture::new();
    let port = common::oauth::free_port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let listen = format!("127.0.0.1:{port}");
    let args = ["--stateless", "--listen", &listen, "--oauth-issuer", &provider.issuer, "--oauth-resource", &resource];
    let gateway = Running::start_logging(&fixture, &[&args[..], &["--approver", "oidc:alice"]].concat(), "info");
    let exp = chrono::Utc::now().timestamp() + 600;
    let claims = json!({"aud": resource, "sub": "alice", "client_id": "cli", "exp": exp});
    let token = provider.token(claims.clone());
    let mut alice = Browser::new(&gateway, &fixture);
    let signed = alice.sign_in(&token);
    assert_eq!(signed.status, 303, "{signed:?}\n{}", gateway.log());
    // The session ends when the access token does.
    let cookie = signed.headers.iter().find(|(n, v)| n == "set-cookie" && v.starts_with("toolkit_console=")).unwrap();
    let max_age: u64 = cookie.1.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!((590..=600).contains(&max_age), "{cookie:?}");
    let page = alice.get("/ui/approvals");
    assert!(page.body.contains("oidc:alice@cli") && page.body.contains("approver"), "{}", page.body);
    assert!(!page.body.contains(&token[..20]) && !gateway.log().contains(&token), "the token shows");

    let mut mallory = Browser::new(&gateway, &fixture);
    let wrong_audience = provider.token(json!({"aud": "https://elsewhere/mcp", "sub": "mallory", "exp": exp}));
    assert_eq!(mallory.sign_in(&wrong_audience).status, 401);
    let bob = provider.token(json!({"aud": resource, "sub": "bob", "client_id": "cli", "exp": exp}));
    assert_eq!(mallory.sign_in(&bob).status, 303);
    assert!(mallory.get("/ui/approvals").body.contains("read-only"));
}

#[test]
fn a_token_taken_out_of_the_tokens_file_signs_its_sessions_out() {
    let (fixture, tokens) = fixture();
    let gateway = start(&fixture, &tokens, &[]);
    let mut reader = Browser::new(&gateway, &fixture);
    assert_eq!(reader.sign_in(READER).status, 303);
    assert_eq!(reader.get("/ui/tools").status, 200);
    // The watcher starts right after the listener; an edit before it is in place goes unseen.
    let watching = Instant::now() + Duration::from_secs(10);
    while gateway.log().matches("watching manifests").count() < 2 {
        assert!(Instant::now() < watching, "the gateway never watched its files:\n{}", gateway.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&tokens).unwrap();
    let kept: String = text.split("  - name: reader").next().unwrap().to_owned();
    std::fs::write(&tokens, kept).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = reader.get("/ui/tools");
        if page.status == 303 {
            assert_eq!(page.header("location"), Some("/ui/login"));
            break;
        }
        assert!(Instant::now() < deadline, "the session outlived its token:\n{}", gateway.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_console_is_off_with_no_ui() {
    let fixture = Fixture::new();
    let gateway = Running::start(&fixture, &["--stateless", "--no-ui"]);
    assert_eq!(request(gateway.addr, "GET", "/ui/approvals", &[], "").status, 404);
    assert_eq!(request(gateway.addr, "GET", "/healthz", &[], "").status, 200);
}

#[test]
fn cookies_are_secure_behind_tls() {
    let (fixture, tokens) = fixture();
    let gateway = start(&fixture, &tokens, &["--behind-tls"]);
    let mut ops = Browser::new(&gateway, &fixture);
    let form = ops.get("/ui/login");
    assert!(form.header("set-cookie").unwrap().contains("; Secure"), "{form:?}");
    let signed = ops.sign_in(&fixture.canary);
    assert_eq!(signed.status, 303);
    assert!(signed.headers.iter().filter(|(n, _)| n == "set-cookie").all(|(_, v)| v.contains("; Secure")));
    assert_eq!(ops.get("/ui/tools").status, 200);
}

fn fixture_planted() -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: planted}}
spec:
  type: builtin
  description: \"{SCRIPT}\"
  builtin: {{name: noop}}
  inputSchema:
    type: object
    properties: {{note: {{type: string}}}}
  approval: {{required: always, timeout: 30s}}
"
    )
}

/// With `--console-client-id`, people sign in at the identity provider: authorization code with
/// PKCE S256, `state` bound to the browser, the gateway's resource asked for; the access token
/// the code gives is checked as `/mcp` checks one, and never kept.
#[test]
fn people_sign_in_at_the_identity_provider_with_pkce() {
    let Some(provider) = common::oauth::Provider::start() else { return };
    let fixture = Fixture::new();
    let port = common::oauth::free_port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--stateless",
        "--listen",
        &listen,
        "--oauth-issuer",
        &provider.issuer,
        "--oauth-resource",
        &resource,
        "--console-client-id",
        "toolkit-console",
        "--approver",
        "oidc:johndoe",
    ];
    let gateway = Running::start_logging(&fixture, &args, "info");
    let mut browser = Browser::new(&gateway, &fixture);
    let form = browser.get("/ui/login");
    assert!(
        form.body.contains("/ui/login/oidc?issuer=0") && form.body.contains("Sign in with localhost"),
        "{}",
        form.body
    );

    // To the provider, and back with a code for the state the browser holds.
    let start = browser.get("/ui/login/oidc?issuer=0");
    assert_eq!(start.status, 303, "{start:?}");
    let authorize = url::Url::parse(start.header("location").unwrap()).unwrap();
    let query: std::collections::HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["resource"], resource);
    assert_eq!(query["redirect_uri"], format!("http://127.0.0.1:{port}/ui/login/callback"));
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{redirect_url}", authorize.as_str()])
        .output()
        .unwrap();
    let back = url::Url::parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let callback = format!("{}?{}", back.path(), back.query().unwrap());

    // Another browser, without the state cookie, cannot use the code.
    let mut other = Browser::new(&gateway, &fixture);
    assert_eq!(other.get(&callback).status, 403);
    let landed = browser.get(&callback);
    assert_eq!(landed.status, 200, "{landed:?}\n{}", gateway.log());
    assert!(landed.body.contains("url=/ui/approvals"), "{}", landed.body);
    let page = browser.get("/ui/approvals");
    assert!(page.body.contains("oidc:johndoe@toolkit-console") && page.body.contains("approver"), "{}", page.body);
    // Used once: the same code and state again fail.
    assert_eq!(browser.get(&callback).status, 403);

    let logins = provider.post("/logins", &json!({}));
    let verifier = logins["tokens"][0]["code_verifier"].as_str().unwrap().to_owned();
    use base64::Engine as _;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(logins["authorizations"][0]["code_challenge"], challenge.as_str());
    assert_eq!(logins["tokens"][0]["client_id"], "toolkit-console");
    assert!(!gateway.log().contains(&verifier), "the verifier is in the log");
}

/// An approver pauses a running session from the sessions page, as `toolkit tool pause` does;
/// a reader gets no button and a 403.
#[test]
fn approvers_pause_sessions() {
    let (fixture, tokens) = fixture();
    let gateway = start(&fixture, &tokens, &[]);
    let tool = toolkit_core::ToolRef::new("default", "planted");
    let state = block_on(StateStore::open(&fixture.state)).unwrap();
    block_on(state.create_session("sess-1", &tool, "exec", std::process::id(), 600)).unwrap();
    // Its holder reports the terminal last used 90 seconds ago.
    let used = chrono::Utc::now() - chrono::Duration::seconds(90);
    block_on(state.heartbeat("sess-1", true, Some(used))).unwrap();

    let mut reader = Browser::new(&gateway, &fixture);
    assert_eq!(reader.sign_in(READER).status, 303);
    let page = reader.get("/ui/sessions");
    assert!(page.body.contains("sess-1") && !page.body.contains("/ui/sessions/sess-1/pause"), "{}", page.body);
    let csrf = reader.csrf();
    assert_eq!(reader.post("/ui/sessions/sess-1/pause", &[("csrf", &csrf)]).status, 403);

    let ops_token = fixture.canary.clone();
    let mut ops = Browser::new(&gateway, &fixture);
    assert_eq!(ops.sign_in(&ops_token).status, 303);
    let page = ops.get("/ui/sessions");
    assert!(page.body.contains(r#"action="/ui/sessions/sess-1/pause""#), "{}", page.body);
    assert!(
        page.body.contains("Idle for") && (page.body.contains("<td>90 s</td>") || page.body.contains("<td>91 s</td>")),
        "{}",
        page.body
    );
    assert_eq!(ops.post("/ui/sessions/sess-1/pause", &[]).status, 403, "no CSRF token");
    let csrf = ops.csrf();
    assert_eq!(ops.post("/ui/sessions/sess-1/pause", &[("csrf", &csrf)]).status, 303);
    let ended = block_on(state.sessions(true)).unwrap().into_iter().find(|s| s.id == "sess-1").unwrap();
    assert_eq!(ended.end_reason.as_deref(), Some("paused by token:ops"));
    assert!(!ops.get("/ui/sessions").body.contains("sess-1"));
}
