//! A real HTTP server started by each test (axum on 127.0.0.1:0) that records what it receives,
//! and http tools built against it.

#![allow(dead_code, reason = "each test crate uses a different part")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use toolkit_connector_http::HttpConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, ToolInstance};
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{Catalog, Tool, ToolSpec};

pub const NS: &str = "tk-test";

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct Log {
    pub requests: Mutex<Vec<Seen>>,
    pub token_hits: AtomicUsize,
    /// Whether `/switch` answers 503.
    pub down: AtomicBool,
}

pub struct Server {
    pub base: String,
    pub log: Arc<Log>,
}

impl Server {
    pub async fn start() -> Self {
        let log = Arc::new(Log::default());
        let app = axum::Router::new().fallback(handle).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, log }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.requests.lock().unwrap().clone()
    }

    /// Requests whose path and query are `target`.
    pub fn count(&self, target: &str) -> usize {
        self.requests().iter().filter(|r| r.target == target).count()
    }

    pub fn last(&self) -> Seen {
        self.requests().pop().expect("the server received no request")
    }
}

async fn handle(State(log): State<Arc<Log>>, req: Request) -> Response {
    let method = req.method().to_string();
    let target = req.uri().path_and_query().map(ToString::to_string).unwrap_or_default();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default().to_vec();
    log.requests.lock().unwrap().push(Seen {
        method,
        target: target.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let reply = |status: u16, ct: &str, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header(header::SERVER, "test-server/1.0")
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap()
    };
    match path.as_str() {
        "/token" => {
            let n = log.token_hits.fetch_add(1, Ordering::SeqCst) + 1;
            let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
            if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
                return reply(400, "application/json", br#"{"error":"unsupported_grant_type"}"#.to_vec());
            }
            let token = json!({"access_token": format!("token-{n}"), "token_type": "Bearer", "expires_in": 3600});
            reply(200, "application/json", token.to_string().into_bytes())
        }
        "/big" => reply(200, "text/plain", vec![b'x'; 100_000]),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            reply(200, "text/plain", b"late".to_vec())
        }
        "/headers" => {
            let echoed: Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_str().unwrap_or_default().to_owned())))
                .collect();
            reply(200, "application/json", Value::Object(echoed).to_string().into_bytes())
        }
        // `/leak/HOW`: answers with the bearer token it was sent, in the form HOW names:
        // `b64` (base64), `json` (inside a JSON string, escaped), `tail` (at the end of 1000
        // bytes of padding, for a cap that cuts it).
        p if p.starts_with("/leak/") => {
            use base64::Engine as _;
            let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let token = auth.trim_start_matches("Bearer ");
            match p.trim_start_matches("/leak/") {
                "b64" => reply(200, "text/plain", base64::engine::general_purpose::STANDARD.encode(token).into_bytes()),
                "json" => reply(200, "application/json", json!({"echo": token}).to_string().into_bytes()),
                _ => reply(200, "text/plain", format!("{}{token}", "x".repeat(1000)).into_bytes()),
            }
        }
        "/redirect-same" => {
            Response::builder().status(302).header(header::LOCATION, "/json").body(Body::empty()).unwrap()
        }
        p if p.starts_with("/redirect-to/") => {
            let to = p.trim_start_matches("/redirect-to/").replace('!', "/");
            Response::builder().status(302).header(header::LOCATION, to).body(Body::empty()).unwrap()
        }
        // `/flaky/KEY/N/CODE`: CODE for the first N requests of this path, then 200. The query
        // may ask for `Retry-After` in seconds (`secs=`) or as a date that many seconds ahead
        // (`date=`).
        p if p.starts_with("/flaky/") => {
            let parts: Vec<&str> = p.split('/').collect();
            let (n, code): (usize, u16) = (parts[3].parse().unwrap(), parts[4].parse().unwrap());
            let seen = log.requests.lock().unwrap().iter().filter(|r| r.target.split('?').next() == Some(p)).count();
            if seen > n {
                return reply(200, "application/json", json!({"ok": true, "attempt": seen}).to_string().into_bytes());
            }
            let mut r = reply(code, "text/plain", format!("failure {seen}").into_bytes());
            let query: BTreeMap<String, String> =
                url::form_urlencoded::parse(target.split('?').nth(1).unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            if let Some(secs) = query.get("secs") {
                r.headers_mut().insert(header::RETRY_AFTER, secs.parse().unwrap());
            }
            if let Some(secs) = query.get("date") {
                let at = std::time::SystemTime::now() + Duration::from_secs(secs.parse().unwrap());
                r.headers_mut().insert(header::RETRY_AFTER, httpdate::fmt_http_date(at).parse().unwrap());
            }
            r
        }
        "/switch" if log.down.load(Ordering::SeqCst) => reply(503, "text/plain", b"down".to_vec()),
        p if p.starts_with("/status/") => {
            let code = p.trim_start_matches("/status/").parse().unwrap_or(500);
            let mut r = reply(code, "text/plain", b"something went wrong\nsecond line".to_vec());
            if code == 429 {
                r.headers_mut().insert(header::RETRY_AFTER, "7".parse().unwrap());
            }
            r
        }
        _ => reply(200, "application/json", json!({"ok": true, "path": path}).to_string().into_bytes()),
    }
}

/// A tool of `spec`, with `secrets` (name → key → value) and ConfigMaps from `config_maps` YAML.
pub struct Fixture {
    pub canary: String,
}

impl Fixture {
    pub fn new() -> Self {
        Self { canary: toolkit_testkit::canary() }
    }

    pub fn tool(&self, spec: Value) -> Arc<dyn ToolInstance> {
        self.tool_with(spec, &[])
    }

    pub fn tool_with(&self, spec: Value, extra_secrets: &[(&str, &str)]) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(spec).unwrap();
        let mut errs = toolkit_core::validate::validate_spec(&spec);
        errs.extend(HttpConnector.validate(&spec));
        assert_eq!(errs, vec![]);
        let mut tool = Tool::new("api", spec);
        tool.metadata.namespace = Some(NS.into());
        let mut store = SecretStore::default();
        let mut data = BTreeMap::from([("token".to_owned(), SecretString::new(self.canary.clone()))]);
        for (k, v) in extra_secrets {
            data.insert((*k).to_owned(), SecretString::new(*v));
        }
        store.insert(NS, "api", data);
        let mut catalog = Catalog::default();
        catalog.add_text(
            Path::new("config.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: api-settings, namespace: {NS}}}\ndata: {{org: acme}}\n"),
        );
        let ctx = BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "api".into(),
            secrets: Arc::new(store),
            config_maps: Arc::new(catalog.config_maps),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        };
        HttpConnector.build(ctx).unwrap()
    }

    pub async fn call(&self, tool: &Arc<dyn ToolInstance>, args: Value) -> toolkit_core::Result<(Value, bool)> {
        self.call_limited(tool, args, CallLimits::default()).await
    }

    pub async fn call_limited(
        &self,
        tool: &Arc<dyn ToolInstance>,
        args: Value,
        limits: CallLimits,
    ) -> toolkit_core::Result<(Value, bool)> {
        let arguments = args.as_object().cloned().unwrap_or_default();
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        let text = match &result {
            Ok(out) => format!("{out:?}"),
            Err(e) => format!("{e} {e:?}"),
        };
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
        result.map(|o| (o.content, o.truncated))
    }
}

pub fn props(names: &[&str]) -> Value {
    let p: Map<String, Value> = names.iter().map(|n| ((*n).to_owned(), json!({}))).collect();
    json!({"type": "object", "properties": p})
}

pub fn secret_ref(key: &str) -> Value {
    json!({"name": "api", "key": key})
}
