//! Registry reconcile paths against the mocked API server: discovery of labelled Services
//! (toolkit's label and Omnia's, with a named port), member Tools by phase, an invalid spec,
//! and a status left unwritten when nothing changed.

use std::sync::Arc;

use kube::core::DynamicObject;
use serde_json::{Value, json};

use super::{Seen, api_server, not_found, registry};
use crate::metrics::Metrics;
use crate::reconcile::Context;
use crate::registry::reconcile_registry;

fn tool_registry(spec: Value, status: Option<Value>) -> Arc<DynamicObject> {
    let mut obj = json!({
        "apiVersion": "toolkit.dev/v1alpha1",
        "kind": "ToolRegistry",
        "metadata": {"name": "shelf", "namespace": "team", "uid": "r-1", "generation": 3, "resourceVersion": "9"},
        "spec": spec,
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    Arc::new(serde_json::from_value(obj).unwrap())
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> (u16, Value) {
    (200, json!({"apiVersion": api_version, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items}))
}

fn service(name: &str, labels: Value, annotations: Value, ports: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "team", "labels": labels, "annotations": annotations},
        "spec": {"ports": ports},
    })
}

fn member_tool(name: &str, labels: Value, phase: &str) -> Value {
    json!({
        "apiVersion": "toolkit.dev/v1alpha1", "kind": "Tool",
        "metadata": {"name": name, "namespace": "team", "labels": labels},
        "spec": {"type": "fake"},
        "status": {"phase": phase},
    })
}

/// Lists Services and Tools of `team`; answers status patches and Events.
fn cluster(services: Vec<Value>, tools: Vec<Value>) -> impl Fn(&str, &str) -> (u16, Value) + Send + 'static {
    move |method, path| match (method, path) {
        ("GET", p) if p.starts_with("/api/v1/namespaces/team/services") => list("ServiceList", "v1", services.clone()),
        ("GET", p) if p.starts_with("/apis/toolkit.dev/v1alpha1/namespaces/team/tools") => {
            list("ToolList", "toolkit.dev/v1alpha1", tools.clone())
        }
        ("PATCH", p) if p.starts_with("/apis/toolkit.dev/v1alpha1/namespaces/team/toolregistries/shelf/status") => {
            (200, serde_json::to_value(tool_registry(json!({}), None).as_ref()).unwrap())
        }
        ("POST", p) if p.starts_with("/apis/events.k8s.io/v1/namespaces/team/events") => (
            201,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "team"}, "eventTime": null}),
        ),
        _ => not_found(),
    }
}

async fn reconcile_with(
    obj: Arc<DynamicObject>,
    respond: impl Fn(&str, &str) -> (u16, Value) + Send + 'static,
) -> Vec<Seen> {
    let (client, server) = api_server(respond);
    let ctx = Arc::new(Context::new(client, registry(), "test-replica", Arc::new(Metrics::new())));
    reconcile_registry(obj, ctx.clone()).await.expect("reconcile");
    drop(ctx);
    server.await.unwrap()
}

fn status_patch(seen: &[Seen]) -> &Value {
    let patch = seen.iter().find(|s| s.method == "PATCH").expect("a status patch");
    assert!(patch.path.contains("/toolregistries/shelf/status"), "{}", patch.path);
    &patch.body["status"]
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == type_).unwrap()
}

fn inline_spec() -> Value {
    json!({"type": "fake", "config": {"host": "db.internal", "passwordRef": {"name": "db-creds", "key": "password"}}})
}

#[tokio::test]
async fn labelled_services_and_member_tools_are_counted() {
    let services = vec![
        service(
            "weather",
            json!({"toolkit.dev/tool": "true", "team": "platform"}),
            json!({"toolkit.dev/tool-path": "/forecast", "toolkit.dev/tool-description": "Forecasts"}),
            json!([{"name": "metrics", "port": 9090}, {"name": "http", "port": 8080}]),
        ),
        service(
            "orders",
            json!({"omnia.altairalabs.ai/tool": "true", "team": "platform"}),
            json!({"omnia.altairalabs.ai/tool-name": "order_lookup"}),
            json!([{"name": "grpc", "port": 9000}]),
        ),
        // Labelled for another team, and not labelled as a tool: neither is found.
        service("other", json!({"toolkit.dev/tool": "true", "team": "web"}), json!({}), json!([{"port": 80}])),
        service("plain", json!({"team": "platform"}), json!({}), json!([{"port": 80}])),
    ];
    let tools = vec![
        member_tool("pg", json!({"team": "platform"}), "Ready"),
        member_tool("redis", json!({"team": "web"}), "Ready"),
    ];
    let spec = json!({
        "tools": [{"name": "inline-db", "spec": inline_spec()}],
        "discovery": {"matchLabels": {"team": "platform"}, "port": "http"},
    });
    let seen = reconcile_with(tool_registry(spec, None), cluster(services, tools)).await;
    let status = status_patch(&seen);
    assert_eq!(status["discoveredTools"], 4, "{status}");
    assert_eq!(status["availableTools"], 3, "{status}");
    assert_eq!(status["phase"], "Degraded");
    assert_eq!(status["observedGeneration"], 3);
    let members = status["tools"].as_array().unwrap();
    let weather = members.iter().find(|m| m["name"] == "weather").unwrap();
    assert_eq!(weather["endpoint"], "http://weather.team.svc:8080/forecast");
    assert_eq!(weather["description"], "Forecasts");
    let orders = members.iter().find(|m| m["name"] == "order_lookup").unwrap();
    assert_eq!(orders["available"], false);
    assert_eq!(orders["message"], "service team/orders has no port named `http`");
    assert_eq!(condition(status, "ToolsDiscovered")["status"], "True");
    assert_eq!(condition(status, "AllToolsReady")["status"], "False");
    let event = seen.iter().find(|s| s.method == "POST").expect("an event");
    assert_eq!(event.body["reason"], "Degraded");
    assert_eq!(event.body["regarding"]["kind"], "ToolRegistry");
}

#[tokio::test]
async fn all_available_is_ready_and_an_unchanged_status_is_not_written() {
    let services = vec![service("weather", json!({"toolkit.dev/tool": "true"}), json!({}), json!([{"port": 80}]))];
    let tools = vec![member_tool("pg", json!({}), "Ready")];
    let spec = json!({"discovery": {}});
    let seen = reconcile_with(tool_registry(spec.clone(), None), cluster(services.clone(), tools.clone())).await;
    let written = status_patch(&seen).clone();
    assert_eq!(written["phase"], "Ready");
    assert_eq!((written["discoveredTools"].as_u64(), written["availableTools"].as_u64()), (Some(2), Some(2)));
    let seen = reconcile_with(tool_registry(spec, Some(written)), cluster(services, tools)).await;
    assert!(seen.iter().all(|s| s.method == "GET"), "{seen:?}");
}

#[tokio::test]
async fn a_member_tool_that_fails_fails_the_registry() {
    let tools = vec![member_tool("pg", json!({}), "Failed")];
    let seen = reconcile_with(tool_registry(json!({"discovery": {}}), None), cluster(Vec::new(), tools)).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    assert_eq!(condition(status, "AllToolsReady")["message"], "0 of 1 available; pg: tool team/pg is Failed");
}

#[tokio::test]
async fn an_invalid_registry_is_validated_false_and_lists_nothing() {
    let spec = json!({
        "tools": [{"name": "bad", "spec": {"type": "fake", "config": {"host": "", "passwordRef": {"name": "c", "key": "k"}}}}],
        "upstreams": [{"name": "Not_A_Label", "mcp": {"url": "http://mcp.example/mcp"}}],
    });
    let seen = reconcile_with(tool_registry(spec, None), cluster(Vec::new(), Vec::new())).await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let validated = condition(status, "Validated");
    assert_eq!(validated["status"], "False");
    let message = validated["message"].as_str().unwrap();
    assert!(message.contains("spec.upstreams[0].name"), "{message}");
    assert!(message.contains("spec.tools[0].spec.config.host"), "{message}");
    assert!(!seen.iter().any(|s| s.path.contains("/services")), "no discovery without spec.discovery");
    assert_eq!(status["discoveredTools"], 2);
    // Unchanged from the default 0, hence not in the patch.
    assert_eq!(status["availableTools"].as_u64().unwrap_or(0), 0);
}

#[tokio::test]
async fn a_spec_that_does_not_parse_names_the_field() {
    let seen =
        reconcile_with(tool_registry(json!({"discovery": {"matchLabel": {}}}), None), cluster(Vec::new(), Vec::new()))
            .await;
    let status = status_patch(&seen);
    assert_eq!(status["phase"], "Failed");
    let message = condition(status, "Validated")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("matchLabel"), "{message}");
}
