//! The gateway's MCP server in process: an rmcp client talks to it over `tokio::io::duplex`, on
//! both lifecycles (the `initialize` handshake of 2025-11-25, and 2026-07-28 without one).

mod common;

use std::time::Duration;

use common::{Fixture, noop_manifest};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ErrorCode, Implementation,
    ProtocolVersion, ServerNotification, SubscriptionFilter,
};
use rmcp::service::{ClientLifecycleMode, NotificationContext, RunningService, serve_client_with_lifecycle};
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt as _};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use toolkit_core::ToolRef;
use toolkit_gateway::Gateway;
use toolkit_state::{AuditFilter, StateStore};

const WAIT: Duration = Duration::from_secs(10);

/// A client that reports `notifications/tools/list_changed` and `notifications/message` on
/// channels.
struct TestClient {
    config: ClientConfig,
    changes: mpsc::UnboundedSender<()>,
    logs: mpsc::UnboundedSender<Value>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.changes.send(());
    }

    #[expect(deprecated, reason = "rmcp marks MCP logging deprecated (SEP-2577)")]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.logs.send(serde_json::to_value(params).unwrap());
    }
}

struct Connected {
    gateway: Gateway,
    client: RunningService<RoleClient, TestClient>,
    changes: mpsc::UnboundedReceiver<()>,
    logs: mpsc::UnboundedReceiver<Value>,
}

/// How the client starts: the 2025-11-25 `initialize` handshake, or 2026-07-28 `server/discover`.
#[derive(Clone, Copy, Debug)]
enum Lifecycle {
    Handshake,
    Discover,
}

async fn connect(fixture: &Fixture, lifecycle: Lifecycle) -> Connected {
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
    let config = ClientConfig::new(ClientCapabilities::default(), Implementation::new("in-process-test", "1"));
    let (log_tx, logs) = mpsc::unbounded_channel();
    let client = TestClient { config, changes: tx, logs: log_tx };
    let client = match lifecycle {
        Lifecycle::Handshake => {
            let handshake = ClientLifecycleMode::Initialize;
            serve_client_with_lifecycle(client, client_io, handshake).await.unwrap()
        }
        Lifecycle::Discover => {
            let discover = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::LATEST] };
            serve_client_with_lifecycle(client, client_io, discover).await.unwrap()
        }
    };
    Connected { gateway, client, changes, logs }
}

async fn call(
    client: &RunningService<RoleClient, TestClient>,
    name: &str,
    args: Value,
) -> Result<CallToolResult, ServiceError> {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    client.call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args)).await
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn lists_tools_sorted_with_their_metadata() {
    let fixture = Fixture::new();
    fixture.write("prod.yaml", &noop_manifest("prod", "echo"));
    fixture.write(
        "off.yaml",
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: off}\nspec:\n  type: builtin\n  enabled: false\n  builtin: {name: noop}\n",
    );
    fixture.write(
        "broken.yaml",
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: broken}\nspec:\n  type: builtin\n",
    );
    let c = connect(&fixture, Lifecycle::Discover).await;
    let tools = c.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["customers", "echo", "finish", "prod__echo"], "disabled and invalid tools are not served");

    let echo = &tools[1];
    assert_eq!(echo.title.as_deref(), Some("Echo"));
    assert!(echo.description.as_deref().unwrap().starts_with("Returns its arguments"));
    assert_eq!(echo.input_schema["required"], json!(["message"]));
    let hints = echo.annotations.as_ref().unwrap();
    assert_eq!(
        (hints.read_only_hint, hints.idempotent_hint, hints.open_world_hint),
        (Some(true), Some(true), Some(false))
    );

    let customers = &tools[0];
    assert_eq!(customers.title.as_deref(), Some("Customers database"));
    assert_eq!(customers.annotations.as_ref().unwrap().read_only_hint, Some(true));
    assert_eq!(customers.input_schema["type"], "object");
    assert!(tools[2].annotations.is_none(), "no annotations declared, not read-only");
}

#[tokio::test]
async fn calls_the_noop_builtin() {
    for lifecycle in [Lifecycle::Handshake, Lifecycle::Discover] {
        let fixture = Fixture::new();
        let c = connect(&fixture, lifecycle).await;
        let result = call(&c.client, "echo", json!({"message": "hi"})).await.unwrap();
        assert_eq!(result.is_error, Some(false), "{lifecycle:?}: {result:?}");
        assert_eq!(result.structured_content, Some(json!({"message": "hi"})));
        assert!(text(&result).contains("\"message\": \"hi\""));

        let audit = StateStore::open(&fixture.state).await.unwrap().audit(&AuditFilter::default()).await.unwrap();
        assert_eq!(audit[0].caller, "mcp:in-process-test", "{lifecycle:?}");
        assert_eq!(audit[0].tool, ToolRef::new("default", "echo"));
    }
}

#[tokio::test]
async fn invalid_arguments_are_a_tool_error_naming_the_path() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    let result = call(&c.client, "echo", json!({"message": 5})).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    let message = text(&result);
    assert!(message.contains("invalid arguments") && message.contains("/message"), "{message}");

    let result = call(&c.client, "echo", json!({})).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("message"), "{}", text(&result));
}

#[tokio::test]
async fn failures_of_the_pipeline_are_tool_errors() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    let result = call(&c.client, "customers", json!({"query": "delete from orders"})).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("policy refused"), "{}", text(&result));

    let result = call(&c.client, "customers", json!({"query": "select count(*) as n from orders"})).await.unwrap();
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(result.structured_content.as_ref().unwrap()["rows"][0]["n"], 6);
}

#[tokio::test]
async fn secret_values_are_redacted_from_results() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    let result = call(&c.client, "echo", json!({"message": format!("say {}", fixture.canary)})).await.unwrap();
    let body = serde_json::to_string(&result).unwrap();
    assert!(!body.contains(&fixture.canary), "{body}");
    assert!(body.contains("[redacted]"), "{body}");
}

#[tokio::test]
async fn an_unknown_tool_is_invalid_params() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    match call(&c.client, "no-such-tool", json!({})).await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
            assert!(e.message.contains("no-such-tool"), "{}", e.message);
        }
        other => panic!("expected invalid params, got {other:?}"),
    }
}

#[tokio::test]
async fn handshake_sessions_hear_of_list_changes() {
    let fixture = Fixture::new();
    let mut c = connect(&fixture, Lifecycle::Handshake).await;
    assert_eq!(c.client.list_all_tools().await.unwrap().len(), 3);

    fixture.write("added.yaml", &noop_manifest("default", "added"));
    assert!(c.gateway.load().await.unwrap());
    tokio::time::timeout(WAIT, c.changes.recv()).await.expect("list_changed within 10s").unwrap();
    let names: Vec<String> =
        c.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.into_owned()).collect();
    assert!(names.contains(&"added".to_owned()), "{names:?}");

    // Reloading an unchanged folder tells no one.
    assert!(!c.gateway.load().await.unwrap());
    assert!(tokio::time::timeout(Duration::from_millis(300), c.changes.recv()).await.is_err());
}

#[tokio::test]
async fn subscriptions_hear_of_list_changes() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    let mut subscription = c.client.listen(SubscriptionFilter::builder().tools_list_changed().build()).await.unwrap();
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));

    // An edit that breaks a manifest drops its tool.
    fixture.write(
        "builtin.yaml",
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: echo}\nspec: {type: builtin}\n",
    );
    assert!(c.gateway.load().await.unwrap());
    let notification = tokio::time::timeout(WAIT, subscription.next()).await.expect("list_changed within 10s").unwrap();
    assert!(matches!(notification, Some(ServerNotification::ToolListChangedNotification(_))), "{notification:?}");
    let names: Vec<String> =
        c.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.into_owned()).collect();
    assert_eq!(names, ["customers"]);
}

#[tokio::test]
async fn a_cancelled_call_stops_and_is_audited() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    // Long enough to be cancelled half-way; SQLite finishes it in the background.
    let slow =
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) from c";
    let abandoned =
        tokio::time::timeout(Duration::from_millis(200), call(&c.client, "customers", json!({"query": slow}))).await;
    assert!(abandoned.is_err(), "the query finished too fast to test cancellation");

    let state = StateStore::open(&fixture.state).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let audit = state.audit(&AuditFilter::default()).await.unwrap();
        if let Some(record) = audit.iter().find(|r| r.tool.name == "customers") {
            assert_eq!(record.decision, toolkit_state::Decision::Cancelled, "{record:?}");
            assert!(record.error.as_deref().unwrap_or_default().contains("cancelled"), "{record:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no audit record for the cancelled call");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_waits_for_calls_in_flight_and_refuses_new_ones() {
    let fixture = Fixture::new();
    let c = connect(&fixture, Lifecycle::Discover).await;
    let slow =
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 300000) select count(*) as n from c";
    let client = c.client.peer().clone();
    let in_flight = tokio::spawn(async move {
        let args = json!({"query": slow}).as_object().cloned().unwrap();
        client.call_tool(CallToolRequestParams::new("customers").with_arguments(args)).await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(c.gateway.is_ready());
    let drained = c.gateway.drain(WAIT).await;
    assert_eq!(
        (drained.waited_for, drained.finished),
        (1, true),
        "the call in flight finished within the drain timeout"
    );
    assert!(!c.gateway.is_ready());
    let finished = in_flight.await.unwrap().unwrap();
    assert_eq!(finished.is_error, Some(false), "{finished:?}");

    let refused = call(&c.client, "echo", json!({"message": "late"})).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("shutting down"), "{}", text(&refused));
}

#[tokio::test]
async fn a_name_set_in_the_manifest_is_served_and_the_generated_one_is_not() {
    let fixture = Fixture::new();
    fixture.write(
        "named.yaml",
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: run-query}\nspec:\n  type: builtin\n  \
         mcpName: run_query\n  builtin: {name: noop}\n",
    );
    let c = connect(&fixture, Lifecycle::Handshake).await;
    let names: Vec<String> = c.client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert!(names.contains(&"run_query".to_owned()) && !names.contains(&"run-query".to_owned()), "{names:?}");
    let result = call(&c.client, "run_query", json!({"q": 1})).await.unwrap();
    assert_eq!(result.structured_content, Some(json!({"q": 1})));
    // The name it would have had without `mcpName` is unknown, and the tool does not run.
    assert!(call(&c.client, "run-query", json!({})).await.is_err());
    let audit = StateStore::open(&fixture.state).await.unwrap().audit(&AuditFilter::default()).await.unwrap();
    let runs = audit.iter().filter(|r| r.tool == ToolRef::new("default", "run-query")).collect::<Vec<_>>();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs.iter().filter(|r| r.outcome == toolkit_state::Outcome::Ok).count(), 1, "{runs:?}");
}

#[tokio::test]
#[expect(deprecated, reason = "rmcp marks MCP logging deprecated (SEP-2577)")]
async fn calls_are_logged_to_their_session_at_the_level_it_set() {
    use rmcp::model::{LoggingLevel, SetLevelRequestParams};
    let fixture = Fixture::new();
    let mut c = connect(&fixture, Lifecycle::Handshake).await;
    let caps = c.client.peer_info().unwrap().capabilities.clone();
    assert!(caps.logging.is_some(), "{caps:?}");
    // Nothing before a level is set.
    call(&c.client, "echo", json!({"message": "hi"})).await.unwrap();
    c.client.set_level(SetLevelRequestParams::new(LoggingLevel::Info)).await.unwrap();
    call(&c.client, "echo", json!({"message": "hi"})).await.unwrap();
    call(&c.client, "echo", json!({})).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(tokio::time::timeout(WAIT, c.logs.recv()).await.expect("a log message").unwrap());
    }
    assert_eq!((got[0]["level"].as_str(), got[1]["level"].as_str()), (Some("info"), Some("warning")), "{got:?}");
    assert!(got[0]["data"].as_str().unwrap().starts_with("call echo: ok in "), "{got:?}");
    assert!(got[1]["data"].as_str().unwrap().contains("invalid arguments"), "{got:?}");
    // The `debug` start of each call was not sent, nor anything for the call before setLevel.
    assert!(tokio::time::timeout(Duration::from_millis(200), c.logs.recv()).await.is_err());
}
