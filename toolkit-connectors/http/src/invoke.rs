//! Agent calls: render the request from the arguments, send it (again when a retry may help),
//! return `{status, headers, body}`.

use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;
use toolkit_core::Result;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};

use crate::HttpTool;
use crate::request::{Seen, Target};

#[async_trait]
impl Invoker for HttpTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let mut seen = Seen::new();
        let target = self.target(&call.arguments, &mut seen).await?;
        let limits = call.limits;
        crate::auth::SUBJECT.scope(call.subject_token, self.call(target, &limits, &mut seen)).await
    }
}

impl HttpTool {
    /// Sends `target` within `limits`, with retries; a status outside 2xx is an error.
    pub(crate) async fn call(&self, target: Target, limits: &CallLimits, seen: &mut Seen) -> Result<InvokeOutput> {
        let cap = self.cfg.max_response_bytes.min(limits.max_output_bytes);
        let timeout = self.cfg.timeout.min(limits.timeout);
        let deadline = Instant::now() + timeout;
        let request = self.build(target, Some(timeout), seen).await?;
        let answer = self.send_with_retries(request, deadline, cap, seen).await?;
        let status = answer.status.as_u16();
        let truncated = answer.truncated;
        let mut out = InvokeOutput::new(answer.into_result(&self.redacted(seen)));
        out.truncated = truncated;
        out.metadata.insert("status".into(), Value::from(status));
        Ok(out)
    }
}
