//! The agent-facing call: one command line run over the tool's shared connection.

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, Result};

use crate::SshTool;
use crate::exec::{check_read_only, run_shared};

/// The arguments schema: `{command}`.
pub(crate) fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "command": {
                "type": "string",
                "minLength": 1,
                "description": "The command line, run by the login shell of the remote user (as `ssh host 'command'` does)"
            }
        },
        "required": ["command"],
        "additionalProperties": false
    })
}

#[async_trait]
impl Invoker for SshTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let command = match call.arguments.get("command") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.as_str(),
            Some(Value::String(_)) => return Err(Error::invalid_input("run an ssh command: `command` is empty")),
            _ => return Err(Error::invalid_input("run an ssh command: the argument `command` (a string) is required")),
        };
        if self.read_only {
            check_read_only(command)?;
        }
        run_shared(&self.conn, command, &call.limits).await
    }
}
