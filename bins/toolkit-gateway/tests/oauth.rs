//! The gateway as an OAuth 2.1 resource server, against a real OpenID provider
//! (`.ci/oauth/provider.mjs`: oauth2-mock-server, which signs JWTs with keys it generates and
//! serves discovery and the JWKS): tokens it signs are accepted, with the tools their claims
//! grant and `oidc:<sub>` in the audit; every kind of bad token gets 401 with the resource
//! metadata named; a missing scope gets 403; a rotated key is picked up; the official Python MCP
//! client calls a tool with a token; no token reaches a log or the audit.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::oauth::{Provider, free_port};
use common::process::{Running, mcp_request, request};
use common::{Fixture, noop_manifest, python_sdk};
use serde_json::{Value, json};
use toolkit_state::{AuditFilter, StateStore};

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn list(gateway: &Running, token: Option<&str>) -> common::process::Response {
    mcp_request(gateway.addr, token, "tools/list", json!({}))
}

fn names(response: &common::process::Response) -> Vec<String> {
    assert_eq!(response.status, 200, "{}", response.body);
    let mut names: Vec<String> = response.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn access_tokens_of_a_real_provider() {
    let Some(provider) = Provider::start() else { return };
    let fixture = Fixture::new();
    fixture.write("prod.yaml", &noop_manifest("prod", "echo"));
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let listen = format!("127.0.0.1:{port}");
    let gateway = Running::start_logging(
        &fixture,
        &[
            "--stateless",
            "--listen",
            &listen,
            "--oauth-issuer",
            &provider.issuer,
            "--oauth-resource",
            &resource,
            "--oauth-scope",
            "mcp:tools",
            "--oauth-claim",
            "groups",
            "--oauth-grant",
            "data=prod/*",
            "--oauth-grant",
            "ops=*/*",
            "--oauth-jwks-min-refresh",
            "1s",
        ],
        "debug,rmcp=debug",
    );
    let good =
        json!({"aud": resource, "sub": "alice", "client_id": "agent-1", "scope": "mcp:tools", "groups": ["data"]});
    let with = |extra: Value| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        claims
    };

    // The metadata, without a token; a 401 names it.
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let meta = request(gateway.addr, "GET", path, &[], "");
        assert_eq!(meta.status, 200, "{path}: {}", meta.body);
        let meta = meta.json();
        assert_eq!(meta["resource"], resource.as_str());
        assert_eq!(meta["authorization_servers"], json!([provider.issuer]));
        assert_eq!(meta["scopes_supported"], json!(["mcp:tools"]));
    }
    let none = list(&gateway, None);
    assert_eq!(none.status, 401);
    let challenge = none.header("www-authenticate").unwrap().to_owned();
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");

    // A good token: the tools its group grants; `ops` sees every tool.
    let alice = provider.token(good.clone());
    assert_eq!(names(&list(&gateway, Some(&alice))), ["prod__echo"]);
    let ops = provider.token(with(json!({"sub": "bob", "groups": "ops other"})));
    assert!(names(&list(&gateway, Some(&ops))).len() > 1);

    // Refused with 401 invalid_token.
    let now = chrono::Utc::now().timestamp();
    let header = |alg: &str| b64(&json!({"alg": alg, "typ": "JWT", "kid": "key-1"}));
    let payload = b64(
        &json!({"iss": provider.issuer, "aud": resource, "sub": "mallory", "scope": "mcp:tools", "groups": ["ops"], "exp": now + 600}),
    );
    let jwks: Value = serde_json::from_slice(
        &Command::new("curl").args(["-sf", &format!("{}/jwks", provider.issuer)]).output().unwrap().stdout,
    )
    .unwrap();
    let public = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
    let hs256 = {
        let key = jsonwebtoken::EncodingKey::from_secret(public.as_bytes());
        let claims = json!({"iss": provider.issuer, "aud": resource, "sub": "mallory", "scope": "mcp:tools", "groups": ["ops"], "exp": now + 600});
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
    };
    let tampered = {
        let parts: Vec<&str> = alice.split('.').collect();
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let unknown_kid = provider.post("/token", &json!({"claims": good, "header": {"kid": "key-404"}}))["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = [
        ("wrong audience", provider.token(with(json!({"aud": "http://127.0.0.1:1/mcp"})))),
        ("no audience", provider.token(with(json!({"aud": null})))),
        ("expired", provider.token(with(json!({"exp": now - 300, "nbf": now - 600})))),
        ("not yet valid", provider.token(with(json!({"nbf": now + 600})))),
        ("nbf as a string", provider.token(with(json!({"nbf": (now + 600).to_string()})))),
        ("another issuer", provider.token(with(json!({"iss": "http://127.0.0.1:1"})))),
        ("alg none", format!("{}.{payload}.", header("none"))),
        ("HS256 with the public key", hs256),
        ("tampered payload", tampered),
        ("unknown kid", unknown_kid),
        ("not a JWT", "opaque-0123456789abcdef".to_owned()),
        ("no subject", provider.token(with(json!({"sub": null})))),
    ];
    for (what, token) in &bad {
        let response = list(&gateway, Some(token));
        assert_eq!(response.status, 401, "{what}: {}", response.body);
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\"") && challenge.contains("resource_metadata="),
            "{what}: {challenge}"
        );
    }

    // Valid, but not enough: 403 insufficient_scope.
    for (what, claims) in
        [("no scope", with(json!({"scope": "other"}))), ("no group", with(json!({"groups": ["nobody"]})))]
    {
        let response = list(&gateway, Some(&provider.token(claims)));
        assert_eq!(response.status, 403, "{what}: {}", response.body);
        let challenge = response.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"mcp:tools\""),
            "{challenge}"
        );
    }

    // The provider rotates to a new key (another algorithm): its tokens are accepted once the
    // keys are fetched again.
    std::thread::sleep(Duration::from_millis(1100));
    for (alg, kid) in [("ES256", "key-2"), ("EdDSA", "key-3")] {
        provider.post("/rotate", &json!({"alg": alg, "kid": kid}));
        let rotated =
            provider.post("/token", &json!({"claims": good, "kid": kid}))["token"].as_str().unwrap().to_owned();
        assert_eq!(names(&list(&gateway, Some(&rotated))), ["prod__echo"], "{alg}");
        std::thread::sleep(Duration::from_millis(1100));
    }

    // Opaque tokens, introspected (RFC 7662) by a gateway that authenticates as a client.
    let client_secret = toolkit_testkit::canary();
    let mut command = Command::new(common::process::BIN);
    command
        .arg("--tools")
        .arg(&fixture.tools)
        .arg("--state")
        .arg(fixture.state.join("introspecting"))
        .env("TOOLKIT_OAUTH_CLIENT_SECRET", &client_secret);
    let introspection = format!("{}/oauth/introspect", provider.issuer);
    let opaque_gateway = Running::spawn(
        command,
        &[
            "--stateless",
            "--oauth-issuer",
            &provider.issuer,
            "--oauth-resource",
            &resource,
            "--oauth-claim",
            "groups",
            "--oauth-grant",
            "data=prod/*",
            "--oauth-introspection-url",
            &introspection,
            "--oauth-client-id",
            "toolkit-gw",
        ],
        "debug,rmcp=debug",
    );
    let opaque = |token: &str, claims: Value| {
        provider.post("/opaque", &json!({"token": token, "claims": claims}));
        token.to_owned()
    };
    let introspected =
        json!({"iss": provider.issuer, "aud": [resource, "other"], "sub": "carol", "groups": "data", "exp": now + 600});
    let carol = opaque("opaque-carol-0123456789", introspected.clone());
    let first = list(&opaque_gateway, Some(&carol));
    assert_eq!(first.status, 200, "{}", opaque_gateway.log());
    assert_eq!(names(&first), ["prod__echo"]);
    let asked = provider.post("/introspections", &json!({}));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("toolkit-gw:{client_secret}"));
    assert_eq!(asked["authorization"], format!("Basic {basic}"));
    assert_eq!(names(&list(&opaque_gateway, Some(&carol))), ["prod__echo"]);
    assert_eq!(provider.post("/introspections", &json!({}))["count"], asked["count"], "the answer is kept");
    let mut refused = vec![("unknown to the provider", "opaque-nobody-0123456789".to_owned())];
    let mut variant = |what: &'static str, token: &str, change: Value| {
        let mut claims = introspected.clone();
        claims.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        refused.push((what, opaque(token, claims)));
    };
    variant("another audience", "opaque-aud-0123456789", json!({"aud": "http://127.0.0.1:1/mcp"}));
    variant("expired", "opaque-exp-0123456789", json!({"exp": now - 300}));
    variant("another issuer", "opaque-iss-0123456789", json!({"iss": "http://127.0.0.1:1"}));
    variant("no subject", "opaque-sub-0123456789", json!({"sub": null}));
    for (what, token) in &refused {
        assert_eq!(list(&opaque_gateway, Some(token)).status, 401, "{what}");
    }
    assert!(!opaque_gateway.log().contains(&client_secret), "the client secret is in the log");
    assert!(!opaque_gateway.log().contains(&carol), "an opaque token is in the log");
    drop(opaque_gateway);

    // The official Python client calls a tool with a token.
    if python_sdk() {
        let script = r#"
import asyncio, contextlib, sys
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

@contextlib.asynccontextmanager
async def transport(url, token):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams

async def main(url, token):
    async with Client(transport(url, token), mode="legacy") as client:
        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        assert names == ["prod__echo"], names
        result = await client.call_tool("prod__echo", {})
        assert not result.is_error, result

asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;
        let out = Command::new("python3").args(["-c", script, &resource, &alice]).output().unwrap();
        assert!(out.status.success(), "python client: {}\n{}", String::from_utf8_lossy(&out.stderr), gateway.log());
    }

    // A tool whose upstream wants the caller's identity: the gateway exchanges the caller's
    // token (RFC 8693) and sends the upstream only the token it got back.
    let upstream_dir = tempfile::tempdir().unwrap();
    let mut receiver = Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel/receiver.py"))
        .arg(upstream_dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(receiver.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let upstream = serde_json::from_str::<Value>(&line).unwrap()["upstream"].as_str().unwrap().to_owned();
    let exchange_secret = toolkit_testkit::canary();
    fixture.write(
        "orders.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: orders, namespace: prod}}\nspec:\n  type: http\n  \
             description: The caller's orders.\n  http: {{url: \"{upstream}/orders\", method: GET}}\n  authentication:\n    \
             type: tokenExchange\n    tokenUrl: \"{}/oauth/token-exchange\"\n    clientId: toolkit-gw\n    \
             audience: https://orders.example.com\n    secretRef: {{name: exchange-client, key: secret}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: exchange-client, namespace: prod}}\nstringData: {{secret: {exchange_secret}}}\n",
            provider.issuer
        ),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !names(&list(&gateway, Some(&alice))).contains(&"prod__orders".to_owned()) {
        assert!(std::time::Instant::now() < deadline, "the new tool was not served: {}", gateway.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let call = |token: &str| {
        let params = json!({"name": "prod__orders", "arguments": {}});
        mcp_request(gateway.addr, Some(token), "tools/call", params).json()
    };
    for _ in 0..2 {
        let answer = call(&alice);
        assert_eq!(answer["result"]["isError"], false, "{answer}");
    }
    let exchanges = provider.post("/exchanges", &json!({}));
    assert_eq!(exchanges.as_array().unwrap().len(), 1, "one exchange, then the token is kept: {exchanges}");
    let exchange = &exchanges[0];
    assert_eq!(exchange["form"]["subject_token"], alice.as_str());
    assert_eq!(exchange["form"]["subject_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    assert_eq!(exchange["form"]["audience"], "https://orders.example.com");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("toolkit-gw:{exchange_secret}"));
    assert_eq!(exchange["authorization"], format!("Basic {basic}"));
    let seen = std::fs::read_to_string(upstream_dir.path().join("upstream.jsonl")).unwrap();
    let alice_signature = alice.rsplit('.').next().unwrap();
    assert!(!seen.contains(alice_signature), "the caller's token reached the upstream");
    let sent: Value = serde_json::from_str(seen.lines().next().unwrap()).unwrap();
    let upstream_token = sent["authorization"].as_str().unwrap().strip_prefix("Bearer ").unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(upstream_token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "https://orders.example.com");
    let _ = receiver.kill();
    let _ = receiver.wait();

    // The audit names the caller and its client; no token is in it or in the log.
    let audit = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let state = StateStore::open(&fixture.state).await.unwrap();
        state.audit(&AuditFilter::default()).await.unwrap()
    });
    let text = serde_json::to_string(&audit).unwrap();
    let log = gateway.log();
    if python_sdk() {
        assert!(audit.iter().any(|r| r.caller == "oidc:alice@agent-1" && r.tool.name == "echo"), "{text}");
    }
    for token in [&alice, &ops, &upstream_token] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token is in the log");
        assert!(!text.contains(signature), "a token is in the audit");
    }
    assert!(!log.contains(&exchange_secret) && !text.contains(&exchange_secret), "the client secret leaked");
}

/// An `mcp` tool whose server is a second gateway that wants the caller's identity: each caller's
/// token is exchanged (RFC 8693) for one with the second gateway's audience, each caller gets a
/// connection of its own, and the second gateway sees only exchanged tokens.
#[test]
fn mcp_tools_reach_their_server_as_the_caller() {
    let Some(provider) = Provider::start() else { return };
    let inner = Fixture::new();
    inner.write("prod.yaml", &noop_manifest("prod", "echo"));
    let inner_port = free_port();
    let inner_resource = format!("http://127.0.0.1:{inner_port}/mcp");
    let inner_listen = format!("127.0.0.1:{inner_port}");
    let inner_gateway = Running::start_logging(
        &inner,
        &["--listen", &inner_listen, "--oauth-issuer", &provider.issuer, "--oauth-resource", &inner_resource],
        "debug,rmcp=debug",
    );

    let outer = Fixture::new();
    let exchange_secret = toolkit_testkit::canary();
    outer.write(
        "remote.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: remote, namespace: prod}}\nspec:\n  type: mcp\n  \
             description: Echo, as the caller.\n  mcp: {{url: \"{inner_resource}\", toolName: prod__echo}}\n  authentication:\n    \
             type: tokenExchange\n    tokenUrl: \"{}/oauth/token-exchange\"\n    clientId: toolkit-gw\n    \
             audience: \"{inner_resource}\"\n    secretRef: {{name: exchange-client, key: secret}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: exchange-client, namespace: prod}}\nstringData: {{secret: {exchange_secret}}}\n",
            provider.issuer
        ),
    );
    let tokens = outer.tools.parent().unwrap().join("tokens.yaml");
    let static_token = "static-caller-token-0123456789";
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(static_token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    std::fs::write(&tokens, format!("tokens:\n  - name: robot\n    tokenSha256: {digest}\n")).unwrap();
    let outer_port = free_port();
    let outer_resource = format!("http://127.0.0.1:{outer_port}/mcp");
    let outer_listen = format!("127.0.0.1:{outer_port}");
    let tokens_arg = tokens.to_string_lossy().into_owned();
    let outer_gateway = Running::start_logging(
        &outer,
        &[
            "--stateless",
            "--listen",
            &outer_listen,
            "--oauth-issuer",
            &provider.issuer,
            "--oauth-resource",
            &outer_resource,
            "--tokens",
            &tokens_arg,
        ],
        "debug,rmcp=debug",
    );

    let alice = provider.token(json!({"aud": outer_resource, "sub": "alice", "client_id": "agent-1"}));
    let bob = provider.token(json!({"aud": outer_resource, "sub": "bob", "client_id": "agent-2"}));
    assert!(names(&list(&outer_gateway, Some(&alice))).contains(&"prod__remote".to_owned()));
    let call = |token: &str| {
        let params = json!({"name": "prod__remote", "arguments": {"n": 1}});
        mcp_request(outer_gateway.addr, Some(token), "tools/call", params).json()
    };
    for token in [&alice, &bob, &alice] {
        let answer = call(token);
        assert_eq!(answer["result"]["isError"], false, "{answer}\n{}\n{}", outer_gateway.log(), inner_gateway.log());
    }
    let exchanges = provider.post("/exchanges", &json!({}));
    let subjects: Vec<&str> =
        exchanges.as_array().unwrap().iter().map(|e| e["form"]["subject_token"].as_str().unwrap()).collect();
    assert_eq!(subjects, [alice.as_str(), bob.as_str()], "one exchange per caller, then the token is kept");
    assert_eq!(exchanges[0]["form"]["audience"], inner_resource.as_str());

    // A caller with a static token has no token to exchange: refused, saying why.
    let answer = call(static_token);
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("no OAuth access token"), "{text}");

    // The server saw the exchanged identity only; no caller token or secret is anywhere.
    let inner_audit = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let state = StateStore::open(&inner.state).await.unwrap();
        state.audit(&AuditFilter::default()).await.unwrap()
    });
    let calls: Vec<&str> = inner_audit.iter().filter(|r| r.tool.name == "echo").map(|r| r.caller.as_str()).collect();
    assert_eq!(calls.len(), 3, "{inner_audit:?}");
    assert!(calls.iter().all(|c| c.starts_with("oidc:exchanged-for-upstream")), "{calls:?}");
    let outer_audit = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let state = StateStore::open(&outer.state).await.unwrap();
        state.audit(&AuditFilter::default()).await.unwrap()
    });
    let everything = format!(
        "{}{}{}{}",
        serde_json::to_string(&inner_audit).unwrap(),
        serde_json::to_string(&outer_audit).unwrap(),
        inner_gateway.log(),
        outer_gateway.log()
    );
    for token in [&alice, &bob] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!everything.contains(signature), "a caller's token leaked");
    }
    assert!(!everything.contains(&exchange_secret), "the client secret leaked");
    assert!(!everything.contains(static_token), "the static token leaked");
}
