//! Against real MCP servers from npm (`.ci/run` installs them and sets
//! `TOOLKIT_TEST_MCP_EVERYTHING` and `TOOLKIT_TEST_MCP_FILESYSTEM`): server-everything over
//! stdio and streamable HTTP, server-filesystem over stdio, and a small server on the official
//! SDK whose tool list changes on request.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use toolkit_connector_mcp::import::UpstreamImport;
use toolkit_connector_mcp::{AgentConnector, McpConnector};
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::RegistryUpstream;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::validate::validate_spec;
use toolkit_core::{Error, ErrorKind, Tool, ToolSpec};
use toolkit_testkit::McpServers;

const NS: &str = "tk-test";
const WAIT: Duration = Duration::from_secs(20);

fn secrets(canary: &str) -> Arc<SecretStore> {
    let mut store = SecretStore::default();
    store.insert(NS, "mcp-secret", BTreeMap::from([("token".to_owned(), SecretString::new(canary))]));
    Arc::new(store)
}

fn build(connector: &dyn Connector, spec: Value, secrets: Arc<SecretStore>) -> Arc<dyn ToolInstance> {
    let spec: ToolSpec = serde_json::from_value(spec).unwrap();
    let mut errs = validate_spec(&spec);
    errs.extend(connector.validate(&spec));
    assert!(errs.is_empty(), "{errs:?}");
    let tool = Arc::new(Tool::new("t", spec));
    let ctx = BuildContext {
        tool,
        namespace: NS.into(),
        name: "t".into(),
        secrets,
        config_maps: Arc::new(ConfigMaps::default()),
        tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
    };
    connector.build(ctx).unwrap()
}

fn everything_stdio(s: &McpServers, tool: &str) -> Value {
    json!({
        "type": "mcp",
        "mcp": {
            "command": [s.node, s.everything, "stdio"],
            "env": [{"name": "TK_SECRET", "valueFrom": {"secretKeyRef": {"name": "mcp-secret", "key": "token"}}}],
            "toolName": tool
        }
    })
}

async fn invoke(tool: &Arc<dyn ToolInstance>, args: Value) -> Result<InvokeOutput, Error> {
    let Value::Object(arguments) = args else { panic!("arguments must be an object") };
    let call = Invocation { arguments, limits: CallLimits::default(), subject_token: None };
    tokio::time::timeout(WAIT, tool.invoker().unwrap().invoke(call)).await.expect("call within 20s")
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// server-everything on streamable HTTP at `port`, killed when dropped.
async fn everything_http(s: &McpServers, port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new(&s.node)
        .arg(&s.everything)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "server-everything did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

#[tokio::test]
async fn stdio_probe_call_and_session() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let canary = toolkit_testkit::canary();
    let tool = build(&McpConnector, everything_stdio(&s, "echo"), secrets(&canary));

    let report = tool.probe().unwrap().probe().await.unwrap();
    assert!(report.server_version.as_deref().unwrap().contains("everything"), "{report:?}");
    assert_eq!(report.details["transport"], "stdio");

    let out = invoke(&tool, json!({"message": "hi"})).await.unwrap();
    assert_eq!(out.content, json!("Echo: hi"));
    assert_eq!(out.metadata["upstreamTool"], "echo");

    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let secret = env.iter().find(|e| e.name == "TK_SECRET").unwrap();
    assert_eq!(secret.value.to_string(), "[redacted]");
    assert!(env.iter().any(|e| e.name == "MCP_COMMAND" && e.value.expose().contains("stdio")));
    let listed = session.exec(&["tools/list".into()], &CallLimits::default()).await.unwrap();
    let names: Vec<&str> = listed.content.as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"echo") && names.contains(&"get-sum"), "{names:?}");
    let sum = session.exec(&[r#"call get-sum '{"a": 2, "b": 3}'"#.into()], &CallLimits::default()).await.unwrap();
    assert_eq!(sum.content, json!("The sum of 2 and 3 is 5."));
    let bad = session.exec(&["drop".into(), "table".into()], &CallLimits::default()).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);

    // The server got the secret in its environment; the connector hands it back unredacted
    // (the runtime redacts outputs), but never shows it in Debug output.
    let session_env: Vec<String> = env.iter().map(|e| format!("{}={}", e.name, e.value)).collect();
    let env_tool = build(&McpConnector, everything_stdio(&s, "get-env"), secrets(&canary));
    let out = invoke(&env_tool, json!({})).await.unwrap();
    assert!(out.content.as_str().unwrap().contains(&canary), "the server saw TK_SECRET");
    assert!(!format!("{env:?} {session_env:?}").contains(&canary));
    tool.shutdown().await;
    env_tool.shutdown().await;
}

#[tokio::test]
async fn upstream_errors_and_missing_tools() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let tool = build(&McpConnector, everything_stdio(&s, "echo"), secrets("unused-secret"));
    // The server validates arguments itself and answers isError.
    let err = invoke(&tool, json!({"message": 5})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    assert!(err.to_string().contains("run `echo` on the MCP server:"), "{err}");
    assert!(err.to_string().to_lowercase().contains("message"), "{err}");

    let missing = build(&McpConnector, everything_stdio(&s, "no-such-tool"), secrets("unused-secret"));
    let err = missing.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("get-sum"), "lists the tools there: {err}");
    let err = invoke(&missing, json!({})).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::Upstream), "{err}");

    let absent = build(
        &McpConnector,
        json!({"type": "mcp", "mcp": {"command": ["/nonexistent/mcp-server"], "toolName": "x"}}),
        secrets("unused-secret"),
    );
    let err = invoke(&absent, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    tool.shutdown().await;
    missing.shutdown().await;
}

#[tokio::test]
async fn read_only_tools_need_the_upstream_hint() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let mut spec = everything_stdio(&s, "echo");
    spec["readOnly"] = json!(true);
    let echo = build(&McpConnector, spec.clone(), secrets("unused-secret"));
    assert!(invoke(&echo, json!({"message": "ok"})).await.is_ok());
    spec["mcp"]["toolName"] = json!("toggle-simulated-logging");
    let toggle = build(&McpConnector, spec, secrets("unused-secret"));
    assert_eq!(invoke(&toggle, json!({})).await.unwrap_err().kind(), ErrorKind::Denied);
    echo.shutdown().await;
    toggle.shutdown().await;
}

#[tokio::test]
async fn a_stdio_server_that_dies_is_unreachable_then_started_again() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > '{}'; exec \"$0\" \"$@\"", pidfile.display());
    let spec = json!({
        "type": "mcp",
        "mcp": {"command": ["sh", "-c", script, s.node, s.everything, "stdio"], "toolName": "trigger-long-running-operation"},
        "timeout": "20s"
    });
    let tool = build(&McpConnector, spec, secrets("unused-secret"));
    let call = {
        let tool = tool.clone();
        tokio::spawn(async move { invoke(&tool, json!({"duration": 10, "steps": 5})).await })
    };
    let pid = read_pid(&pidfile).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(pid);
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());

    // The next call starts the server again.
    let out = invoke(&tool, json!({"duration": 0.1, "steps": 1})).await.unwrap();
    assert!(out.content.to_string().contains("completed"), "{out:?}");
    assert_ne!(read_pid(&pidfile).await, pid);
    tool.shutdown().await;
}

async fn read_pid(path: &Path) -> i32 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(tokio::time::Instant::now() < deadline, "no pid file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill(pid: i32) {
    let status = std::process::Command::new("kill").arg("-9").arg(pid.to_string()).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn streamable_http_with_a_restart() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let port = free_port();
    let mut server = everything_http(&s, port).await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let tool =
        build(&McpConnector, json!({"type": "mcp", "mcp": {"url": url, "toolName": "get-sum"}}), secrets("x-secret"));
    let report = tool.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.details["transport"], "streamableHttp");
    let out = invoke(&tool, json!({"a": 1, "b": 41})).await.unwrap();
    assert_eq!(out.content, json!("The sum of 1 and 41 is 42."));

    server.kill().await.unwrap();
    let err = invoke(&tool, json!({"a": 1, "b": 1})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");

    let _server = everything_http(&s, port).await;
    let out = invoke(&tool, json!({"a": 2, "b": 2})).await.unwrap();
    assert_eq!(out.content, json!("The sum of 2 and 2 is 4."));
    tool.shutdown().await;
}

#[tokio::test]
async fn agents_over_plain_http() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let port = free_port();
    // A stand-in agent: answers {"output": "you said <input>"}, or 500 for "fail".
    let script = r#"require("http").createServer((req, res) => { let b = ""; req.on("data", c => b += c);
        req.on("end", () => { if (req.method !== "POST") { res.writeHead(405); return res.end(); }
        const input = JSON.parse(b).input; if (input === "fail") { res.writeHead(500); return res.end("boom"); }
        res.writeHead(200, {"content-type": "application/json"}); res.end(JSON.stringify({output: "you said " + input})); }); })
        .listen(Number(process.env.PORT), "127.0.0.1");"#;
    let _agent = tokio::process::Command::new(&s.node)
        .args(["-e", script])
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the agent did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://127.0.0.1:{port}/run");
    let spec = json!({"type": "agent", "agent": {"name": "helper", "url": url}});
    assert_eq!(AgentConnector.default_input_schema().unwrap()["required"], json!(["input"]));
    let agent = build(&AgentConnector, spec, secrets("x-secret"));
    let report = agent.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.details["status"], "405");
    let out = invoke(&agent, json!({"input": "hello"})).await.unwrap();
    assert_eq!(out.content, json!({"output": "you said hello"}));
    let err = invoke(&agent, json!({"input": "fail"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.to_string().contains("boom") && err.is_retryable(), "{err}");
}

fn upstream(name: &str, command: Vec<String>, allow: &[&str], block: &[&str]) -> RegistryUpstream {
    serde_json::from_value(json!({
        "name": name, "mcp": {"command": command}, "allow": allow, "block": block
    }))
    .unwrap()
}

async fn wait_for(import: &UpstreamImport, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut updates = import.subscribe();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let names: Vec<String> = updates.borrow_and_update().tools.iter().map(|t| t.name.clone()).collect();
        if done(&names) {
            return names;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let error = import.current().error.clone();
        tokio::time::timeout(left, updates.changed())
            .await
            .unwrap_or_else(|_| panic!("import did not reach the expected tools: {names:?} {error:?}"))
            .unwrap();
    }
}

#[tokio::test]
async fn imports_with_prefix_allow_and_block() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello from the filesystem server").unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let up = upstream(
        "fs",
        vec![s.node.clone(), s.filesystem.to_string_lossy().into_owned(), root.clone()],
        &["read_*", "list_*"],
        &["*media*", "read_multiple_files"],
    );
    let import = UpstreamImport::start(NS, &up, secrets("x-secret"), Arc::new(ConfigMaps::default())).unwrap();
    let names = wait_for(&import, |n| !n.is_empty()).await;
    assert_eq!(
        names,
        [
            "fs_list_allowed_directories",
            "fs_list_directory",
            "fs_list_directory_with_sizes",
            "fs_read_file",
            "fs_read_text_file"
        ]
    );
    let imported = import.current();
    let read = imported.tools.iter().find(|t| t.name == "fs_read_text_file").unwrap();
    assert_eq!(read.upstream_name, "read_text_file");
    assert_eq!(read.tool.metadata.namespace.as_deref(), Some(NS));
    assert!(read.tool.spec.input_schema.as_ref().unwrap()["properties"]["path"].is_object());
    assert_eq!(read.tool.spec.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));

    let path = format!("{root}/notes.txt");
    let out = invoke(&read.instance, json!({"path": path})).await.unwrap();
    assert!(out.content.to_string().contains("hello from the filesystem server"), "{out:?}");
    import.shutdown().await;
}

#[tokio::test]
async fn imports_follow_list_changed() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let fixture = toolkit_testkit::fixture("mcp-dynamic.mjs").to_string_lossy().into_owned();
    let mut up = upstream("dyn", vec![s.node.clone(), fixture], &[], &["remove-*"]);
    up.prefix = Some(String::new());
    up.mcp.env = vec![serde_json::from_value(json!({"name": "MCP_SDK_DIR", "value": s.sdk})).unwrap()];
    let import = UpstreamImport::start(NS, &up, secrets("x-secret"), Arc::new(ConfigMaps::default())).unwrap();
    assert_eq!(wait_for(&import, |n| !n.is_empty()).await, ["add-tool"]);

    let add = import.current().tools[0].instance.clone();
    let mut args = Map::new();
    args.insert("name".into(), json!("weather"));
    invoke(&add, Value::Object(args)).await.unwrap();
    let names = wait_for(&import, |n| n.len() == 2).await;
    assert_eq!(names, ["add-tool", "weather"]);
    let weather = import.current().tools.iter().find(|t| t.name == "weather").unwrap().instance.clone();
    assert_eq!(invoke(&weather, json!({"city": "Oslo"})).await.unwrap().content, json!(r#"{"city":"Oslo"}"#));
    import.shutdown().await;
}

#[test]
fn registry_upstreams_are_validated_by_the_mcp_connector() {
    let mut connectors = toolkit_core::ConnectorRegistry::new();
    toolkit_connector_mcp::register(&mut connectors);
    let mut catalog = toolkit_core::Catalog::default();
    catalog.add_text(
        Path::new("r.yaml"),
        concat!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: ToolRegistry\nmetadata: {name: r}\nspec:\n  upstreams:\n",
            "    - {name: ok, mcp: {command: [srv]}, allow: [\"read_*\"]}\n",
            "    - {name: old, mcp: {url: \"http://h/sse\", transport: sse}}\n",
            "    - {name: leaky, mcp: {command: [srv], env: [{name: T, valueFrom: {secretKeyRef: {name: nope, key: k}}}]}}\n",
            "    - {name: both, mcp: {command: [srv], url: \"http://h/mcp\"}}\n",
        ),
    );
    catalog.validate(&connectors);
    let found: Vec<String> = catalog.diagnostics.iter().filter_map(|d| d.field.clone()).collect();
    assert_eq!(
        found,
        [
            "spec.upstreams[3].mcp",
            "spec.upstreams[1].mcp.transport",
            "spec.upstreams[2].mcp.env[0].valueFrom.secretKeyRef"
        ],
        "{:?}",
        catalog.diagnostics
    );
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(s) = toolkit_testkit::mcp_servers() else { return };
    let port = free_port();
    let _server = everything_http(&s, port).await;
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &McpConnector,
        spec: json!({
            "type": "mcp",
            "mcp": {"url": format!("http://127.0.0.1:{port}/mcp"), "toolName": "echo"},
            "authentication": {"type": "bearer", "secretRef": {"name": "mcp-secret", "key": "token"}},
        }),
        secrets: vec![("mcp-secret".into(), "token".into(), canary.clone())],
        canary,
        // server-everything takes any token.
        password: None,
        endpoint: Some(|spec, host, port| spec["mcp"]["url"] = json!(format!("http://{host}:{port}/mcp"))),
        // The tool's timeout bounds connecting too.
        timeout: Some(toolkit_testkit::behaviour::set_tool_timeout),
        require_tls: Some(|spec| {
            let url = spec["mcp"]["url"].as_str().unwrap_or_default().replacen("http://", "https://", 1);
            spec["mcp"]["url"] = json!(url);
        }),
        call: None,
    }
    .run()
    .await;
}
