//! The policy hook of the call pipeline.

use async_trait::async_trait;
use serde_json::{Map, Value};
use toolkit_core::Result;

use crate::PreparedTool;

/// What the policy decided about a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Run it.
    Allow,
    /// Refuse it, with the reasons.
    Deny(Vec<String>),
}

/// Decides whether a call may run; approvals plug in here.
#[async_trait]
pub trait CallPolicy: Send + Sync {
    /// Looks at one call before it runs.
    async fn check(&self, tool: &PreparedTool, caller: &str, arguments: &Map<String, Value>) -> Result<Decision>;
}

/// Refuses anything but a single read on SQL tools with `readOnly: true`, parsed in the
/// dialect of the tool's engine. The engine also runs such statements read-only, so this is
/// the first of two layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOnlySqlPolicy;

#[async_trait]
impl CallPolicy for ReadOnlySqlPolicy {
    async fn check(&self, tool: &PreparedTool, _caller: &str, arguments: &Map<String, Value>) -> Result<Decision> {
        let spec = tool.spec();
        let Some(dialect) = toolkit_policy::SqlDialect::for_tool_type(spec.type_).filter(|_| spec.read_only) else {
            return Ok(Decision::Allow);
        };
        let Some(query) = arguments.get("query").and_then(Value::as_str) else {
            return Ok(Decision::Allow);
        };
        let verdict = toolkit_policy::check_read_only(dialect, query);
        Ok(if verdict.read_only { Decision::Allow } else { Decision::Deny(verdict.reasons) })
    }
}
