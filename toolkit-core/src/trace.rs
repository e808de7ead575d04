//! Trace context for upstream requests, without a tracing backend here: a binary that exports
//! traces (the gateway, with OpenTelemetry) installs an [`Injector`] once, and a connector that
//! sends a request upstream asks [`inject`] for the headers that carry the span's context
//! (`traceparent`, `tracestate`). Without an injector nothing is added and nothing is spent.

use std::sync::OnceLock;

/// Writes the trace context of a span as header name and value pairs.
pub type Injector = dyn Fn(&tracing::Span, &mut dyn FnMut(&str, &str)) + Send + Sync;

static INJECTOR: OnceLock<Box<Injector>> = OnceLock::new();

/// Installs the process's injector; a second call is ignored (returns false).
pub fn set_injector(injector: Box<Injector>) -> bool {
    INJECTOR.set(injector).is_ok()
}

/// Calls `set` with each header that carries `span`'s context, if an injector is installed.
pub fn inject(span: &tracing::Span, set: &mut dyn FnMut(&str, &str)) {
    if let Some(injector) = INJECTOR.get() {
        injector(span, set);
    }
}
