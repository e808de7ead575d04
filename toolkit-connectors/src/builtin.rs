//! Builtin tools: `noop` echoes its arguments, `terminate` ends the conversation.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invocation, InvokeOutput, Invoker, ToolInstance};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, Result, SpecPart, ToolSpec, TypeInfo};

/// The `spec.type` of builtin tools.
pub const TYPE: &str = "builtin";

/// The builtins toolkit ships.
pub const BUILTINS: &[&str] = &["noop", "terminate"];

/// `spec.builtin`: which builtin a tool is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuiltinSpec {
    /// `noop` (echoes its arguments) or `terminate` (ends the conversation with its `response`).
    pub name: String,
}

/// The `builtin` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinConnector;

impl Connector for BuiltinConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "A tool built into toolkit").with(SpecPart::block::<BuiltinSpec>("builtin", true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = Vec::new();
        match spec.read_block::<BuiltinSpec>("builtin", &mut errs) {
            Some(b) if !BUILTINS.contains(&b.name.as_str()) => errs.push(FieldError::new(
                "spec.builtin.name",
                format!("unknown builtin `{}`; known builtins: {}", b.name, BUILTINS.join(", ")),
            )),
            None if !spec.blocks.contains_key("builtin") => {
                errs.push(FieldError::new("spec.builtin", "is required for type builtin"));
            }
            _ => {}
        }
        errs
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({"type": "object", "additionalProperties": true}))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx
            .spec()
            .block_as::<BuiltinSpec>("builtin")
            .map_err(|errs| config_error(format_args!("build builtin tool {}", ctx.qualified_name()), &errs))?;
        let kind = match spec.as_ref().map(|b| b.name.as_str()) {
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
