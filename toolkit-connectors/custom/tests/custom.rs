//! The three check kinds against servers and programs the tests start themselves: a tiny HTTP
//! server on loopback, a TCP listener, and `sh` commands. No service is needed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use toolkit_connector_custom::CustomConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

/// Answers `GET /ok` 200, `/moved` 302, `/auth` 401 and anything else 500.
async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let status = match path {
                    "/ok" => "200 OK",
                    "/moved" => "302 Found\r\nLocation: /elsewhere",
                    "/auth" => "401 Unauthorized",
                    _ => "500 Internal Server Error",
                };
                let reply =
                    format!("HTTP/1.1 {status}\r\nServer: tiny/1.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Fixture {
    canary: String,
}

impl Fixture {
    fn new() -> Self {
        Self { canary: toolkit_testkit::canary() }
    }

    fn spec(&self, config: Value) -> Value {
        let mut base = json!({
            "hostname": "127.0.0.1", "port": 4000, "username": "agent",
            "credentialsRef": {"name": "custom-cred", "key": "password"},
            "env": {"APP_MODE": "probe"}, "connectTimeout": "2s"
        });
        base.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
        json!({"type": "custom", "config": base})
    }

    fn tool(&self, config: Value) -> Arc<dyn ToolInstance> {
        self.build(self.spec(config))
    }

    fn build(&self, spec: Value) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(spec).unwrap();
        assert_eq!(CustomConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        store.insert(NS, "custom-cred", BTreeMap::from([("password".to_owned(), SecretString::new(&self.canary))]));
        let mut tool = Tool::new("thing", spec);
        tool.metadata.namespace = Some(NS.into());
        CustomConnector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NS.into(),
                name: "thing".into(),
                secrets: Arc::new(store),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
            })
            .unwrap()
    }

    async fn probe(&self, config: Value) -> toolkit_core::Result<toolkit_core::connector::ProbeReport> {
        let tool = self.tool(config);
        let result = tool.probe().expect("a tool with a check has a probe").probe().await;
        let text = match &result {
            Ok(r) => format!("{r:?}"),
            Err(e) => {
                assert!(!e.to_string().contains('\n'), "not one line: {e}");
                format!("{e} {e:?}")
            }
        };
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
        result
    }
}

#[tokio::test]
async fn http_checks_pass_on_2xx_and_3xx() {
    let fx = Fixture::new();
    let port = http_server().await;
    let report = fx.probe(json!({"check": {"http": format!("http://127.0.0.1:{port}/ok")}})).await.unwrap();
    assert_eq!(report.server_version.as_deref(), Some("tiny/1.0"));
    assert_eq!(report.details["status"], "200");
    let report = fx.probe(json!({"check": {"http": format!("http://127.0.0.1:{port}/moved")}})).await.unwrap();
    assert_eq!(report.details["status"], "302");
}

#[tokio::test]
async fn http_checks_fail_with_a_kind() {
    let fx = Fixture::new();
    let port = http_server().await;
    let err = fx.probe(json!({"check": {"http": format!("http://127.0.0.1:{port}/boom?token=x")}})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    assert!(err.to_string().contains("500") && !err.to_string().contains("token"), "{err}");
    let err = fx.probe(json!({"check": {"http": format!("http://127.0.0.1:{port}/auth")}})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    let err = fx.probe(json!({"check": {"http": format!("http://127.0.0.1:{}/ok", closed_port())}})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    // https demanded from a plain server.
    let err = fx.probe(json!({"check": {"http": format!("https://127.0.0.1:{port}/ok")}})).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unreachable | ErrorKind::Timeout), "{err}");
}

#[tokio::test]
async fn tcp_checks() {
    let fx = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let report = fx.probe(json!({"check": {"tcp": format!("127.0.0.1:{port}")}})).await.unwrap();
    assert_eq!(report.details["address"], format!("127.0.0.1:{port}"));
    let err = fx.probe(json!({"check": {"tcp": format!("127.0.0.1:{}", closed_port())}})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn command_checks_get_the_env_and_the_credential() {
    let fx = Fixture::new();
    let ok = json!({"check": {"command": ["sh", "-c",
        "test \"$APP_MODE\" = probe && test -n \"$TOOLKIT_PASSWORD\" && test \"$TOOLKIT_HOST:$TOOLKIT_PORT:$TOOLKIT_USER\" = 127.0.0.1:4000:agent"]}});
    assert_eq!(fx.probe(ok).await.unwrap().details["exitCode"], "0");

    let fails = json!({"check": {"command": ["sh", "-c", "echo \"login as $TOOLKIT_USER with $TOOLKIT_PASSWORD refused\" >&2; exit 1"]}});
    let err = fx.probe(fails).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    let text = err.to_string();
    assert!(text.contains("exited with status 1") && text.contains("login as agent with [redacted] refused"), "{text}");

    let started = Instant::now();
    let err = fx.probe(json!({"check": {"command": ["sleep", "5"]}, "connectTimeout": "1s"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    let err = fx.probe(json!({"check": {"command": ["/nonexistent/program"]}})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn tools_without_a_check_have_no_probe_and_no_calls() {
    let fx = Fixture::new();
    let tool = fx.tool(json!({}));
    assert!(tool.probe().is_none());
    assert!(tool.invoker().is_none());
    assert!(tool.permissions().is_none());
}

#[tokio::test]
async fn sessions_carry_the_env_and_run_local_commands() {
    let fx = Fixture::new();
    let tool = fx.tool(json!({}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let debug = format!("{env:?}");
    assert!(!debug.contains(&fx.canary), "{debug}");
    let by_name: BTreeMap<&str, String> = env.iter().map(|e| (e.name.as_str(), e.value.to_string())).collect();
    assert_eq!(by_name["APP_MODE"], "probe");
    assert_eq!(by_name["TOOLKIT_HOST"], "127.0.0.1");
    assert_eq!(by_name["TOOLKIT_PORT"], "4000");
    assert_eq!(by_name["TOOLKIT_USER"], "agent");
    assert_eq!(by_name["TOOLKIT_PASSWORD"], "[redacted]");
    assert_eq!(env.iter().find(|e| e.name == "TOOLKIT_PASSWORD").unwrap().value.expose(), fx.canary);
    assert!(session.client().is_none());

    let argv = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out =
        session.exec(&argv(&["sh", "-c", "echo $APP_MODE $TOOLKIT_PASSWORD"]), &CallLimits::default()).await.unwrap();
    assert_eq!(out.content["stdout"], "probe [redacted]\n");
    assert_eq!(out.content["exit_code"], 0);
    let limits = CallLimits { max_output_bytes: 10, ..CallLimits::default() };
    let out = session.exec(&argv(&["sh", "-c", "seq 1 1000"]), &limits).await.unwrap();
    assert!(out.truncated && out.content["stdout"].as_str().unwrap().len() <= 10);

    // A read-only tool's session runs only commands the shell classifier calls read.
    let mut spec = fx.spec(json!({}));
    spec["readOnly"] = json!(true);
    let ro = fx.build(spec);
    let session = ro.open_session().await.unwrap();
    let err = session.exec(&argv(&["touch", "/tmp/toolkit-custom-ro"]), &CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(session.exec(&argv(&["ls", "/"]), &CallLimits::default()).await.is_ok());
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let fx = Fixture::new();
    let port = http_server().await;
    toolkit_testkit::behaviour::Suite {
        connector: &CustomConnector,
        spec: fx.spec(json!({"check": {"http": format!("http://127.0.0.1:{port}/ok")}})),
        secrets: vec![("custom-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        // The check sends no credential, so a wrong one cannot be told apart.
        password: None,
        endpoint: Some(|spec, host, port| {
            spec["config"]["check"] = json!({"http": format!("http://{host}:{port}/ok")});
        }),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            let url = spec["config"]["check"]["http"].as_str().unwrap().replace("http://", "https://");
            spec["config"]["check"] = json!({"http": url});
        }),
        call: None,
    }
    .run()
    .await;
}
