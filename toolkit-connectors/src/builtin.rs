//! Builtin tools: `noop` echoes its arguments, `terminate` ends the conversation.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invocation, InvokeOutput, Invoker, ToolInstance};
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, Result, ToolSpec, ToolType};

/// The `builtin` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinConnector;

impl Connector for BuiltinConnector {
    fn tool_type(&self) -> ToolType {
        ToolType::Builtin
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, _spec: &ToolSpec) -> Vec<FieldError> {
        // The shared checks already require a known `builtin.name`.
        Vec::new()
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({"type": "object", "additionalProperties": true}))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let kind = match ctx.spec().builtin.as_ref().map(|b| b.name.as_str()) {
            Some("noop") => Builtin::Noop,
            Some("terminate") => Builtin::Terminate,
            other => return Err(Error::config(format!("unknown builtin `{}`", other.unwrap_or("")))),
        };
        Ok(Arc::new(kind))
    }
}

#[derive(Debug, Clone, Copy)]
enum Builtin {
    Noop,
    Terminate,
}

impl ToolInstance for Builtin {
    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }
}

#[async_trait]
impl Invoker for Builtin {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        match self {
            Builtin::Noop => Ok(InvokeOutput::new(Value::Object(call.arguments))),
            Builtin::Terminate => {
                // ARK's terminate tool takes the final `response`.
                let response = call.arguments.get("response").cloned().unwrap_or(Value::Object(call.arguments.clone()));
                let mut out = InvokeOutput::new(response);
                out.metadata.insert("terminate".into(), Value::Bool(true));
                Ok(out)
            }
        }
    }
}
