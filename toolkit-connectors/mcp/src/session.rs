//! Sessions: the server's address (or command line and environment) for a native client, and
//! commands run through the tool's connection: `tools/list`, and `call TOOL [JSON]` for any
//! tool of the server (with `readOnly: true`, only tools the server declares read-only).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::McpTool;
use crate::client::McpClient;
use crate::config::Endpoint;
use crate::invoke::{capped, check_read_only, output};

/// A live session on the tool's shared connection.
pub(crate) struct McpSession {
    client: Arc<McpClient>,
    read_only: bool,
    env: Vec<EnvEntry>,
}

pub(crate) async fn open(tool: &McpTool) -> Result<Box<dyn Session>> {
    if let Some(x) = &tool.exchange {
        return Err(Error::unsupported("open a session on an mcp tool that uses tokenExchange")
            .with_context(
                "reason",
                "the server is reached with each caller's exchanged token, and a session has no caller token",
            )
            .with_context("token_url", x.token_url().as_str()));
    }
    tool.client.connect().await?;
    let server = tool.client.server();
    let mut env =
        vec![EnvEntry::plain("MCP_TRANSPORT", server.transport()), EnvEntry::plain("MCP_TOOL", tool.tool_name.clone())];
    match &server.endpoint {
        Endpoint::Http { url } => env.push(EnvEntry::plain("MCP_URL", url.as_str())),
        Endpoint::Stdio { command, env: vars } => {
            env.push(EnvEntry::plain("MCP_COMMAND", shell_words::join(command)));
            // What the server itself is started with, so a client can start it the same way.
            env.extend(tool.client.resolver().env(vars, &mut Vec::new()).await?);
        }
    }
    Ok(Box::new(McpSession { client: tool.client.clone(), read_only: tool.read_only, env }))
}

#[async_trait]
impl Session for McpSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        // One string holding a whole line (`call echo '{"message": "hi"}'`) is split like a shell would.
        let argv = match command {
            [line] if line.contains(char::is_whitespace) => {
                shell_words::split(line).map_err(|e| Error::invalid_input("split the command line").with_source(e))?
            }
            _ => command.to_vec(),
        };
        match argv.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["tools/list" | "tools" | "list"] => {
                let tools = self.client.list_tools().await?;
                let listed: Vec<Value> = tools
                    .iter()
                    .take(limits.max_rows)
                    .map(|t| serde_json::to_value(t).unwrap_or_else(|_| json!({"name": t.name})))
                    .collect();
                let truncated = tools.len() > listed.len();
                let mut out = capped(Value::Array(listed), limits.max_output_bytes);
                out.truncated |= truncated;
                out.metadata.insert("rowCount".into(), Value::from(tools.len()));
                Ok(out)
            }
            ["call", name, rest @ ..] => {
                let text = rest.join(" ");
                let arguments: Map<String, Value> = if text.trim().is_empty() {
                    Map::new()
                } else {
                    serde_json::from_str(&text)
                        .map_err(|e| Error::invalid_input("read the arguments: give one JSON object").with_source(e))?
                };
                if self.read_only {
                    check_read_only(&self.client.list_tools().await?, name)?;
                }
                let result = self.client.call(name, arguments).await?;
                output(result, name, limits)
            }
            _ => Err(Error::invalid_input("run an MCP command: use `tools/list` or `call TOOL [JSON arguments]`")),
        }
    }
}
