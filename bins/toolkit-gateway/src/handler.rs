//! The MCP server of one session: `tools/list` from the current catalog, `tools/call` through
//! the runtime's call pipeline, and `notifications/tools/list_changed` when the catalog changes
//! (sent on the session for clients that initialized with a handshake, and on
//! `subscriptions/listen` streams for clients on protocol 2026-07-28 and later).

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolkit_runtime::Caller;

use crate::gateway::Gateway;
use crate::mapping;

/// Characters of a client's name kept in its caller id.
const CLIENT_NAME_MAX: usize = 64;

const INSTRUCTIONS: &str = "Tools declared by the operators of this toolkit gateway. Every call is validated against \
the tool's input schema, rate-limited, checked by policy and audited; a failed call returns isError with the reason.";

/// The MCP server of one session. Dropping it (when the session ends) stops its change
/// notifications.
pub struct McpHandler {
    gateway: Gateway,
    session: CancellationToken,
}

impl McpHandler {
    pub(crate) fn new(gateway: Gateway) -> Self {
        Self { gateway, session: CancellationToken::new() }
    }
}

impl Drop for McpHandler {
    fn drop(&mut self) {
        self.session.cancel();
    }
}

/// `mcp:<clientInfo.name>`, or `mcp:anonymous` when the client did not say.
pub fn caller_of(client_name: Option<&str>) -> Caller {
    let name: String = client_name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(CLIENT_NAME_MAX)
        .collect::<String>()
        .trim()
        .to_owned();
    Caller { id: format!("mcp:{}", if name.is_empty() { "anonymous" } else { &name }) }
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("toolkit-gateway", env!("CARGO_PKG_VERSION")).with_title("toolkit"))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.gateway.snapshot().map(|s| s.tools.clone()).unwrap_or_default();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(snapshot) = self.gateway.snapshot() else {
            return Ok(tool_error("the tool catalog is still loading; retry in a moment"));
        };
        let Some(served) = snapshot.by_name.get(request.name.as_ref()) else {
            let shown: String = request.name.chars().take(crate::names::MAX_LEN).collect();
            return Err(ErrorData::invalid_params(
                format!("unknown tool {shown:?}; call tools/list for the tools served"),
                None,
            ));
        };
        // Holding a token while the call runs lets shutdown wait for it.
        let Some(_in_flight) = (!self.gateway.closing().is_cancelled()).then(|| self.gateway.calls().token()) else {
            return Ok(tool_error("the gateway is shutting down; retry shortly"));
        };
        let caller = caller_of(context.client_info().as_ref().map(|i| i.name.as_str()));
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let outcome = snapshot.runtime.call_until(&caller, &served.reference, arguments, context.ct.cancelled()).await;
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

fn tool_error(message: &str) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message)]).into()
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
    }
}
