//! The operator's metrics (`/metrics`, OpenMetrics text) and its `/healthz` and `/readyz`.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `toolkit_operator_reconciles_total` | `result` (`ok`, `error`) | reconciles of Tools that finished |
//! | `toolkit_operator_reconcile_errors_total` | | reconciles that failed on the API server (retried with backoff) |
//! | `toolkit_operator_reconcile_duration_seconds` | | histogram of reconcile time, probe included |
//! | `toolkit_operator_tools` | `phase` | Tools by `status.phase`, counted when scraped |
//! | `toolkit_operator_leader` | | 1 while this replica holds the lease |
//!
//! A Tool's own problems (invalid, wrong password) are its status, not reconcile errors.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kube::core::DynamicObject;
use kube::runtime::reflector::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use toolkit_core::model::ToolPhase;

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the duration buckets, in seconds (a reconcile includes a probe).
const DURATION_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

/// Counters, the Tool store they count phases from, and readiness.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    errors: Counter,
    durations: Histogram,
    tools: Family<PhaseLabels, Gauge>,
    leader: Gauge,
    store: Mutex<Option<Store<DynamicObject>>>,
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics, registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<ResultLabels, Counter>::default();
        let errors = Counter::default();
        let durations = Histogram::new(DURATION_BUCKETS);
        let tools = Family::<PhaseLabels, Gauge>::default();
        let leader = Gauge::default();
        registry.register("toolkit_operator_reconciles", "Reconciles of Tools, by result", reconciles.clone());
        registry.register(
            "toolkit_operator_reconcile_errors",
            "Reconciles that failed on the API server",
            errors.clone(),
        );
        registry.register_with_unit(
            "toolkit_operator_reconcile_duration",
            "Time of one reconcile, probe included",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register("toolkit_operator_tools", "Tools by status.phase", tools.clone());
        registry.register("toolkit_operator_leader", "1 while this replica holds the lease", leader.clone());
        Self {
            registry,
            reconciles,
            errors,
            durations,
            tools,
            leader,
            store: Mutex::new(None),
            ready: AtomicBool::new(false),
        }
    }

    /// Counts one reconcile.
    pub fn observe_reconcile(&self, took: Duration, ok: bool) {
        self.reconciles.get_or_create(&ResultLabels { result: if ok { "ok" } else { "error" } }).inc();
        if !ok {
            self.errors.inc();
        }
        self.durations.observe(took.as_secs_f64());
    }

    /// Sets whether this replica leads.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The Tools to count phases of, once the controller runs.
    pub fn set_store(&self, store: Store<DynamicObject>) {
        *self.store.lock().unwrap_or_else(PoisonError::into_inner) = Some(store);
    }

    /// Marks the operator ready: it leads with its Tools listed, or it stands by.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        if let Some(store) = self.store.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            let phases = [ToolPhase::Pending, ToolPhase::Ready, ToolPhase::Failed, ToolPhase::Disabled];
            let mut counts = [0i64; 4];
            for obj in store.state() {
                let phase = obj
                    .data
                    .get("status")
                    .and_then(|s| s.get("phase"))
                    .and_then(|p| serde_json::from_value::<ToolPhase>(p.clone()).ok())
                    .unwrap_or_default();
                if let Some(i) = phases.iter().position(|p| *p == phase) {
                    counts[i] += 1;
                }
            }
            for (phase, n) in phases.into_iter().zip(counts) {
                self.tools.get_or_create(&PhaseLabels { phase: phase.as_str() }).set(n);
            }
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `/metrics`, `/healthz` and `/readyz`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    let m = metrics.clone();
    Router::new()
        .route("/metrics", get(move || async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.encode()) }))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || async move {
                if metrics.is_ready() {
                    (StatusCode::OK, "ok").into_response()
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
                }
            }),
        )
}

/// Binds `addr` for [`router`]; the error says which address.
pub async fn bind(addr: SocketAddr) -> toolkit_core::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| toolkit_core::Error::config(format!("listen on --metrics-addr {addr}")).with_source(e))
}
