//! Agent calls: `tools/call` on the upstream, and its result as JSON.
//!
//! The result is `structuredContent` when the upstream sends it; otherwise the text items
//! joined with newlines, or, when there are images, audio or resources, every item as its MCP
//! JSON. A result with `isError: true` is an `upstream` error carrying the upstream's text.
//! Output longer than `maxOutputBytes` is cut and marked truncated.

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::Value;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::McpTool;
use crate::errors::{UpstreamText, clip};

#[async_trait]
impl Invoker for McpTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let client = match &self.exchange {
            Some(x) => x.client_for(&self.client, call.subject_token.as_ref()).await?,
            None => self.client.clone(),
        };
        if self.read_only {
            check_read_only(&client.list_tools().await?, &self.tool_name)?;
        }
        let result = client.call(&self.tool_name, call.arguments).await?;
        output(result, &self.tool_name, &call.limits)
    }
}

/// Refuses a tool the upstream does not declare read-only (`annotations.readOnlyHint`).
pub(crate) fn check_read_only(tools: &[Tool], name: &str) -> Result<()> {
    let declared =
        tools.iter().find(|t| t.name == name).and_then(|t| t.annotations.as_ref()).and_then(|a| a.read_only_hint);
    if declared == Some(true) {
        return Ok(());
    }
    Err(Error::new(ErrorKind::Denied, format!("call `{name}` on a readOnly tool"))
        .with_context("reason", "the upstream does not declare the tool read-only (annotations.readOnlyHint)"))
}

/// The JSON of a call's result, within `limits`.
pub(crate) fn output(result: CallToolResult, tool: &str, limits: &CallLimits) -> Result<InvokeOutput> {
    let items = result.content.len();
    if result.is_error == Some(true) {
        let text = text_of(&result.content).unwrap_or_else(|| "no details".to_owned());
        return Err(Error::new(ErrorKind::Upstream, format!("run `{tool}` on the MCP server"))
            .with_source(UpstreamText(clip(&text))));
    }
    let content = match result.structured_content {
        Some(structured) => structured,
        None => match text_of(&result.content) {
            Some(text) if result.content.iter().all(|c| c.as_text().is_some()) => Value::String(text),
            _ if result.content.is_empty() => Value::Null,
            _ => Value::Array(result.content.iter().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)).collect()),
        },
    };
    let mut out = capped(content, limits.max_output_bytes);
    out.metadata.insert("upstreamTool".into(), Value::String(tool.to_owned()));
    out.metadata.insert("contentItems".into(), Value::from(items));
    Ok(out)
}

/// The text items joined with newlines, when there is any.
fn text_of(content: &[ContentBlock]) -> Option<String> {
    let texts: Vec<&str> = content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// `content` as it is when its JSON fits in `max` bytes; otherwise its text (or JSON text) cut
/// to fit, marked truncated.
pub(crate) fn capped(content: Value, max: usize) -> InvokeOutput {
    let text = match &content {
        Value::String(s) if s.len() <= max => return InvokeOutput::new(content),
        Value::String(s) => s.clone(),
        other => {
            let json = other.to_string();
            if json.len() <= max {
                return InvokeOutput::new(content);
            }
            json
        }
    };
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = InvokeOutput::new(Value::String(text[..cut].to_owned()));
    out.truncated = true;
    out.metadata.insert("truncatedBytes".into(), Value::from(text.len() - cut));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn limits(max: usize) -> CallLimits {
        CallLimits { max_output_bytes: max, ..CallLimits::default() }
    }

    #[test]
    fn text_items_are_joined_and_structured_content_wins() {
        let r = CallToolResult::success(vec![ContentBlock::text("a"), ContentBlock::text("b")]);
        assert_eq!(output(r, "t", &limits(100)).unwrap().content, json!("a\nb"));
        let mut r = CallToolResult::success(vec![ContentBlock::text("{\"x\":1}")]);
        r.structured_content = Some(json!({"x": 1}));
        assert_eq!(output(r, "t", &limits(100)).unwrap().content, json!({"x": 1}));
        let r = CallToolResult::success(vec![ContentBlock::text("pic"), ContentBlock::image("AAAA", "image/png")]);
        let out = output(r, "t", &limits(1000)).unwrap();
        assert_eq!(out.content[1]["type"], "image");
    }

    #[test]
    fn errors_carry_the_upstream_text() {
        let r = CallToolResult::error(vec![ContentBlock::text("no such file")]);
        let e = output(r, "read", &limits(100)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Upstream);
        assert_eq!(e.to_string(), "run `read` on the MCP server: no such file");
    }

    #[test]
    fn long_output_is_cut() {
        let r = CallToolResult::success(vec![ContentBlock::text("é".repeat(100))]);
        let out = output(r, "t", &limits(65)).unwrap();
        assert!(out.truncated);
        assert_eq!(out.content.as_str().unwrap().len(), 64);
        let out = capped(json!({"k": "v".repeat(100)}), 20);
        assert!(out.truncated && out.content.as_str().unwrap().starts_with("{\"k\""));
    }

    #[test]
    fn read_only_needs_the_upstream_hint() {
        let mut t = Tool::new("ro", "d", serde_json::Map::new());
        assert_eq!(check_read_only(std::slice::from_ref(&t), "ro").unwrap_err().kind(), ErrorKind::Denied);
        t.annotations = Some(rmcp::model::ToolAnnotations::new().read_only(true));
        assert!(check_read_only(&[t], "ro").is_ok());
    }
}
