//! The connectivity check: connect and `initialize` (the server's name and version), then
//! `tools/list`, which must hold the tool.

use async_trait::async_trait;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{Error, ErrorKind, Result};

use crate::McpTool;

/// Tool names listed in a "not found" error at most.
const NAMES_SHOWN: usize = 20;

#[async_trait]
impl Probe for McpTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let connected = self.client.connect().await;
        if let (Some(x), Err(e)) = (&self.exchange, &connected)
            && e.kind() == ErrorKind::Auth
        {
            // Reached, and it wants a caller's identity, which a probe has not.
            let mut report = ProbeReport::default();
            report.details.insert("transport".into(), self.client.server().transport().to_owned());
            report
                .details
                .insert("authentication".into(), format!("the caller's token, exchanged at {}", x.token_url()));
            return Ok(report);
        }
        let live = connected?;
        let tools = self.client.list_tools().await?;
        if !tools.iter().any(|t| t.name == self.tool_name) {
            let names: Vec<&str> = tools.iter().take(NAMES_SHOWN).map(|t| t.name.as_ref()).collect();
            return Err(Error::not_found(format!("find tool `{}` on the MCP server", self.tool_name))
                .with_context("server", self.client.server().label())
                .with_context("tools", if names.is_empty() { "none".to_owned() } else { names.join(", ") }));
        }
        let mut report = ProbeReport { server_version: live.server_version(), ..ProbeReport::default() };
        report.details.insert("transport".into(), self.client.server().transport().to_owned());
        if let Some(v) = live.protocol_version() {
            report.details.insert("protocolVersion".into(), v);
        }
        report.details.insert("tools".into(), tools.len().to_string());
        Ok(report)
    }
}
