//! How prepared tools are described to agents: the MCP tool definitions the gateway lists and
//! `toolkit tool schema` prints, and the same tools as OpenAI-style function definitions.
//!
//! The served tools are the enabled, prepared ones, in namespace/name order, named by
//! [`names::assign_with`] (`spec.mcpName` where the manifest sets one). The title is `displayName`, else `annotations.title`. A `readOnly: true`
//! tool is announced with `readOnlyHint: true` unless its annotations say otherwise.

pub mod names;

use serde::Serialize;
use serde_json::{Map, Value, json};
use toolkit_core::ToolRef;

use crate::{PreparedTool, Runtime};

/// An MCP tool definition (`Tool` of `tools/list`), serialized as MCP writes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDescription {
    /// The MCP name.
    pub name: String,
    /// A short title for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments, always of `type: object`.
    pub input_schema: Map<String, Value>,
    /// JSON Schema of the structured result, when declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Map<String, Value>>,
    /// Hints for clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// MCP tool annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// A title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not change its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may destroy or overwrite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling it twice with the same arguments does no more than once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// It reaches an open world of external entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// The MCP definition of `tool`, served as `name`.
pub fn describe(name: &str, tool: &PreparedTool) -> ToolDescription {
    let spec = tool.spec();
    let mut input_schema = tool.input_schema().as_object().cloned().unwrap_or_default();
    // MCP requires an object schema; connectors' defaults and validated manifests already are.
    input_schema.entry("type").or_insert_with(|| Value::String("object".into()));
    let declared = spec.annotations.as_ref();
    let read_only = declared.and_then(|a| a.read_only_hint).or(spec.read_only.then_some(true));
    let annotations = (declared.is_some() || read_only.is_some()).then(|| Annotations {
        title: declared.and_then(|a| a.title.clone()),
        read_only_hint: read_only,
        destructive_hint: declared.and_then(|a| a.destructive_hint),
        idempotent_hint: declared.and_then(|a| a.idempotent_hint),
        open_world_hint: declared.and_then(|a| a.open_world_hint),
    });
    ToolDescription {
        name: name.to_owned(),
        title: spec.display_name.clone().or_else(|| declared.and_then(|a| a.title.clone())),
        description: spec.description.clone(),
        input_schema,
        output_schema: spec.output_schema.as_ref().and_then(Value::as_object).cloned(),
        annotations,
    }
}

/// Every tool `runtime` serves, with its reference, in namespace/name order.
pub fn served(runtime: &Runtime) -> Vec<(ToolRef, ToolDescription)> {
    let enabled: Vec<_> = runtime.tools().filter(|t| t.spec().enabled).collect();
    let assigned = names::assign_with(enabled.iter().map(|t| (t.reference(), t.spec().mcp_name.as_deref())));
    let by_ref: std::collections::HashMap<&ToolRef, &str> = assigned.iter().map(|(n, r)| (r, n.as_str())).collect();
    enabled
        .iter()
        .filter_map(|t| by_ref.get(t.reference()).map(|name| (t.reference().clone(), describe(name, t))))
        .collect()
}

/// Why a schema cannot be used with OpenAI's `strict: true`, if it cannot: strict mode needs
/// every object to list all its properties as required and to set
/// `additionalProperties: false`.
pub fn strict_problem(schema: &Value) -> Option<String> {
    fn walk(v: &Value, at: &str) -> Option<String> {
        match v {
            Value::Object(o) => {
                if o.get("type").and_then(Value::as_str) == Some("object") || o.contains_key("properties") {
                    if o.get("additionalProperties") != Some(&Value::Bool(false)) {
                        return Some(format!("{at}: `additionalProperties` must be false"));
                    }
                    let required: Vec<&str> = o
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let props = o.get("properties").and_then(Value::as_object);
                    if let Some(missing) =
                        props.into_iter().flat_map(|p| p.keys()).find(|k| !required.contains(&k.as_str()))
                    {
                        return Some(format!("{at}: property `{missing}` must be required"));
                    }
                }
                o.iter().find_map(|(k, child)| walk(child, &format!("{at}/{k}")))
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, child)| walk(child, &format!("{at}/{i}"))),
            _ => None,
        }
    }
    walk(schema, "")
}

/// `tool` as an OpenAI function definition named `name`:
/// `{"type": "function", "function": {"name", "description", "parameters", "strict"}}`.
/// `strict` is written only when asked for.
pub fn function(name: &str, tool: &ToolDescription, strict: Option<bool>) -> Value {
    let mut function = Map::new();
    function.insert("name".into(), Value::String(name.to_owned()));
    let description = match (&tool.title, &tool.description) {
        (_, Some(d)) => Some(d.clone()),
        (Some(t), None) => Some(t.clone()),
        (None, None) => None,
    };
    if let Some(d) = description {
        function.insert("description".into(), Value::String(d));
    }
    function.insert("parameters".into(), Value::Object(tool.input_schema.clone()));
    if let Some(strict) = strict {
        function.insert("strict".into(), Value::Bool(strict));
    }
    json!({"type": "function", "function": function})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_needs_closed_objects_with_every_property_required() {
        let ok = json!({"type": "object", "additionalProperties": false, "required": ["a"],
                        "properties": {"a": {"type": "object", "properties": {}, "additionalProperties": false}}});
        assert_eq!(strict_problem(&ok), None);
        let open = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        assert!(strict_problem(&open).unwrap().contains("additionalProperties"));
        let optional = json!({"type": "object", "additionalProperties": false, "properties": {"a": {}}});
        assert_eq!(strict_problem(&optional).unwrap(), ": property `a` must be required");
    }

    #[test]
    fn functions_take_the_description_or_the_title() {
        let tool = ToolDescription {
            name: "t".into(),
            title: Some("T".into()),
            description: None,
            input_schema: Map::new(),
            output_schema: None,
            annotations: None,
        };
        let f = function("t", &tool, Some(false));
        assert_eq!(
            f,
            json!({"type": "function", "function": {"name": "t", "description": "T", "parameters": {}, "strict": false}})
        );
        assert!(function("t", &tool, None)["function"].get("strict").is_none());
    }
}
