//! Toolkit to MCP: a prepared tool as an MCP tool definition, and a call's outcome as an MCP
//! tool result.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::Value;
use toolkit_core::{Error, ToolRef};
use toolkit_runtime::{CallOutcome, PreparedTool};

/// The MCP definition of `tool`, served as `name`, as
/// [`toolkit_runtime::describe::describe`] gives it.
pub fn describe(name: &str, tool: &PreparedTool) -> Tool {
    let d = toolkit_runtime::describe::describe(name, tool);
    let mut out = Tool::new_with_raw(d.name, d.description.map(Into::into), Arc::new(d.input_schema));
    if let Some(title) = d.title {
        out = out.with_title(title);
    }
    if let Some(schema) = d.output_schema {
        out = out.with_raw_output_schema(Arc::new(schema));
    }
    if let Some(a) = d.annotations {
        out = out.with_annotations(ToolAnnotations::from_raw(
            a.title,
            a.read_only_hint,
            a.destructive_hint,
            a.idempotent_hint,
            a.open_world_hint,
        ));
    }
    out
}

/// The MCP result of a call.
///
/// A failure is a tool result with `isError: true` and the error's text (already redacted by
/// the runtime), so the agent can read what went wrong and correct its arguments. Success is
/// the output as text (a string as it is, anything else as pretty JSON), plus
/// `structuredContent` when the tool declares an `outputSchema` or the output is an object.
/// Output cut to a string by the size cap is never sent as structured content.
pub fn result(outcome: Result<CallOutcome, Error>, has_output_schema: bool) -> CallToolResult {
    let output = match outcome {
        Ok(outcome) => outcome.output,
        Err(e) => return CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
    };
    let content = output.content;
    let text = match &content {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    };
    let structured = !(output.truncated && content.is_string()) && (has_output_schema || content.is_object());
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    if structured {
        result.structured_content = Some(content);
    }
    result
}

/// The opaque `tools/list` cursor continuing after `after`: `t1.` and the base64url of its
/// JSON `[namespace, name]`.
pub(crate) fn cursor(after: &ToolRef) -> String {
    use base64::Engine as _;
    let json = serde_json::json!([after.namespace, after.name]).to_string();
    format!("t1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// The reference a [`cursor`] continues after; `None` for anything else.
pub(crate) fn read_cursor(cursor: &str) -> Option<ToolRef> {
    use base64::Engine as _;
    let encoded = cursor.strip_prefix("t1.")?;
    if encoded.len() > 2048 {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).ok()?;
    let (namespace, name): (String, String) = serde_json::from_slice(&json).ok()?;
    Some(ToolRef::new(namespace, name))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use toolkit_core::connector::InvokeOutput;

    use super::*;

    fn ok(content: Value) -> Result<CallOutcome, Error> {
        Ok(CallOutcome { output: InvokeOutput::new(content), duration: Duration::ZERO })
    }

    #[test]
    fn strings_are_plain_text() {
        let r = result(ok(json!("hello")), false);
        assert_eq!(r.content[0].as_text().unwrap().text, "hello");
        assert!(r.structured_content.is_none());
        assert_eq!(r.is_error, Some(false));
    }

    #[test]
    fn objects_are_structured() {
        let r = result(ok(json!({"a": 1})), false);
        assert_eq!(r.structured_content, Some(json!({"a": 1})));
        assert!(r.content[0].as_text().unwrap().text.contains("\"a\": 1"));
    }

    #[test]
    fn arrays_only_with_an_output_schema() {
        assert!(result(ok(json!([1])), false).structured_content.is_none());
        assert!(result(ok(json!([1])), true).structured_content.is_some());
    }

    #[test]
    fn cursors_round_trip_and_nothing_else_reads() {
        let r = ToolRef::new("prod", "a.b");
        assert_eq!(read_cursor(&cursor(&r)), Some(r));
        for bad in ["", "t1.", "t1.!!", "t2.WyJhIiwiYiJd", "t1.WyJhIl0"] {
            assert_eq!(read_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn errors_are_tool_errors() {
        let r = result(Err(Error::invalid_input("invalid arguments: /x: bad")), false);
        assert_eq!(r.is_error, Some(true));
        assert!(r.content[0].as_text().unwrap().text.contains("/x: bad"));
    }
}
