//! OpenTelemetry export, end to end: the gateway started with the standard `OTEL_*` variables
//! sends OTLP (the JSON encoding over HTTP) to a receiver (`tests/otel/receiver.py`), for a call
//! of an http tool whose upstream records the headers it gets. Checked: the SERVER span of the
//! request, named and attributed by the MCP semantic conventions and a child of the caller's
//! `traceparent`; its invoke and audit children; the CLIENT span of the upstream request, whose
//! trace context reached the upstream; the MCP duration metric; and no secret in any of it.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Fixture;
use common::process::{BIN, Running, request};
use serde_json::{Value, json};

struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The receiver's OTLP and upstream URLs; `None` (after saying why) without aiohttp.
fn receiver(dir: &Path) -> Option<(Receiver, String, String)> {
    let probe = Command::new("python3").args(["-c", "import aiohttp"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        toolkit_testkit::kube::skip("python3 with aiohttp is needed (pip install aiohttp)");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel/receiver.py");
    let mut child = Command::new("python3").arg(script).arg(dir).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("receiver said {line:?}: {e}"));
    let (otlp, upstream) = (urls["otlp"].as_str().unwrap().to_owned(), urls["upstream"].as_str().unwrap().to_owned());
    Some((Receiver(child), otlp, upstream))
}

/// Every span of the OTLP JSON lines in `path`.
fn spans(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let batch: Value = serde_json::from_str(line).unwrap();
        for resource in batch["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let mut span = span.clone();
                    span["resource"] = resource["resource"].clone();
                    out.push(span);
                }
            }
        }
    }
    out
}

fn attribute(span: &Value, key: &str) -> Value {
    let found = span["attributes"].as_array().into_iter().flatten().find(|a| a["key"] == key);
    found.map_or(Value::Null, |a| {
        let v = &a["value"];
        v.get("stringValue")
            .or_else(|| v.get("intValue"))
            .or_else(|| v.get("boolValue"))
            .cloned()
            .unwrap_or(Value::Null)
    })
}

/// The gateway on `fixture`, exporting to `otlp`, capturing what `capture` names.
fn traced(fixture: &Fixture, otlp: &str, capture: Option<&str>) -> Running {
    traced_over(fixture, otlp, "http/json", capture)
}

/// [`traced`] over `protocol`.
fn traced_over(fixture: &Fixture, otlp: &str, protocol: &str, capture: Option<&str>) -> Running {
    let mut command = Command::new(BIN);
    command
        .arg("--tools")
        .arg(&fixture.tools)
        .arg("--state")
        .arg(&fixture.state)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", "toolkit-e2e")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "300");
    match capture {
        Some(c) => command.env("TOOLKIT_OTEL_CAPTURE", c),
        None => command.env_remove("TOOLKIT_OTEL_CAPTURE"),
    };
    Running::spawn(command, &["--stateless"], "info,rmcp=warn")
}

#[test]
fn a_call_is_traced_to_the_upstream() {
    let out = tempfile::tempdir().unwrap();
    let Some((_receiver, otlp, upstream)) = receiver(out.path()) else { return };
    let fixture = Fixture::new();
    fixture.write(
        "weather.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: weather}}\nspec:\n  type: http\n  \
             description: Weather of a city.\n  inputSchema:\n    type: object\n    properties: {{city: {{type: string}}}}\n    \
             required: [city]\n  http: {{url: \"{upstream}/v1/forecast?city={{city}}\", method: GET}}\n  \
             authentication: {{type: bearer, secretRef: {{name: weather-api, key: token}}}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: weather-api}}\nstringData: {{token: {}}}\n",
            fixture.canary
        ),
    );
    let mut gateway = traced(&fixture, &otlp, None);

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{parent_id}-01");
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "weather", "arguments": {"city": "Oslo"}}})
    .to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
        ("traceparent", traceparent.as_str()),
    ];
    let response = request(gateway.addr, "POST", "/mcp", &headers, &body);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["result"]["isError"], false, "{}", response.body);
    // Shutting down flushes what is buffered.
    assert!(gateway.terminate().success(), "{}", gateway.log());

    let traces = out.path().join("traces.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let all = spans(&traces);
        if all.iter().any(|s| s["name"] == "audit") || Instant::now() > deadline {
            break all;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let named = |name: &str| {
        all.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no span {name} in {all:#?}")).clone()
    };
    let server = named("tools/call weather");
    assert_eq!(server["kind"], 2, "SERVER");
    assert_eq!(server["traceId"], trace_id);
    assert_eq!(server["parentSpanId"], parent_id);
    assert_eq!(attribute(&server, "mcp.method.name"), "tools/call");
    assert_eq!(attribute(&server, "gen_ai.tool.name"), "weather");
    assert_eq!(attribute(&server, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(attribute(&server, "jsonrpc.request.id"), "7");
    assert_eq!(attribute(&server, "mcp.protocol.version"), "2025-11-25");
    assert_eq!(attribute(&server, "network.transport"), "tcp");
    let service = server["resource"]["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "service.name");
    assert_eq!(service.unwrap()["value"]["stringValue"], "toolkit-e2e");
    let invoke = named("invoke");
    let audit = named("audit");
    for child in [&invoke, &audit] {
        assert_eq!(child["traceId"], trace_id);
        assert_eq!(child["parentSpanId"], server["spanId"], "{child}");
    }
    let client = named("GET");
    assert_eq!(client["kind"], 3, "CLIENT");
    assert_eq!(client["parentSpanId"], invoke["spanId"]);
    assert_eq!(attribute(&client, "http.response.status_code"), "200");

    // The upstream got the client span's context.
    let seen = std::fs::read_to_string(out.path().join("upstream.jsonl")).unwrap();
    let headers: Value = serde_json::from_str(seen.lines().next().unwrap()).unwrap();
    let sent = headers["traceparent"].as_str().unwrap();
    assert_eq!(sent, format!("00-{trace_id}-{}-01", client["spanId"].as_str().unwrap()));

    let metrics = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap_or_default();
    assert!(metrics.contains("mcp.server.operation.duration"), "{metrics}");
    let exported = std::fs::read_to_string(&traces).unwrap() + &metrics;
    assert!(!exported.contains(&fixture.canary), "a secret was exported");
    assert!(!exported.contains("Oslo"), "arguments are exported only when asked for");

    // Opted in: arguments and results ride on the span, redacted.
    std::fs::remove_file(&traces).unwrap();
    let mut gateway = traced(&fixture, &otlp, Some("arguments,results"));
    let body = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "weather", "arguments": {"city": format!("Oslo {}", fixture.canary)}}})
    .to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let response = request(gateway.addr, "POST", "/mcp", &headers, &body);
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(gateway.terminate().success(), "{}", gateway.log());
    let deadline = Instant::now() + Duration::from_secs(10);
    let server = loop {
        let found = spans(&traces).into_iter().find(|s| s["name"] == "tools/call weather");
        if let Some(s) = found {
            break s;
        }
        assert!(Instant::now() < deadline, "no span exported");
        std::thread::sleep(Duration::from_millis(100));
    };
    let arguments = attribute(&server, "gen_ai.tool.call.arguments");
    assert!(arguments.as_str().unwrap().contains("Oslo [redacted]"), "{arguments}");
    let result = attribute(&server, "gen_ai.tool.call.result");
    assert!(result.as_str().unwrap().contains("ok"), "{result}");
    assert!(!std::fs::read_to_string(&traces).unwrap().contains(&fixture.canary), "a secret was exported");
}

/// An OTLP gRPC receiver (the collector's `TraceService` and `MetricsService`) keeping what it
/// gets.
mod grpc {
    use std::sync::{Arc, Mutex};

    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
        MetricsService, MetricsServiceServer,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
    use opentelemetry_proto::tonic::trace::v1::Span;
    use tonic::{Request, Response, Status};

    #[derive(Clone, Default)]
    pub struct Received {
        pub spans: Arc<Mutex<Vec<Span>>>,
        pub metrics: Arc<Mutex<Vec<String>>>,
    }

    #[tonic::async_trait]
    impl TraceService for Received {
        async fn export(
            &self,
            request: Request<ExportTraceServiceRequest>,
        ) -> Result<Response<ExportTraceServiceResponse>, Status> {
            let spans = request.into_inner().resource_spans.into_iter().flat_map(|r| r.scope_spans);
            self.spans.lock().unwrap().extend(spans.flat_map(|s| s.spans));
            Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
        }
    }

    #[tonic::async_trait]
    impl MetricsService for Received {
        async fn export(
            &self,
            request: Request<ExportMetricsServiceRequest>,
        ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
            let names = request.into_inner().resource_metrics.into_iter().flat_map(|r| r.scope_metrics);
            self.metrics.lock().unwrap().extend(names.flat_map(|s| s.metrics).map(|m| m.name));
            Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
        }
    }

    /// Serves on a free loopback port on its own runtime; returns the endpoint and what arrives.
    pub fn start() -> (tokio::runtime::Runtime, String, Received) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let received = Received::default();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let service = received.clone();
        rt.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(service.clone()))
                .add_service(MetricsServiceServer::new(service))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        (rt, endpoint, received)
    }
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`: the spans and metrics of a call reach a gRPC receiver;
/// a malformed `traceparent` from the client is ignored (a new trace), not an error.
#[test]
fn export_over_grpc() {
    let (_rt, endpoint, received) = grpc::start();
    let fixture = Fixture::new();
    fixture.write("noop.yaml", &common::noop_manifest("prod", "noop"));
    let mut gateway = traced_over(&fixture, &endpoint, "grpc", None);
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "prod__noop", "arguments": {}}})
    .to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
        ("traceparent", "00-not-a-trace-id-01"),
    ];
    let response = request(gateway.addr, "POST", "/mcp", &headers, &body);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["result"]["isError"], false, "{}", response.body);
    assert!(gateway.terminate().success(), "{}", gateway.log());
    let deadline = Instant::now() + Duration::from_secs(10);
    let server = loop {
        let found = received.spans.lock().unwrap().iter().find(|s| s.name == "tools/call prod__noop").cloned();
        if let Some(s) = found {
            break s;
        }
        assert!(Instant::now() < deadline, "no span arrived over gRPC: {}", gateway.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(server.kind, 2, "SERVER");
    assert!(server.parent_span_id.is_empty(), "a malformed traceparent is no parent");
    assert_eq!(server.trace_id.len(), 16);
    let spans = received.spans.lock().unwrap().clone();
    let invoke = spans.iter().find(|s| s.name == "invoke").expect("the invoke span");
    assert_eq!(invoke.trace_id, server.trace_id);
    assert_eq!(invoke.parent_span_id, server.span_id);
    let metrics = received.metrics.lock().unwrap().clone();
    assert!(metrics.iter().any(|m| m == "mcp.server.operation.duration"), "{metrics:?}");
}
