//! `ark.mckinsey.com/v1alpha1` Tool: types `http`, `mcp`, `agent`, `builtin` and `inline`.
//!
//! ark's http block (url and `{param}` placeholders, headers with `valueFrom`, a Go-template body
//! with `bodyParameters`) is the shape of toolkit's own, so it carries over as written; ark's
//! `http.timeout` becomes the tool's timeout. `inline` tools (python or bash source) become
//! `bash` tools whose script is the source. `team` tools have no toolkit equivalent and are
//! refused, as are blocks that do not belong to the tool's type.

use serde_yaml::Value as Yaml;

use crate::Converted;
use crate::fields::{Fields, check_object, metadata, tool_document, value_from};
use toolkit_core::model::{
    ApprovalRequired, ApprovalSpec, ObjectRef, OnTimeout, ToolAnnotations, ToolSpec, ValueSource,
};

use crate::native;
use toolkit_core::validate::FieldError;

/// The `apiVersion` of ark resources.
pub(crate) const API_VERSION: &str = "ark.mckinsey.com/v1alpha1";

/// The blocks that belong to one type each.
const TYPE_BLOCKS: &[&str] = &["http", "mcp", "agent", "team", "builtin", "inline"];

/// Converts one ark Tool.
pub(crate) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    check_object(&root)?;
    let metadata = metadata(&root)?;
    let spec = root.required_map("spec")?;
    let mut known = vec!["type", "description", "inputSchema", "annotations", "approval"];
    known.extend_from_slice(TYPE_BLOCKS);
    spec.allow(&known)?;
    let type_name = spec.required_str("type")?;
    if let Some(block) = TYPE_BLOCKS.iter().find(|b| **b != type_name && spec.has(b)) {
        return Err(FieldError::new(
            spec.at(block),
            format!("only ark tools of type {block} take this block, not `{type_name}`"),
        ));
    }

    let mut notes = Vec::new();
    let mut deferred = Vec::new();
    let mut out = ToolSpec {
        description: spec.string("description")?,
        input_schema: spec.json("inputSchema")?,
        annotations: spec.map("annotations")?.map(|a| annotations(&a)).transpose()?,
        approval: spec.map("approval")?.map(|a| approval(&a)).transpose()?,
        ..ToolSpec::default()
    };
    match type_name {
        "http" => {
            let block = spec.required_map("http")?;
            out.type_ = "http".into();
            out.timeout = block.duration("timeout", true)?;
            out = out.with_block("http", http(&block, &mut notes)?);
        }
        "mcp" => {
            out.type_ = "mcp".into();
            out = out.with_block("mcp", mcp(&spec.required_map("mcp")?)?);
            // ark finds the server by reference while it runs; local mode needs its URL.
            deferred.push("spec.mcp.serverRef".to_owned());
        }
        "agent" => {
            out.type_ = "agent".into();
            out = out.with_block("agent", native::Named { name: referenced_name(&spec, "agent")? });
            // ark finds the agent by name while it runs; local mode needs where it is served.
            deferred.push("spec.agent.url".to_owned());
        }
        "builtin" => {
            // The builtin is chosen by `builtin.name`, whatever the tool is called.
            out.type_ = "builtin".into();
            out = out.with_block("builtin", native::Named { name: referenced_name(&spec, "builtin")? });
        }
        "inline" => {
            out.type_ = "bash".into();
            out = out.with_block("command", inline(&spec.required_map("inline")?, &mut notes)?);
        }
        "team" => {
            return Err(FieldError::new(
                "spec.type",
                "ark `team` tools hand the call to a team of agents; toolkit has no equivalent",
            ));
        }
        other => {
            return Err(FieldError::new(
                "spec.type",
                format!("unknown ark tool type `{other}`; ark defines http, mcp, agent, team, builtin and inline"),
            ));
        }
    }
    Ok(Converted { documents: vec![tool_document(metadata, out)?], notes, deferred })
}

fn http(block: &Fields<'_>, notes: &mut Vec<String>) -> Result<native::Http, FieldError> {
    block.allow(&["url", "method", "headers", "timeout", "body", "bodyParameters"])?;
    let mut headers = Vec::new();
    for header in block.maps("headers")? {
        header.allow(&["name", "value"])?;
        let value = header.required_map("value")?;
        value.allow(&["value", "valueFrom"])?;
        let value_from = value.map("valueFrom")?.map(|f| value_from(&f, &["queryParameterRef"], notes)).transpose()?;
        headers.push(native::Header {
            name: header.required_str("name")?.to_owned(),
            value: ValueSource { value: value.string("value")?, value_from },
        });
    }
    let mut body_parameters = Vec::new();
    for param in block.maps("bodyParameters")? {
        param.allow(&["name", "value", "valueFrom"])?;
        let value_from =
            param.map("valueFrom")?.map(|f| value_from(&f, &["serviceRef", "queryParameterRef"], notes)).transpose()?;
        body_parameters.push(native::Parameter {
            name: param.required_str("name")?.to_owned(),
            value: param.string("value")?,
            value_from,
        });
    }
    Ok(native::Http {
        url: block.required_str("url")?.to_owned(),
        method: block.string("method")?,
        headers,
        body: block.string("body")?,
        body_parameters,
    })
}

fn mcp(block: &Fields<'_>) -> Result<native::Mcp, FieldError> {
    block.allow(&["mcpServerRef", "toolName"])?;
    let server = block.required_map("mcpServerRef")?;
    server.allow(&["name", "namespace"])?;
    let tool_name = block
        .str("toolName")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| FieldError::new(block.at("toolName"), "is required: name the tool on the MCP server"))?;
    Ok(native::Mcp {
        server_ref: Some(ObjectRef {
            name: server.required_str("name")?.to_owned(),
            namespace: server.string("namespace")?,
        }),
        tool_name: tool_name.to_owned(),
        ..native::Mcp::default()
    })
}

/// `agent: {name}` and `builtin: {name}`; older ark releases wrote `agent: NAME`.
fn referenced_name(spec: &Fields<'_>, block: &str) -> Result<String, FieldError> {
    if let Some(Yaml::String(name)) = spec.get(block)
        && !name.trim().is_empty()
    {
        return Ok(name.clone());
    }
    let reference = spec.required_map(block)?;
    reference.allow(&["name"])?;
    Ok(reference.required_str("name")?.to_owned())
}

/// `inline: {language, source}` as a bash script. ark passes the call's arguments as JSON in the
/// first argument, which the script keeps reading as `$1` (python: `sys.argv[1]`).
fn inline(block: &Fields<'_>, notes: &mut Vec<String>) -> Result<native::Command, FieldError> {
    block.allow(&["language", "source"])?;
    let source = block.required_str("source")?;
    let script = match block.required_str("language")? {
        "bash" | "sh" => source.to_owned(),
        "python" | "python3" => {
            notes.push(
                "spec.inline: the python source runs as `python3 -` from a bash script; \
                 python3 must be installed where toolkit runs bash tools"
                    .into(),
            );
            python_script(source)
        }
        other => {
            return Err(FieldError::new(
                block.at("language"),
                format!("inline `{other}` source is not supported; toolkit imports python and bash"),
            ));
        }
    };
    notes.push(
        "spec.inline: the script expects the call's arguments as JSON in its first argument, \
         as ark passes them"
            .into(),
    );
    Ok(native::Command { script })
}

/// A bash script feeding `source` to `python3 -` through a quoted here-document (no expansion),
/// with a delimiter that no line of the source equals.
fn python_script(source: &str) -> String {
    let mut delimiter = String::from("TOOLKIT_PYTHON_SOURCE");
    while source.lines().any(|l| l == delimiter) {
        delimiter.push('_');
    }
    let newline = if source.ends_with('\n') { "" } else { "\n" };
    format!("exec python3 - \"$@\" <<'{delimiter}'\n{source}{newline}{delimiter}\n")
}

fn annotations(a: &Fields<'_>) -> Result<ToolAnnotations, FieldError> {
    a.allow(&["title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"])?;
    Ok(ToolAnnotations {
        title: a.string("title")?,
        read_only_hint: a.bool("readOnlyHint")?,
        destructive_hint: a.bool("destructiveHint")?,
        idempotent_hint: a.bool("idempotentHint")?,
        open_world_hint: a.bool("openWorldHint")?,
    })
}

/// `approval: {required, timeout, onTimeout}`.
fn approval(a: &Fields<'_>) -> Result<ApprovalSpec, FieldError> {
    a.allow(&["required", "timeout", "onTimeout"])?;
    let on_timeout = match a.str("onTimeout")? {
        None | Some("reject") => OnTimeout::Reject,
        Some("proceed") => OnTimeout::Proceed,
        Some(other) => {
            return Err(FieldError::new(
                a.at("onTimeout"),
                format!("unknown value `{other}`; ark defines reject and proceed"),
            ));
        }
    };
    let required =
        if a.bool("required")?.unwrap_or(false) { ApprovalRequired::Always } else { ApprovalRequired::Never };
    Ok(ApprovalSpec { required, timeout: a.duration("timeout", false)?, on_timeout })
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::duration::Duration;
    use toolkit_core::manifest::parse;
    use toolkit_core::model::Tool;

    fn convert_spec(spec: &str) -> Result<(Tool, Vec<String>), FieldError> {
        let v: Yaml = serde_yaml::from_str(&format!(
            "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Tool\nmetadata: {{name: t}}\nspec:\n{spec}"
        ))
        .unwrap();
        let out = convert(&v)?;
        Ok((parse(out.documents[0].clone()).unwrap(), out.notes))
    }

    #[test]
    fn http_carries_over() {
        let (t, notes) = convert_spec(
            "  type: http\n  description: d\n  inputSchema: {type: object, properties: {q: {type: string}}}\n\
             \x20 annotations: {readOnlyHint: true, title: T}\n  approval: {required: true, timeout: 5m, onTimeout: proceed}\n\
             \x20 http:\n    url: 'https://h/s?q={q}'\n    method: POST\n    timeout: 30s\n\
             \x20   headers: [{name: A, value: {value: b}}, {name: K, value: {valueFrom: {secretKeyRef: {name: s, key: k}}}}]\n\
             \x20   body: '{\"x\": \"{{.p}}\"}'\n    bodyParameters: [{name: p, value: v}]\n",
        )
        .unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(t.spec.type_, "http");
        assert_eq!(t.spec.timeout, Some(Duration::from_secs(30)));
        let http = &t.spec.blocks["http"];
        assert_eq!(http["url"], "https://h/s?q={q}");
        assert_eq!(http["headers"][1]["value"]["valueFrom"]["secretKeyRef"]["key"], "k");
        assert_eq!(http["bodyParameters"][0]["value"], "v");
        assert_eq!(t.spec.annotations.unwrap().title.as_deref(), Some("T"));
        let approval = t.spec.approval.unwrap();
        assert_eq!((approval.required, approval.on_timeout), (ApprovalRequired::Always, OnTimeout::Proceed));
    }

    #[test]
    fn mcp_agent_builtin() {
        let (t, _) =
            convert_spec("  type: mcp\n  mcp: {mcpServerRef: {name: srv, namespace: n}, toolName: search}\n").unwrap();
        let mcp = &t.spec.blocks["mcp"];
        assert_eq!((&mcp["serverRef"]["name"], &mcp["toolName"]), (&"srv".into(), &"search".into()));
        let (t, _) = convert_spec("  type: agent\n  agent: {name: research}\n").unwrap();
        assert_eq!(t.spec.blocks["agent"]["name"], "research");
        let (t, _) = convert_spec("  type: agent\n  agent: research\n").unwrap();
        assert_eq!(t.spec.blocks["agent"]["name"], "research");
        let (t, _) = convert_spec("  type: builtin\n  builtin: {name: noop}\n").unwrap();
        assert_eq!(t.spec.blocks["builtin"]["name"], "noop");
    }

    #[test]
    fn inline_becomes_a_bash_script() {
        let (t, notes) =
            convert_spec("  type: inline\n  inline: {language: bash, source: \"echo \\\"$1\\\"\\n\"}\n").unwrap();
        assert_eq!(t.spec.type_, "bash");
        assert_eq!(t.spec.blocks["command"]["script"], "echo \"$1\"\n");
        assert_eq!(notes.len(), 1);
        let (t, notes) = convert_spec("  type: inline\n  inline: {language: python, source: 'print(1)'}\n").unwrap();
        let script = t.spec.blocks["command"]["script"].as_str().unwrap().to_owned();
        assert_eq!(script, "exec python3 - \"$@\" <<'TOOLKIT_PYTHON_SOURCE'\nprint(1)\nTOOLKIT_PYTHON_SOURCE\n");
        assert_eq!(notes.len(), 2);
        assert_eq!(python_script("TOOLKIT_PYTHON_SOURCE\n").lines().last(), Some("TOOLKIT_PYTHON_SOURCE_"));
    }

    #[test]
    fn refusals_name_the_field() {
        let path = |spec: &str| convert_spec(spec).unwrap_err().path;
        assert_eq!(path("  type: mcp\n  mcp: {mcpServerRef: {name: s}}\n"), "spec.mcp.toolName");
        assert_eq!(path("  type: team\n  team: {name: t}\n"), "spec.type");
        assert_eq!(path("  type: inline\n  inline: {language: ruby, source: x}\n"), "spec.inline.language");
        assert_eq!(path("  type: http\n  http: {url: 'http://h'}\n  builtin: {name: noop}\n"), "spec.builtin");
        assert_eq!(path("  type: http\n  http: {url: 'http://h', retries: 2}\n"), "spec.http.retries");
        assert_eq!(
            path(
                "  type: http\n  http: {url: 'http://h', headers: [{name: a, value: {valueFrom: {queryParameterRef: {name: q}}}}]}\n"
            ),
            "spec.http.headers[0].value.valueFrom.queryParameterRef"
        );
    }
}
