//! Tools of upstream MCP servers through the gateway, with real servers from npm (`.ci/run`
//! sets `TOOLKIT_TEST_MCP_EVERYTHING`): a `ToolRegistry` importing server-everything's tools
//! with a prefix and allow/block globs, a server whose list changes while clients are
//! connected, and a secret handed to a stdio server; and an agent that is another gateway.

mod common;

use std::time::Duration;

use common::{Fixture, noop_manifest};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolkit_gateway::{Gateway, HttpConfig};
use toolkit_testkit::McpServers;

const WAIT: Duration = Duration::from_secs(20);

struct TestClient {
    changes: mpsc::UnboundedSender<()>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), Implementation::new("upstreams-test", "1"))
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.changes.send(());
    }
}

struct Connected {
    gateway: Gateway,
    client: RunningService<RoleClient, TestClient>,
    changes: mpsc::UnboundedReceiver<()>,
}

impl Connected {
    async fn names(&self) -> Vec<String> {
        self.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.into_owned()).collect()
    }

    async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else { panic!("arguments must be an object") };
        let call = self.client.call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args));
        tokio::time::timeout(WAIT, call).await.expect("call within 20s").unwrap()
    }

    /// Waits for `notifications/tools/list_changed`, then for the list to satisfy `done`.
    async fn list_becomes(&mut self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let names = self.names().await;
            if done(&names) {
                return names;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::timeout(left, self.changes.recv())
                .await
                .unwrap_or_else(|_| panic!("no list change to the expected tools; have {names:?}"))
                .unwrap();
        }
    }
}

async fn connect(fixture: &Fixture) -> Connected {
    let gateway = Gateway::new(vec![fixture.tools.clone()], fixture.state.clone());
    gateway.load().await.unwrap();
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    let handler = gateway.handler();
    tokio::spawn(async move {
        if let Ok(running) = handler.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let (tx, changes) = mpsc::unbounded_channel();
    let client = TestClient { changes: tx }.serve(client_io).await.unwrap();
    Connected { gateway, client, changes }
}

/// server-everything's `get-sum`, served as `name`: its schema, description and annotations
/// advertised; a call answered; a wrong argument refused by the gateway against that schema,
/// before the server is called.
async fn served_as_the_upstream_says(c: &Connected, tools: &[rmcp::model::Tool], name: &str) {
    let sum = tools.iter().find(|t| t.name == name).unwrap();
    assert_eq!(sum.input_schema["required"], json!(["a", "b"]), "the upstream's schema is advertised");
    assert_eq!(sum.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
    assert_eq!(sum.description.as_deref(), Some("Returns the sum of two numbers"));
    let result = c.call(name, json!({"a": 1, "b": 2})).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(text(&result), "The sum of 1 and 2 is 3.");
    let refused = c.call(name, json!({"a": "one"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("invalid arguments"), "{}", text(&refused));
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

fn quoted(s: &std::path::Path) -> String {
    serde_json::to_string(&s.to_string_lossy()).unwrap()
}

fn registry(servers: &McpServers, upstream: &str) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1\nkind: ToolRegistry\nmetadata: {{name: upstreams}}\nspec:\n  upstreams:\n{upstream}",
    )
    .replace("@NODE@", &serde_json::to_string(&servers.node).unwrap())
    .replace("@EVERYTHING@", &quoted(&servers.everything))
    .replace("@SDK@", &quoted(&servers.sdk))
    .replace("@DYNAMIC@", &quoted(&toolkit_testkit::fixture("mcp-dynamic.mjs")))
}

#[tokio::test]
async fn imports_upstream_tools_with_prefix_allow_and_block() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let fixture = Fixture::new();
    fixture.write(
        "registry.yaml",
        &registry(
            &servers,
            "    - name: ev\n      mcp: {command: [@NODE@, @EVERYTHING@, stdio]}\n      allow: [echo, \"get-*\"]\n      block: [get-env, \"get-resource-*\", \"*image*\"]\n",
        ),
    );
    let c = connect(&fixture).await;
    let tools = c.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "customers",
            "echo",
            "ev_echo",
            "ev_get-annotated-message",
            "ev_get-structured-content",
            "ev_get-sum",
            "finish"
        ]
    );
    served_as_the_upstream_says(&c, &tools, "ev_get-sum").await;
    let weather = c.call("ev_get-structured-content", json!({"location": "New York"})).await;
    assert!(weather.structured_content.as_ref().is_some_and(|s| s.get("temperature").is_some()), "{weather:?}");

    c.gateway.close().await;
}

#[tokio::test]
async fn upstream_list_changes_reach_clients() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let fixture = Fixture::new();
    fixture.write(
        "registry.yaml",
        &registry(
            &servers,
            "    - name: dyn\n      mcp:\n        command: [@NODE@, @DYNAMIC@]\n        env: [{name: MCP_SDK_DIR, value: @SDK@}]\n",
        ),
    );
    let mut c = connect(&fixture).await;
    assert_eq!(c.names().await, ["customers", "dyn_add-tool", "dyn_remove-tool", "echo", "finish"]);

    let added = c.call("dyn_add-tool", json!({"name": "weather"})).await;
    assert_eq!(added.is_error, Some(false), "{added:?}");
    c.list_becomes(|n| n.iter().any(|n| n == "dyn_weather")).await;
    let echoed = c.call("dyn_weather", json!({"city": "Oslo"})).await;
    assert_eq!(text(&echoed), r#"{"city":"Oslo"}"#);

    c.call("dyn_remove-tool", json!({"name": "weather"})).await;
    c.list_becomes(|n| !n.iter().any(|n| n == "dyn_weather")).await;
    c.gateway.close().await;
}

#[tokio::test]
async fn agents_reach_another_gateway_over_mcp() {
    // The remote agent: a gateway serving a noop named `researcher` over HTTP.
    let remote = Fixture::new();
    remote.write("researcher.yaml", &noop_manifest("default", "researcher"));
    let remote_gateway = Gateway::new(vec![remote.tools.clone()], remote.state.clone());
    remote_gateway.load().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sessions = CancellationToken::new();
    let app = toolkit_gateway::router(&remote_gateway, &HttpConfig::new(addr), sessions.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let fixture = Fixture::new();
    fixture.write(
        "agent.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: ask-researcher}}\nspec:\n  type: agent\n  agent: {{name: researcher, url: \"http://{addr}/mcp\"}}\n"
        ),
    );
    let c = connect(&fixture).await;
    let tools = c.client.list_all_tools().await.unwrap();
    let agent = tools.iter().find(|t| t.name == "ask-researcher").unwrap();
    assert_eq!(agent.input_schema["required"], json!(["input"]));
    let result = c.call("ask-researcher", json!({"input": "what is new?"})).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(result.structured_content, Some(json!({"input": "what is new?"})));
    sessions.cancel();
    c.gateway.close().await;
}

#[tokio::test]
async fn a_secret_in_a_stdio_env_never_reaches_clients_or_state() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let fixture = Fixture::new();
    fixture.write(
        "env.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: server-env}}\nspec:\n  type: mcp\n  mcp:\n    command: [{}, {}, stdio]\n    env: [{{name: TK_CANARY, valueFrom: {{secretKeyRef: {{name: canary, key: value}}}}}}]\n    toolName: get-env\n",
            serde_json::to_string(&servers.node).unwrap(),
            quoted(&servers.everything)
        ),
    );
    let c = connect(&fixture).await;
    let result = c.call("server-env", json!({})).await;
    let body = serde_json::to_string(&result).unwrap();
    assert_eq!(result.is_error, Some(false), "{body}");
    assert!(body.contains("TK_CANARY"), "the server saw the variable: {body}");
    assert!(!body.contains(&fixture.canary), "{body}");
    assert!(body.contains("[redacted]"), "{body}");
    c.gateway.close().await;
    toolkit_testkit::assert_not_in_dir(&fixture.state, &fixture.canary);
}

#[tokio::test]
async fn an_mcp_tool_without_a_schema_serves_the_servers() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let fixture = Fixture::new();
    fixture.write(
        "sum.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: sum}}\nspec:\n  type: mcp\n  \
             mcp: {{command: [{}, {}, stdio], toolName: get-sum}}\n",
            serde_json::to_string(&servers.node).unwrap(),
            quoted(&servers.everything)
        ),
    );
    let c = connect(&fixture).await;
    let tools = c.client.list_all_tools().await.unwrap();
    served_as_the_upstream_says(&c, &tools, "sum").await;
    c.gateway.close().await;
}

#[tokio::test]
async fn imported_tools_have_rate_limits_and_approvals() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let fixture = Fixture::new();
    fixture.write(
        "registry.yaml",
        &registry(
            &servers,
            "    - name: ev\n      mcp: {command: [@NODE@, @EVERYTHING@, stdio]}\n      allow: [get-sum]\n    \
             - name: guarded\n      prefix: g_\n      mcp: {command: [@NODE@, @EVERYTHING@, stdio]}\n      allow: [echo]\n      \
             approval: {required: always, timeout: 1s, onTimeout: reject}\n  rateLimit: {requestsPerMinute: 1, burst: 1}\n",
        ),
    );
    let c = connect(&fixture).await;
    // The registry's rate limit applies to each imported tool.
    let first = c.call("ev_get-sum", json!({"a": 1, "b": 2})).await;
    assert_eq!(first.is_error, Some(false), "{first:?}");
    let second = c.call("ev_get-sum", json!({"a": 1, "b": 2})).await;
    assert_eq!(second.is_error, Some(true));
    assert!(text(&second).contains("retry in"), "{}", text(&second));
    // The upstream's approval rules hold its tools until someone decides; nobody does here.
    let held = c.call("g_echo", json!({"message": "hi"})).await;
    assert_eq!(held.is_error, Some(true));
    assert!(text(&held).contains("not decided within 1s"), "{}", text(&held));
    c.gateway.close().await;
}
