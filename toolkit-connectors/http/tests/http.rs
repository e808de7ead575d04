//! Requests, credentials, caps, redirects and errors, against a real HTTP server started in each
//! test that records what it receives.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::http::header;
use base64::Engine as _;
use common::{Fixture, Server, props, secret_ref};
use serde_json::{Value, json};
use toolkit_core::ErrorKind;
use toolkit_core::connector::CallLimits;

#[tokio::test]
async fn url_values_are_percent_encoded() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({
        "type": "http",
        "inputSchema": props(&["id", "q"]),
        "http": {"url": format!("{}/items/{{id}}?q={{q}}", server.base)}
    }));
    let cases = [
        ("a&b=c", "#frag", "/items/a%26b%3Dc?q=%23frag"),
        ("../x", "ü ß", "/items/..%2Fx?q=%C3%BC%20%C3%9F"),
        ("?admin=1", "/etc/passwd", "/items/%3Fadmin%3D1?q=%2Fetc%2Fpasswd"),
    ];
    for (id, q, expected) in cases {
        let (result, _) = fx.call(&tool, json!({"id": id, "q": q})).await.unwrap();
        assert_eq!(result["status"], 200);
        assert_eq!(server.last().target, expected);
    }
    let err = fx.call(&tool, json!({"id": "x"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn rendered_bodies_stay_valid_json() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({
        "type": "http",
        "inputSchema": props(&["name", "n"]),
        "http": {
            "url": format!("{}/create", server.base),
            "method": "POST",
            "body": r#"{"name": "{{.input.name}}", "n": {{.input.n}}, "key": "{{.key}}", "org": "{{.org}}"}"#,
            "bodyParameters": [
                {"name": "key", "valueFrom": {"secretKeyRef": secret_ref("token")}},
                {"name": "org", "valueFrom": {"configMapKeyRef": {"name": "api-settings", "key": "org"}}}
            ]
        }
    }));
    for name in [r#"x", "admin": true, "y": ""#, r#"\"}, "admin": true"#, "back\\slash \"quoted\" \n newline", "\"}"] {
        let (result, _) = fx.call(&tool, json!({"name": name, "n": 3})).await.unwrap();
        assert_eq!(result["body"]["ok"], true);
        let seen = server.last();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.headers[header::CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(body["name"], name);
        assert_eq!(body["n"], 3);
        assert_eq!(body["key"], fx.canary.as_str());
        assert_eq!(body["org"], "acme");
        assert!(body.get("admin").is_none());
    }
}

#[tokio::test]
async fn arguments_go_to_the_query_or_a_json_body() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let get = fx.tool(json!({
        "type": "http",
        "inputSchema": props(&["id", "q", "tags"]),
        "http": {"url": format!("{}/items/{{id}}", server.base),
                 "headers": [{"name": "X-Org", "value": {"valueFrom": {"configMapKeyRef": {"name": "api-settings", "key": "org"}}}}]}
    }));
    fx.call(&get, json!({"id": "7", "q": "a b&c", "tags": ["x", "y"]})).await.unwrap();
    let seen = server.last();
    assert_eq!(seen.target, "/items/7?q=a+b%26c&tags=x&tags=y");
    assert_eq!(seen.headers["x-org"], "acme");

    let post = fx.tool(json!({
        "type": "http",
        "inputSchema": props(&["id", "title", "done"]),
        "http": {"url": format!("{}/items/{{id}}", server.base), "method": "PATCH"}
    }));
    fx.call(&post, json!({"id": "7", "title": "a \"b\"", "done": true})).await.unwrap();
    let seen = server.last();
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("PATCH", "/items/7"));
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body, json!({"title": "a \"b\"", "done": true}));
}

#[tokio::test]
async fn each_auth_scheme_sends_its_header() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let url = format!("{}/json", server.base);
    let cases = [
        (json!({"type": "bearer", "secretRef": secret_ref("token")}), "authorization", format!("Bearer {}", fx.canary)),
        (
            json!({"type": "bearer", "secretRef": secret_ref("token"), "headerName": "X-Auth"}),
            "x-auth",
            format!("Bearer {}", fx.canary),
        ),
        (
            json!({"type": "basic", "username": "agent", "secretRef": secret_ref("token")}),
            "authorization",
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("agent:{}", fx.canary))),
        ),
        (json!({"type": "apiKey", "secretRef": secret_ref("token")}), "x-api-key", fx.canary.clone()),
        (
            json!({"type": "apiKey", "secretRef": secret_ref("token"), "headerName": "Api-Token"}),
            "api-token",
            fx.canary.clone(),
        ),
    ];
    for (auth, header_name, expected) in cases {
        let tool = fx.tool(json!({"type": "http", "http": {"url": url}, "authentication": auth}));
        fx.call(&tool, json!({})).await.unwrap();
        assert_eq!(server.last().headers[header_name], expected.as_str(), "{auth}");
    }

    // The upstream echoing the credential back does not put it in the result.
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/headers", server.base)},
                              "authentication": {"type": "bearer", "secretRef": secret_ref("token")}}));
    let (result, _) = fx.call(&tool, json!({})).await.unwrap();
    assert_eq!(result["body"]["authorization"], "Bearer [redacted]");
}

#[tokio::test]
async fn oauth2_tokens_are_fetched_once_and_reused() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({
        "type": "http",
        "http": {"url": format!("{}/json", server.base)},
        "authentication": {"type": "oauth2", "tokenUrl": format!("{}/token", server.base), "clientId": "toolkit",
                           "secretRef": secret_ref("token"), "scopes": ["read", "write"]}
    }));
    fx.call(&tool, json!({})).await.unwrap();
    fx.call(&tool, json!({})).await.unwrap();
    assert_eq!(server.log.token_hits.load(Ordering::SeqCst), 1);
    let requests = server.requests();
    let token_request = &requests[0];
    assert_eq!((token_request.method.as_str(), token_request.target.as_str()), ("POST", "/token"));
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&token_request.body).into_owned().collect();
    assert_eq!(form["client_id"], "toolkit");
    assert_eq!(form["client_secret"], fx.canary);
    assert_eq!(form["scope"], "read write");
    for r in &requests[1..] {
        assert_eq!(r.headers[header::AUTHORIZATION], "Bearer token-1");
    }
    assert_eq!(requests.len(), 3);
}

#[tokio::test]
async fn header_values_with_line_breaks_are_refused() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool_with(
        json!({"type": "http", "http": {"url": format!("{}/json", server.base),
               "headers": [{"name": "X-Token", "value": {"valueFrom": {"secretKeyRef": secret_ref("bad")}}}]}}),
        &[("bad", "abc\r\nX-Injected: yes")],
    );
    let err = fx.call(&tool, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!err.to_string().contains("X-Injected"));
    let bearer = fx.tool_with(
        json!({"type": "http", "http": {"url": format!("{}/json", server.base)},
               "authentication": {"type": "bearer", "secretRef": secret_ref("bad")}}),
        &[("bad", "token\n")],
    );
    assert_eq!(fx.call(&bearer, json!({})).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn responses_are_cut_at_the_cap() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool =
        fx.tool(json!({"type": "http", "http": {"url": format!("{}/big", server.base), "maxResponseBytes": 1000}}));
    let (result, truncated) = fx.call(&tool, json!({})).await.unwrap();
    assert!(truncated);
    assert_eq!(result["body"].as_str().unwrap().len(), 1000);
    let limits = CallLimits { max_output_bytes: 100, ..CallLimits::default() };
    let (result, truncated) = fx.call_limited(&tool, json!({}), limits).await.unwrap();
    assert!(truncated && result["body"].as_str().unwrap().len() == 100);

    let json_tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/json", server.base)}}));
    let (result, truncated) = fx.call(&json_tool, json!({})).await.unwrap();
    assert!(!truncated);
    assert_eq!(result["body"], json!({"ok": true, "path": "/json"}));
    assert_eq!(result["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn redirects_stay_on_the_same_host() {
    let server = Server::start().await;
    let other = Server::start().await;
    let fx = Fixture::new();
    let same = fx.tool(json!({"type": "http", "http": {"url": format!("{}/redirect-same", server.base)}}));
    let (result, _) = fx.call(&same, json!({})).await.unwrap();
    assert_eq!(result["body"]["path"], "/json");

    // `localhost` is another host name than `127.0.0.1`, whatever it resolves to.
    let port = other.base.rsplit(':').next().unwrap();
    let target = format!("http:!!localhost:{port}!steal");
    let away = fx.tool(json!({"type": "http", "http": {"url": format!("{}/redirect-to/{target}", server.base)},
                              "authentication": {"type": "apiKey", "secretRef": secret_ref("token")}}));
    let err = fx.call(&away, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(other.requests().is_empty());
}

#[tokio::test]
async fn failures_are_classified() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let status_tool =
        |code: u16| fx.tool(json!({"type": "http", "http": {"url": format!("{}/status/{code}", server.base)}}));
    let err = fx.call(&status_tool(404), json!({})).await.unwrap_err();
    assert_eq!((err.kind(), err.message()), (ErrorKind::Upstream, "upstream answered 404 Not Found"));
    assert_eq!(err.context_value("body"), Some("something went wrong; second line"));
    let err = fx.call(&status_tool(501), json!({})).await.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Upstream, false));
    assert!(fx.call(&status_tool(503), json!({})).await.unwrap_err().is_retryable());
    assert_eq!(fx.call(&status_tool(401), json!({})).await.unwrap_err().kind(), ErrorKind::Auth);
    let err = fx.call(&status_tool(429), json!({})).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.is_retryable(), err.context_value("retry-after")),
        (ErrorKind::Denied, true, Some("7"))
    );

    let slow = fx.tool(json!({"type": "http", "timeout": "300ms", "http": {"url": format!("{}/slow", server.base)}}));
    let err = fx.call(&slow, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"type": "http", "http": {"url": format!("http://127.0.0.1:{port}/")}}));
    let err = fx.call(&gone, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");

    // TLS spoken to a plain HTTP server fails in the handshake.
    let tls = fx.tool(json!({"type": "http", "http": {"url": server.base.replace("http://", "https://")}}));
    let err = fx.call(&tls, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn probe_reports_status_and_server() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/v1/things", server.base)},
                              "probe": {"path": "/healthz"}}));
    let report = tool.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.server_version.as_deref(), Some("test-server/1.0"));
    assert_eq!(report.details["status"], "200");
    assert_eq!(server.last().target, "/healthz");

    let missing = fx.tool(json!({"type": "http", "http": {"url": format!("{}/status/404", server.base)},
                                 "probe": {"path": "/status/404"}}));
    assert_eq!(missing.probe().unwrap().probe().await.unwrap().details["status"], "404");
    let broken =
        fx.tool(json!({"type": "http", "http": {"url": server.base.clone()}, "probe": {"path": "/status/502"}}));
    assert_eq!(broken.probe().unwrap().probe().await.unwrap_err().kind(), ErrorKind::Upstream);
}

#[tokio::test]
async fn sessions_run_requests_against_the_origin() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({"type": "http", "readOnly": true, "http": {"url": format!("{}/v1/x", server.base)},
                              "authentication": {"type": "bearer", "secretRef": secret_ref("token")}}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let base = env.iter().find(|e| e.name == "HTTP_BASE_URL").unwrap();
    assert_eq!(base.value.to_string(), server.base);
    let auth = env.iter().find(|e| e.name == "HTTP_AUTHORIZATION").unwrap();
    assert_eq!(auth.value.to_string(), "[redacted]");
    assert_eq!(auth.value.expose(), format!("Bearer {}", fx.canary));
    assert!(!format!("{env:?}").contains(&fx.canary));

    let limits = CallLimits::default();
    let out = session.exec(&["GET /v1/items?x=1".into()], &limits).await.unwrap();
    assert_eq!(out.content["body"]["path"], "/v1/items");
    assert_eq!(server.last().headers[header::AUTHORIZATION], format!("Bearer {}", fx.canary).as_str());
    let err = session.exec(&["GET".into(), "//evil.example/x".into()], &limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = session.exec(&["POST".into(), "/v1/items".into(), "{}".into()], &limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let server = Server::start().await;
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &toolkit_connector_http::HttpConnector,
        spec: json!({
            "type": "http",
            "http": {"url": format!("{}/json", server.base)},
            "authentication": {"type": "bearer", "secretRef": {"name": "api", "key": "token"}},
        }),
        secrets: vec![("api".into(), "token".into(), canary.clone())],
        canary,
        // The test server takes any token; refused ones are covered by the 401 tests above.
        password: None,
        endpoint: Some(|spec, host, port| spec["http"]["url"] = json!(format!("http://{host}:{port}/json"))),
        // A server that accepts and never answers is bounded by the call's time.
        timeout: Some(toolkit_testkit::behaviour::set_tool_timeout),
        require_tls: Some(|spec| {
            let url = spec["http"]["url"].as_str().unwrap_or_default().replacen("http://", "https://", 1);
            spec["http"]["url"] = json!(url);
        }),
        call: None,
    }
    .run()
    .await;
}

#[tokio::test]
async fn a_secret_echoed_encoded_or_cut_is_redacted() {
    let server = Server::start().await;
    let fx = Fixture::new();
    // A token with characters JSON escapes: the escaped form must be caught as well.
    let tricky = format!("{}\"q\\b", fx.canary);
    let bearer = |how: &str, extra: Value| {
        let mut spec = json!({"type": "http", "http": {"url": format!("{}/leak/{how}", server.base)},
                              "authentication": {"type": "bearer", "secretRef": secret_ref("tricky")}});
        json_patch(&mut spec, extra);
        fx.tool_with(spec, &[("tricky", &tricky)])
    };
    let (result, _) = fx.call(&bearer("b64", json!({})), json!({})).await.unwrap();
    let text = result.to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&tricky);
    assert!(!text.contains(&b64[..24]), "{text}");
    assert!(text.contains("[redacted]"), "{text}");

    let (result, _) = fx.call(&bearer("json", json!({})), json!({})).await.unwrap();
    assert_eq!(result["body"]["echo"], "[redacted]");

    // A cap that cuts the token in the middle: the part that is left is redacted too.
    let capped = bearer("tail", json!({"http": {"maxResponseBytes": 1020}}));
    let (result, truncated) = fx.call(&capped, json!({})).await.unwrap();
    assert!(truncated);
    let body = result["body"].as_str().unwrap();
    assert!(!body.contains(&fx.canary[..12]), "{body}");
}

#[tokio::test]
async fn arguments_go_only_where_the_tool_declares() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/json?scope=team", server.base)},
                              "inputSchema": props(&["q"])}));
    fx.call(&tool, json!({"q": "a"})).await.unwrap();
    assert_eq!(server.last().target, "/json?scope=team&q=a");
    // Undeclared, and one that would replace what the URL fixes: refused, nothing sent.
    let before = server.requests().len();
    for args in [json!({"q": "a", "admin": true}), json!({"scope": "all"})] {
        let err = fx.call(&tool, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{args}: {err}");
    }
    let open =
        fx.tool(json!({"type": "http", "http": {"url": format!("{}/json", server.base), "extraArguments": "all"}}));
    fx.call(&open, json!({"any": 1})).await.unwrap();
    assert_eq!(server.last().target, "/json?any=1");
    let closed = fx
        .tool(json!({"type": "http", "http": {"url": format!("{}/json", server.base), "extraArguments": "none"},
                       "inputSchema": props(&["q"])}));
    assert_eq!(fx.call(&closed, json!({"q": "a"})).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(server.requests().len(), before + 1);

    // A path placeholder cannot climb out of its segment.
    let path = fx.tool(json!({"type": "http", "http": {"url": format!("{}/items/{{id}}", server.base)},
                              "inputSchema": props(&["id"])}));
    for id in ["..", ".", "", "../admin", "a/b"] {
        match fx.call(&path, json!({"id": id})).await {
            Err(err) => assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id}: {err}"),
            Ok(_) => assert!(server.last().target.starts_with("/items/"), "{id}: {}", server.last().target),
        }
    }
    assert!(server.requests().iter().all(|r| !r.target.contains("admin") || r.target.starts_with("/items/")));
}

#[tokio::test]
async fn redirects_follow_the_tools_rule() {
    let server = Server::start().await;
    let other = Server::start().await;
    let fx = Fixture::new();
    // Same host, another port: another origin, refused by default.
    let target = format!("{}!headers", other.base.replace('/', "!"));
    let spec = |redirects: Option<&str>| {
        let mut http = json!({"url": format!("{}/redirect-to/{target}", server.base),
                              "headers": [{"name": "X-Api-Key", "value": {"valueFrom": {"secretKeyRef": secret_ref("token")}}},
                                          {"name": "X-Plain", "value": {"value": "kept"}}]});
        if let Some(r) = redirects {
            http["redirects"] = json!(r);
        }
        json!({"type": "http", "http": http, "authentication": {"type": "bearer", "secretRef": secret_ref("token")}})
    };
    let err = fx.call(&fx.tool(spec(None)), json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(other.requests().is_empty());
    // `none`: the redirect is the answer.
    assert!(fx.call(&fx.tool(spec(Some("none"))), json!({})).await.is_err());
    assert!(other.requests().is_empty());
    // `any`: followed, without the credential.
    let (result, _) = fx.call(&fx.tool(spec(Some("any"))), json!({})).await.unwrap();
    assert!(result["body"].get("authorization").is_none(), "{result}");
    assert!(result["body"].get("x-api-key").is_none(), "{result}");
    assert_eq!(result["body"]["x-plain"], "kept");
    assert_eq!(other.requests().len(), 1);
}

fn json_patch(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                json_patch(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}
