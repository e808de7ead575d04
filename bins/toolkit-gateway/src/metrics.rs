//! Prometheus metrics (`/metrics`, OpenMetrics text):
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `toolkit_calls_total` | `tool`, `outcome` (`ok`, `error`, `cancelled`) | calls that reached a tool |
//! | `toolkit_call_errors_total` | `tool`, `kind` (the error kind) | failed calls |
//! | `toolkit_call_duration_seconds` | `tool` | histogram of call time, audit included |
//! | `toolkit_rate_limited_total` | `tool` | calls refused by a rate limit (also errors, kind `denied`) |
//! | `toolkit_tools_served` | | tools in the current catalog |
//! | `toolkit_calls_in_flight` | | calls running now |
//! | `toolkit_unauthorized_total` | | HTTP requests refused for a missing or wrong token |
//!
//! `tool` is `NAMESPACE/NAME`. Calls of unknown tools, and of tools outside the caller's scope,
//! are audited but not counted here. Connectors do not report pool statistics, so there are none.
//!
//! The label sets of a tool are made once ([`Metrics::tool`]) and kept across reloads, so a call
//! only increments atomics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use toolkit_core::{Error, ErrorKind, ToolRef};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every error kind, for the per-tool cache of error counters.
const KINDS: [ErrorKind; 11] = [
    ErrorKind::Cancelled,
    ErrorKind::Config,
    ErrorKind::Auth,
    ErrorKind::Unreachable,
    ErrorKind::Timeout,
    ErrorKind::Denied,
    ErrorKind::InvalidInput,
    ErrorKind::Upstream,
    ErrorKind::Unsupported,
    ErrorKind::NotFound,
    ErrorKind::Internal,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    tool: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
}

type HistogramFamily = Family<ToolLabels, Histogram, fn() -> Histogram>;

/// The gateway's metrics; shared by every catalog it loads.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: HistogramFamily,
    rate_limited: Family<ToolLabels, Counter>,
    tools_served: Gauge,
    in_flight: Gauge,
    unauthorized: Counter,
    series: Mutex<HashMap<ToolRef, Arc<ToolSeries>>>,
}

/// The series of one tool.
pub(crate) struct ToolSeries {
    tool: String,
    ok: Counter,
    failed: Counter,
    cancelled: Counter,
    duration: Histogram,
    rate_limited: Counter,
    errors: Family<ErrorLabels, Counter>,
    by_kind: [OnceLock<Counter>; KINDS.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Empty metrics, registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let calls = Family::<CallLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        let rate_limited = Family::<ToolLabels, Counter>::default();
        let tools_served = Gauge::default();
        let in_flight = Gauge::default();
        let unauthorized = Counter::default();
        registry.register("toolkit_calls", "Calls that reached a tool, by outcome", calls.clone());
        registry.register("toolkit_call_errors", "Failed calls, by error kind", errors.clone());
        registry.register_with_unit(
            "toolkit_call_duration",
            "Time of a call, audit included",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register("toolkit_rate_limited", "Calls refused by a rate limit", rate_limited.clone());
        registry.register("toolkit_tools_served", "Tools in the current catalog", tools_served.clone());
        registry.register("toolkit_calls_in_flight", "Calls running now", in_flight.clone());
        registry.register(
            "toolkit_unauthorized",
            "HTTP requests refused for a missing or invalid bearer token",
            unauthorized.clone(),
        );
        Self {
            registry,
            calls,
            errors,
            durations,
            rate_limited,
            tools_served,
            in_flight,
            unauthorized,
            series: Mutex::new(HashMap::new()),
        }
    }

    /// Calls each tool served since this process started, and how many of them failed.
    #[cfg(feature = "kubernetes")]
    pub(crate) fn call_counts(&self) -> Vec<(ToolRef, u64, u64)> {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series
            .iter()
            .map(|(tool, s)| (tool.clone(), s.ok.get() + s.failed.get() + s.cancelled.get(), s.failed.get()))
            .collect()
    }

    /// The series of `tool`, made on first use and kept.
    pub(crate) fn tool(&self, tool: &ToolRef) -> Arc<ToolSeries> {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series
            .entry(tool.clone())
            .or_insert_with(|| {
                let name = tool.to_string();
                let call = |outcome| self.calls.get_or_create_owned(&CallLabels { tool: name.clone(), outcome });
                let labels = ToolLabels { tool: name.clone() };
                Arc::new(ToolSeries {
                    ok: call("ok"),
                    failed: call("error"),
                    cancelled: call("cancelled"),
                    duration: self.durations.get_or_create_owned(&labels),
                    rate_limited: self.rate_limited.get_or_create_owned(&labels),
                    errors: self.errors.clone(),
                    by_kind: Default::default(),
                    tool: name,
                })
            })
            .clone()
    }

    /// Sets the number of tools served.
    pub(crate) fn set_tools_served(&self, count: usize) {
        self.tools_served.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Counts a request refused for its token.
    pub(crate) fn unauthorized(&self) {
        self.unauthorized.inc();
    }

    /// The exposition, with `in_flight` calls running now.
    pub(crate) fn render(&self, in_flight: usize) -> String {
        self.in_flight.set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl ToolSeries {
    /// Records one call: its outcome and how long it took.
    pub(crate) fn record(&self, outcome: &Result<(), &Error>, cancelled: bool, duration: Duration) {
        self.duration.observe(duration.as_secs_f64());
        match outcome {
            Ok(()) => {
                self.ok.inc();
            }
            Err(_) if cancelled => {
                self.cancelled.inc();
            }
            Err(e) => {
                self.failed.inc();
                if toolkit_runtime::retry_after(e).is_some() {
                    self.rate_limited.inc();
                }
                self.errors_of(e.kind()).inc();
            }
        }
    }

    fn errors_of(&self, kind: ErrorKind) -> Counter {
        let labels = || ErrorLabels { tool: self.tool.clone(), kind: kind.as_str() };
        match KINDS.iter().position(|k| *k == kind) {
            Some(i) => self.by_kind[i].get_or_init(|| self.errors.get_or_create_owned(&labels())).clone(),
            None => self.errors.get_or_create_owned(&labels()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_errors_and_rate_limits_are_exposed() {
        let metrics = Metrics::new();
        let echo = metrics.tool(&ToolRef::new("default", "echo"));
        assert!(Arc::ptr_eq(&echo, &metrics.tool(&ToolRef::new("default", "echo"))), "series are cached");
        echo.record(&Ok(()), false, Duration::from_millis(3));
        let limited = Error::new(ErrorKind::Denied, "rate limit").with_context(toolkit_runtime::RETRY_AFTER_MS, 10);
        echo.record(&Err(&limited), false, Duration::from_millis(1));
        echo.record(&Err(&Error::new(ErrorKind::Timeout, "cancelled")), true, Duration::from_millis(1));
        metrics.set_tools_served(3);
        metrics.unauthorized();
        let text = metrics.render(2);
        for line in [
            r#"toolkit_calls_total{tool="default/echo",outcome="ok"} 1"#,
            r#"toolkit_calls_total{tool="default/echo",outcome="error"} 1"#,
            r#"toolkit_calls_total{tool="default/echo",outcome="cancelled"} 1"#,
            r#"toolkit_call_errors_total{tool="default/echo",kind="denied"} 1"#,
            r#"toolkit_rate_limited_total{tool="default/echo"} 1"#,
            r#"toolkit_call_duration_seconds_count{tool="default/echo"} 3"#,
            "toolkit_tools_served 3",
            "toolkit_calls_in_flight 2",
            "toolkit_unauthorized_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
