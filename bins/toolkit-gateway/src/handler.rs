//! The MCP server of one session: `tools/list` from the current catalog, `tools/call` through
//! the runtime's call pipeline, and `notifications/tools/list_changed` when the catalog changes
//! (sent on the session for clients that initialized with a handshake, and on
//! `subscriptions/listen` streams for clients on protocol 2026-07-28 and later).
//!
//! The caller of a request is the identity of its bearer token (put in the request's extensions
//! by [`crate::http`]), else `mcp:<client name>` over HTTP without tokens, or
//! `stdio:<client name>` on stdio. A scoped caller sees only its tools; calling any other is
//! answered like calling a tool that does not exist, and audited all the same.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::http::request::Parts;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolkit_core::ToolRef;
use toolkit_core::model::DEFAULT_NAMESPACE;
use toolkit_runtime::{CallObserver, Caller, Scope};

use crate::auth::Identity;
use crate::gateway::Gateway;
use crate::session_log::SessionLog;
use crate::telemetry;
use crate::{mapping, names};
use tracing::Instrument as _;

/// Characters of a client's name kept in its caller id.
const CLIENT_NAME_MAX: usize = 64;

const INSTRUCTIONS: &str = "Tools declared by the operators of this toolkit gateway. Every call is validated against \
the tool's input schema, rate-limited, checked by policy and audited; a failed call returns isError with the reason.";

/// The MCP server of one session. Dropping it (when the session ends) stops its change
/// notifications.
pub struct McpHandler {
    gateway: Gateway,
    created: Instant,
    session: CancellationToken,
    stdio: bool,
    log: SessionLog,
}

impl McpHandler {
    pub(crate) fn new(gateway: Gateway, stdio: bool) -> Self {
        Self { gateway, created: Instant::now(), session: CancellationToken::new(), stdio, log: SessionLog::default() }
    }

    /// Who sent the request of `context`.
    fn caller<'a>(&self, context: &'a RequestContext<RoleServer>) -> Cow<'a, Caller> {
        let client_name = || context.client_info().map(|i| i.name.clone());
        if self.stdio {
            return Cow::Owned(client_caller("stdio", client_name().as_deref()));
        }
        let identity = context.extensions.get::<Parts>().and_then(|p| p.extensions.get::<Arc<Identity>>());
        match identity {
            Some(identity) => Cow::Borrowed(identity.caller()),
            // Only an embedder's own transport gets here with tokens configured: show nothing.
            None if self.gateway.requires_tokens() => Cow::Owned(Caller::scoped("token:none", Arc::new(Scope::none()))),
            None => Cow::Owned(caller_of(client_name().as_deref())),
        }
    }
}

impl Drop for McpHandler {
    fn drop(&mut self) {
        self.session.cancel();
        if telemetry::enabled() {
            let transport = if self.stdio { "pipe" } else { "tcp" };
            telemetry::metrics().session.record(
                self.created.elapsed().as_secs_f64(),
                &[opentelemetry::KeyValue::new("network.transport", transport)],
            );
        }
    }
}

/// `mcp:<clientInfo.name>`, or `mcp:anonymous` when the client did not say.
pub fn caller_of(client_name: Option<&str>) -> Caller {
    client_caller("mcp", client_name)
}

/// `<prefix>:<client name>`, the name cleaned of control characters and cut short.
fn client_caller(prefix: &str, client_name: Option<&str>) -> Caller {
    let name: String = client_name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(CLIENT_NAME_MAX)
        .collect::<String>()
        .trim()
        .to_owned();
    Caller::new(format!("{prefix}:{}", if name.is_empty() { "anonymous" } else { &name }))
}

impl McpHandler {
    /// The SERVER span of one MCP request, named `METHOD [TOOL]`, with the attributes of the MCP
    /// semantic conventions, a child of the trace context the request carries. Disabled (and
    /// free) unless traces are exported.
    fn server_span(&self, context: &RequestContext<RoleServer>, method: &str, tool: Option<&str>) -> tracing::Span {
        let parts = context.extensions.get::<Parts>();
        let header = |name: &str| parts.and_then(|p| p.headers.get(name)).and_then(|v| v.to_str().ok());
        let span = tracing::debug_span!(
            "mcp.server",
            otel.name = %match tool { Some(t) => format!("{method} {t}"), None => method.to_owned() },
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            "mcp.method.name" = method,
            "mcp.session.id" = header("mcp-session-id").unwrap_or_default(),
            "mcp.protocol.version" = header("mcp-protocol-version").unwrap_or_default(),
            "jsonrpc.request.id" = %context.id,
            "gen_ai.operation.name" = if tool.is_some() { "execute_tool" } else { "" },
            "gen_ai.tool.name" = tool.unwrap_or_default(),
            "network.transport" = if self.stdio { "pipe" } else { "tcp" },
            "error.type" = tracing::field::Empty,
            "gen_ai.tool.call.arguments" = tracing::field::Empty,
            "gen_ai.tool.call.result" = tracing::field::Empty,
        );
        if telemetry::enabled() {
            let mut carrier = std::collections::HashMap::new();
            for key in ["traceparent", "tracestate"] {
                let from_meta = context.meta.get(key).and_then(Value::as_str);
                if let Some(value) = from_meta.or_else(|| header(key)) {
                    carrier.insert(key.to_owned(), value.to_owned());
                }
            }
            telemetry::set_parent(&span, &carrier);
        }
        span
    }

    /// `tools/call`, within its span; the kind of a failed call is put in `failed`.
    async fn call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
        failed: &std::sync::Mutex<Option<&'static str>>,
    ) -> Result<CallToolResponse, ErrorData> {
        let fail = |kind: &'static str| {
            if let Ok(mut f) = failed.lock() {
                *f = Some(kind);
            }
        };
        let Some(snapshot) = self.gateway.snapshot() else {
            fail("unavailable");
            return Ok(tool_error("the tool catalog is still loading; retry in a moment"));
        };
        // Holding a token while the call runs lets shutdown wait for it.
        let Some(_in_flight) = (!self.gateway.closing().is_cancelled()).then(|| self.gateway.calls().token()) else {
            fail("unavailable");
            return Ok(tool_error("the gateway is shutting down; retry shortly"));
        };
        let caller = self.caller(&context);
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let known = snapshot.by_name.get(request.name.as_ref());
        let Some(served) = known.filter(|s| caller.may_call(&s.reference)) else {
            // Unknown, or hidden from this caller: audited by the pipeline, answered alike.
            let reference = known.map_or_else(|| reference_of(&request.name), |s| s.reference.clone());
            // A name that is not served may still map back to a declared tool served under the
            // name its manifest sets (`spec.mcpName`): refused by scope, so it never runs.
            let caller = if known.is_none() && snapshot.by_name.values().any(|s| s.reference == reference) {
                Cow::Owned(Caller::scoped(caller.id.clone(), Arc::new(Scope::none())))
            } else {
                caller
            };
            let _ = snapshot.runtime.call_until(&caller, &reference, arguments, context.ct.cancelled()).await;
            let shown: String = request.name.chars().take(names::MAX_LEN).collect();
            return Err(ErrorData::invalid_params(
                format!("unknown tool {shown:?}; call tools/list for the tools served"),
                None,
            ));
        };
        let _slot = match self.gateway.start_call(&caller.id, &served.reference.to_string()) {
            Ok(slot) => slot,
            Err(why) => {
                fail("denied");
                return Ok(tool_error(&format!("the call was not started: {why}")));
            }
        };
        let started = Instant::now();
        // A client that sent a progress token hears of waits (for approval) as progress.
        let progress = context.meta.get_progress_token().map(|token| Progress::new(context.peer.clone(), token));
        let observer = progress.as_ref().map(|p| p as &dyn CallObserver);
        self.log.call_started(&context.peer, &request.name).await;
        let capture = telemetry::capture();
        let captured_arguments = capture.arguments.then(|| arguments.clone());
        let outcome = snapshot
            .runtime
            .call_observed(&caller, &served.reference, arguments, context.ct.cancelled(), observer)
            .await;
        if capture.arguments || capture.results {
            // Opted in: redacted with every secret value the catalog resolves, and capped.
            let redactor = toolkit_core::secret::Redactor::new(&snapshot.runtime.secret_values());
            let span = tracing::Span::current();
            if let Some(mut args) = captured_arguments {
                redactor.json(&mut args);
                span.record("gen_ai.tool.call.arguments", telemetry::capped(&args).as_str());
            }
            if capture.results
                && let Ok(o) = &outcome
            {
                // The pipeline redacted the output already.
                span.record("gen_ai.tool.call.result", telemetry::capped(&o.output.content).as_str());
            }
        }
        served.metrics.record(&outcome.as_ref().map(drop), context.ct.is_cancelled(), started.elapsed());
        if let Err(e) = &outcome {
            fail(e.kind().as_str());
        }
        self.log.call_ended(&context.peer, &request.name, &outcome).await;
        match &outcome {
            Ok(o) => {
                tracing::debug!(tool = %served.reference, caller = %caller.id, ms = o.duration.as_millis(), "call ok")
            }
            Err(e) => {
                tracing::debug!(tool = %served.reference, caller = %caller.id, kind = e.kind().as_str(), "call failed")
            }
        }
        Ok(mapping::result(outcome, served.has_output_schema).into())
    }
}

impl ServerHandler for McpHandler {
    #[expect(deprecated, reason = "rmcp marks MCP logging deprecated (SEP-2577); protocol 2025-11-25 has it")]
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder().enable_tools().enable_tool_list_changed().enable_logging().build(),
        )
        .with_server_info(Implementation::new("toolkit-gateway", env!("CARGO_PKG_VERSION")).with_title("toolkit"))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let started = Instant::now();
        let span = self.server_span(&context, "tools/list", None);
        let _entered = span.enter();
        let caller = self.caller(&context);
        let after = match request.and_then(|r| r.cursor) {
            Some(cursor) => match crate::mapping::read_cursor(&cursor) {
                Some(after) => Some(after),
                None => {
                    telemetry::record_operation("tools/list", None, Some("-32602"), started.elapsed().as_secs_f64());
                    return Err(ErrorData::invalid_params(
                        "the cursor is not one this gateway gave; list again without a cursor",
                        None,
                    ));
                }
            },
            None => None,
        };
        let (tools, next) = self.gateway.snapshot().map(|s| s.page_of(&caller, after.as_ref())).unwrap_or_default();
        telemetry::record_operation("tools/list", None, None, started.elapsed().as_secs_f64());
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next.map(|r| crate::mapping::cursor(&r));
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        // Only served names reach spans and metrics: a client's made-up names would grow them
        // without bound.
        let served = self.gateway.snapshot().is_some_and(|s| s.by_name.contains_key(request.name.as_ref()));
        let name = if served { request.name.to_string() } else { "_unknown".to_owned() };
        let span = self.server_span(&context, "tools/call", Some(&name));
        let failed = std::sync::Mutex::new(None);
        let answer = self.call(request, context, &failed).instrument(span.clone()).await;
        let error = match &answer {
            Err(e) => Some(e.code.0.to_string()),
            Ok(_) => failed.lock().ok().and_then(|mut f| f.take()).map(str::to_owned),
        };
        if let Some(e) = &error {
            span.record("error.type", e.as_str());
            span.record("otel.status_code", "ERROR");
        }
        telemetry::record_operation("tools/call", Some(&name), error.as_deref(), started.elapsed().as_secs_f64());
        answer
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // A session that began with `initialize` gets change notifications on the session itself.
        let peer = context.peer;
        let mut changes = self.gateway.changes();
        changes.mark_unchanged();
        let session = self.session.clone();
        let closing = self.gateway.closing().clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = session.cancelled() => break,
                    () = closing.cancelled() => break,
                    changed = changes.changed() => {
                        if changed.is_err() || peer.is_transport_closed() {
                            break;
                        }
                        if let Err(e) = peer.notify_tool_list_changed().await {
                            tracing::debug!("stop change notifications of a session: {e}");
                            break;
                        }
                    }
                }
            }
        });
    }

    #[expect(deprecated, reason = "rmcp marks MCP logging deprecated (SEP-2577); protocol 2025-11-25 has it")]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log.set(request.level);
        Ok(())
    }

    fn accepted_subscription_filter(&self, _requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(SubscriptionFilter::builder().tools_list_changed().build())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.gateway.changes();
        changes.mark_unchanged();
        let wants_tools = context.accepted().tools_list_changed == Some(true);
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                // Ending the stream gracefully on shutdown tells the client to re-listen elsewhere.
                () = self.gateway.closing().cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if wants_tools && let Err(e) = context.sink().notify_tool_list_changed().await {
                        tracing::debug!("end a subscription: {e}");
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The tool an MCP name that is not served would name (`NAMESPACE__NAME`, or `NAME` in the
/// default namespace), for the audit record of a call to it; control characters dropped, cut
/// to the longest MCP name.
fn reference_of(name: &str) -> ToolRef {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(names::MAX_LEN).collect();
    match clean.split_once(names::SEPARATOR) {
        Some((ns, rest)) if !ns.is_empty() && !rest.is_empty() => ToolRef::new(ns, rest),
        _ => ToolRef::new(DEFAULT_NAMESPACE, clean),
    }
}

fn tool_error(message: &str) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message)]).into()
}

/// Sends a call's waits to its client as `notifications/progress`, numbered so that progress
/// only grows.
struct Progress {
    peer: rmcp::Peer<RoleServer>,
    token: rmcp::model::ProgressToken,
    sent: std::sync::atomic::AtomicU32,
}

impl Progress {
    fn new(peer: rmcp::Peer<RoleServer>, token: rmcp::model::ProgressToken) -> Self {
        Self { peer, token, sent: std::sync::atomic::AtomicU32::new(0) }
    }
}

impl CallObserver for Progress {
    fn waiting(&self, message: &str) {
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let param = rmcp::model::ProgressNotificationParam::new(self.token.clone(), f64::from(n)).with_message(message);
        let peer = self.peer.clone();
        tokio::spawn(async move {
            if let Err(e) = peer.notify_progress(param).await {
                tracing::debug!(error = %e, "could not send a progress notification");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids() {
        assert_eq!(caller_of(Some("claude-ai")).id, "mcp:claude-ai");
        assert_eq!(caller_of(None).id, "mcp:anonymous");
        assert_eq!(caller_of(Some(" \n\t")).id, "mcp:anonymous");
        assert_eq!(caller_of(Some("a\u{1b}[31mb")).id, "mcp:a[31mb");
        assert_eq!(caller_of(Some(&"x".repeat(500))).id.len(), 4 + CLIENT_NAME_MAX);
        assert_eq!(client_caller("stdio", Some("claude")).id, "stdio:claude");
    }

    #[test]
    fn unserved_names_map_back() {
        assert_eq!(reference_of("prod__x"), ToolRef::new("prod", "x"));
        assert_eq!(reference_of("x"), ToolRef::new("default", "x"));
        assert_eq!(reference_of("__x"), ToolRef::new("default", "__x"));
        assert_eq!(reference_of(&"y".repeat(1000)).name.len(), names::MAX_LEN);
    }
}
