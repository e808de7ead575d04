//! Agent calls: render the request from the arguments, send it, return `{status, headers, body}`.

use async_trait::async_trait;
use serde_json::Value;
use toolkit_core::Result;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};

use crate::HttpTool;
use crate::request::{Seen, Target};

#[async_trait]
impl Invoker for HttpTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let mut seen = Seen::new();
        let target = self.target(&call.arguments, &mut seen).await?;
        self.call(target, &call.limits, &mut seen).await
    }
}

impl HttpTool {
    /// Sends `target` within `limits`; a status outside 2xx is an error.
    pub(crate) async fn call(&self, target: Target, limits: &CallLimits, seen: &mut Seen) -> Result<InvokeOutput> {
        let cap = self.cfg.max_response_bytes.min(limits.max_output_bytes);
        let timeout = self.cfg.timeout.min(limits.timeout);
        let answer = self.send(target, Some(timeout), cap, seen).await?;
        if !answer.status.is_success() {
            return Err(answer.status_error(seen));
        }
        let status = answer.status.as_u16();
        let truncated = answer.truncated;
        let mut out = InvokeOutput::new(answer.into_result(seen));
        out.truncated = truncated;
        out.metadata.insert("status".into(), Value::from(status));
        Ok(out)
    }
}
