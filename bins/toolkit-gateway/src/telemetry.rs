//! Logs, and OpenTelemetry when the standard variables ask for it.
//!
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns on OTLP export
//! of traces and metrics (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the default,
//! `http/json`, or `grpc`, whose exporters run on a one-thread runtime of their own), named by `OTEL_SERVICE_NAME` (`toolkit-gateway` when unset). Spans follow the
//! MCP semantic conventions: a SERVER span per MCP request (`tools/call NAME`), children for
//! the pipeline's rate limit, approval, invoke and audit, and a CLIENT span per upstream HTTP
//! request, whose `traceparent` is sent upstream. A request's own `traceparent` (HTTP header,
//! or `params._meta.traceparent`) becomes the parent. Metrics: `mcp.server.operation.duration`
//! and `mcp.server.session.duration`.
//!
//! Without an endpoint no exporter, no propagator and no span layer are installed: the spans of
//! the call path are `debug` spans that the log filter leaves disabled, so they cost a check of
//! a callsite's interest.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::LogFormat;

/// What must be flushed at exit.
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    metrics: Option<SdkMeterProvider>,
    /// The runtime gRPC exporters send on; stopped after they are.
    grpc: Option<tokio::runtime::Runtime>,
}

impl Telemetry {
    /// Sends what is buffered and stops the exporters.
    pub fn shutdown(self) {
        if let Some(t) = self.traces
            && let Err(e) = t.shutdown()
        {
            eprintln!("warning: flush traces: {e}");
        }
        if let Some(m) = self.metrics
            && let Err(e) = m.shutdown()
        {
            eprintln!("warning: flush metrics: {e}");
        }
        if let Some(rt) = self.grpc {
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }
}

/// The MCP metrics, made once; no-ops until a meter provider is installed.
pub(crate) struct McpMetrics {
    pub operation: Histogram<f64>,
    pub session: Histogram<f64>,
}

static METRICS: OnceLock<McpMetrics> = OnceLock::new();

/// The MCP metrics of the semantic conventions.
pub(crate) fn metrics() -> &'static McpMetrics {
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("toolkit-gateway");
        McpMetrics {
            operation: meter
                .f64_histogram("mcp.server.operation.duration")
                .with_unit("s")
                .with_description("Duration of MCP requests, as the server sees them")
                .build(),
            session: meter
                .f64_histogram("mcp.server.session.duration")
                .with_unit("s")
                .with_description("Duration of MCP sessions")
                .build(),
        }
    })
}

/// Records one MCP request's duration.
pub(crate) fn record_operation(method: &str, tool: Option<&str>, error: Option<&str>, seconds: f64) {
    if !enabled() {
        return;
    }
    let mut attributes = vec![KeyValue::new("mcp.method.name", method.to_owned())];
    if let Some(tool) = tool {
        attributes.push(KeyValue::new("gen_ai.tool.name", tool.to_owned()));
    }
    if let Some(error) = error {
        attributes.push(KeyValue::new("error.type", error.to_owned()));
    }
    metrics().operation.record(seconds, &attributes);
}

/// What a span may carry besides its attributes: only what `TOOLKIT_OTEL_CAPTURE` names
/// (`arguments`, `results`, comma-separated), and only while export is on.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Capture {
    pub arguments: bool,
    pub results: bool,
}

/// The opted-in captures.
pub(crate) fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    *CAPTURE.get_or_init(|| {
        if !enabled() {
            return Capture::default();
        }
        let named = std::env::var("TOOLKIT_OTEL_CAPTURE").unwrap_or_default();
        let has = |what: &str| named.split(',').any(|w| w.trim().eq_ignore_ascii_case(what));
        Capture { arguments: has("arguments"), results: has("results") }
    })
}

/// Characters of a captured value kept at most.
const CAPTURE_MAX_CHARS: usize = 4096;

/// `value` as JSON text, cut to [`CAPTURE_MAX_CHARS`].
pub(crate) fn capped(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= CAPTURE_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(CAPTURE_MAX_CHARS).collect();
    cut.push('…');
    cut
}

static ENABLED: OnceLock<bool> = OnceLock::new();

/// Whether OpenTelemetry export is on.
pub(crate) fn enabled() -> bool {
    ENABLED.get().copied().unwrap_or(false)
}

/// Makes `span` a child of the trace context in `carrier` (`traceparent`, `tracestate`), when
/// export is on and the carrier has one.
pub(crate) fn set_parent(span: &tracing::Span, carrier: &HashMap<String, String>) {
    if !enabled() || !carrier.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(carrier);
    let _ = span.set_parent(parent);
}

/// The OTLP protocol `OTEL_EXPORTER_OTLP_PROTOCOL` (or its traces form) names.
fn protocol() -> Result<Protocol, String> {
    let named = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    match named.as_str() {
        "http/json" => Ok(Protocol::HttpJson),
        "" | "http/protobuf" => Ok(Protocol::HttpBinary),
        "grpc" => Ok(Protocol::Grpc),
        other => Err(format!("OTEL_EXPORTER_OTLP_PROTOCOL={other} is not one of grpc, http/protobuf or http/json")),
    }
}

/// TLS with the webpki roots when the gRPC endpoint is `https`.
fn grpc_tls() -> Option<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .unwrap_or_default();
    endpoint
        .starts_with("https://")
        .then(|| opentelemetry_otlp::tonic_types::transport::ClientTlsConfig::new().with_webpki_roots())
}

fn wanted() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
        && std::env::var("OTEL_SDK_DISABLED").map_or(true, |v| v != "true")
}

fn resource() -> opentelemetry_sdk::Resource {
    let builder = opentelemetry_sdk::Resource::builder();
    let builder =
        if std::env::var("OTEL_SERVICE_NAME").is_ok() { builder } else { builder.with_service_name("toolkit-gateway") };
    builder.with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))).build()
}

/// Installs the log subscriber, and OpenTelemetry when the environment asks for it. Must run
/// before the async runtime starts; errors setting up export are printed and export stays off.
pub fn init(verbose: u8, format: LogFormat) -> Telemetry {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "info,rmcp=warn",
        1 => "debug,rmcp=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("TOOLKIT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // stdout belongs to the MCP stdio transport: logs always go to stderr, coloured only on a
    // terminal and unless `NO_COLOR` is set (https://no-color.org).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    let mut telemetry = Telemetry::default();
    let otel = if wanted() {
        match start_export() {
            Ok((traces, metrics, grpc)) => {
                let tracer = traces.tracer("toolkit-gateway");
                telemetry = Telemetry { traces: Some(traces), metrics: Some(metrics), grpc };
                // The spans of requests, the pipeline and upstream requests, whatever the log
                // level.
                let spans = EnvFilter::new(
                    "toolkit_gateway=debug,toolkit_runtime=debug,toolkit_connector_http=debug,toolkit_connector_mcp=debug",
                );
                Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(spans))
            }
            Err(e) => {
                eprintln!("warning: OpenTelemetry export is off: {e}");
                None
            }
        }
    } else {
        None
    };
    let _ = tracing_subscriber::registry().with(fmt.with_filter(filter)).with(otel).try_init();
    telemetry
}

/// The exporters and providers (and the runtime gRPC exporters need); installs the propagator
/// and the global meter provider.
fn start_export() -> Result<(SdkTracerProvider, SdkMeterProvider, Option<tokio::runtime::Runtime>), String> {
    let protocol = protocol()?;
    let (spans, measures, grpc) = if protocol == Protocol::Grpc {
        // tonic's channel spawns its worker where it is made; the batch exporters' own threads
        // then hand it requests.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-grpc")
            .enable_all()
            .build()
            .map_err(|e| format!("the OTLP gRPC runtime: {e}"))?;
        let entered = rt.enter();
        let mut spans = opentelemetry_otlp::SpanExporter::builder().with_tonic();
        let mut measures = opentelemetry_otlp::MetricExporter::builder().with_tonic();
        if let Some(tls) = grpc_tls() {
            spans = spans.with_tls_config(tls.clone());
            measures = measures.with_tls_config(tls);
        }
        let spans = spans.build().map_err(|e| format!("the OTLP span exporter: {e}"))?;
        let measures = measures.build().map_err(|e| format!("the OTLP metric exporter: {e}"))?;
        drop(entered);
        (spans, measures, Some(rt))
    } else {
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .build()
            .map_err(|e| format!("the OTLP span exporter: {e}"))?;
        let measures = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .build()
            .map_err(|e| format!("the OTLP metric exporter: {e}"))?;
        (spans, measures, None)
    };
    let traces = SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource()).build();
    let metrics = SdkMeterProvider::builder().with_periodic_exporter(measures).with_resource(resource()).build();
    opentelemetry::global::set_meter_provider(metrics.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let _ = ENABLED.set(true);
    toolkit_core::trace::set_injector(Box::new(|span, set| {
        let context = span.context();
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
        for (name, value) in &carrier {
            set(name, value);
        }
    }));
    Ok((traces, metrics, grpc))
}
