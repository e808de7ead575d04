//! `omnia.altairalabs.ai/v1alpha1` ToolRegistry, as a native `ToolRegistry`.
//!
//! Three shapes are read. The current CRD lists `handlers[]`, each an endpoint (`httpConfig`,
//! `mcpConfig`...) plus the definition of the tool it serves; an older release also let a handler
//! name a Service `selector`. The documented shape lists `tools[]`, each either an inline tool
//! (`url`, `httpConfig`) or a `selector` of Services that announce tools. Handlers and inline
//! tools become inline tools of the registry, named after the tool agents see (`order_lookup` is
//! served as `order-lookup`, Kubernetes names having no `_`); a `selector` entry becomes the
//! registry's discovery. Handler types toolkit cannot serve (grpc, openapi, client) are refused.

use serde_yaml::Value as Yaml;

use crate::Converted;
use crate::fields::{Fields, check_object, document, metadata, object_name};
use crate::native;
use toolkit_core::model::{
    AuthType, Authentication, EnvVar, McpTransport, RegistryTool, SecretKeySelector, ToolRegistry,
    ToolRegistryDiscovery, ToolRegistrySpec, ToolSpec, ValueSource,
};
use toolkit_core::validate::FieldError;

/// The `apiVersion` of omnia resources.
pub(crate) const API_VERSION: &str = "omnia.altairalabs.ai/v1alpha1";

/// Settings of `httpConfig` that shape requests or responses in ways toolkit does not.
const HTTP_UNMAPPED: &[&str] = &[
    "queryParams",
    "headerParams",
    "staticQuery",
    "staticBody",
    "bodyMapping",
    "responseMapping",
    "redact",
    "urlTemplate",
    "retryPolicy",
    "retries",
];

/// Converts one omnia ToolRegistry.
pub(crate) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    check_object(&root)?;
    let metadata = metadata(&root)?;
    let spec = root.required_map("spec")?;
    spec.allow(&["handlers", "tools"])?;
    let mut notes = Vec::new();
    let mut registry = ToolRegistrySpec::default();
    for handler in spec.maps("handlers")? {
        registry.tools.extend(convert_handler(&handler, &mut notes)?);
    }
    for entry in spec.maps("tools")? {
        if entry.has("selector") {
            if registry.discovery.is_some() {
                return Err(FieldError::new(
                    entry.at("selector"),
                    "a toolkit ToolRegistry discovers with one selector; split the entries into several registries",
                ));
            }
            registry.discovery = Some(discovery(&entry, &mut notes)?);
        } else {
            registry.tools.push(convert_documented_tool(&entry, &mut notes)?);
        }
    }
    if registry.tools.is_empty() && registry.discovery.is_none() {
        return Err(FieldError::new("spec.handlers", "declares no tools"));
    }
    let registry = ToolRegistry { metadata, spec: registry, status: None };
    Ok(Converted { documents: vec![document(&registry)?], notes, deferred: Vec::new() })
}

/// One entry of `spec.handlers[]`.
fn convert_handler(handler: &Fields<'_>, notes: &mut Vec<String>) -> Result<Vec<RegistryTool>, FieldError> {
    handler.allow(&[
        "name",
        "type",
        "selector",
        "tool",
        "httpConfig",
        "openAPIConfig",
        "grpcConfig",
        "mcpConfig",
        "clientConfig",
        "timeout",
        "retries",
    ])?;
    let handler_name = handler.required_str("name")?;
    let timeout = handler.duration("timeout", false)?;
    if handler.has("retries") {
        notes.push(format!("{}: retries have no toolkit equivalent; calls are made once", handler.at("retries")));
    }
    let type_name = handler.required_str("type")?;
    match type_name {
        "http" => {
            let config = handler.required_map("httpConfig")?;
            let definition = handler.required_map("tool")?;
            definition.allow(&["name", "description", "inputSchema", "outputSchema"])?;
            if let Some(selector) = handler.map("selector")? {
                if !config.has("endpoint") {
                    return Err(FieldError::new(
                        selector.at("matchLabels"),
                        "endpoints found through a Service selector have no toolkit equivalent; set httpConfig.endpoint",
                    ));
                }
                notes.push(format!("{}: not imported; the tool calls httpConfig.endpoint", selector.path()));
            }
            let name = served_name(&definition, handler_name, notes)?;
            let (http, authentication) = http_config(&config, "endpoint", notes)?;
            let spec = ToolSpec {
                type_: "http".into(),
                description: definition.string("description")?,
                input_schema: definition.json("inputSchema")?,
                output_schema: definition.json("outputSchema")?,
                timeout,
                ..ToolSpec::default()
            }
            .with_block("http", http)
            .with_block_opt("authentication", authentication);
            Ok(vec![RegistryTool { name, spec }])
        }
        "mcp" => mcp_handler(handler, timeout, notes),
        other @ ("grpc" | "openapi" | "client") => {
            Err(FieldError::new(handler.at("type"), format!("omnia `{other}` handlers have no toolkit equivalent")))
        }
        other => Err(FieldError::new(
            handler.at("type"),
            format!("unknown handler type `{other}`; omnia defines http, openapi, grpc, mcp and client"),
        )),
    }
}

/// The name agents saw (`tool.name`) as a Kubernetes name, or the handler's name.
fn served_name(definition: &Fields<'_>, handler_name: &str, notes: &mut Vec<String>) -> Result<String, FieldError> {
    let tool_name = definition.required_str("name")?;
    let name = object_name(tool_name).unwrap_or_else(|| handler_name.to_owned());
    if name != tool_name {
        notes.push(format!(
            "{}: tool `{tool_name}` is named `{name}` (Kubernetes names cannot hold `_`)",
            definition.at("name")
        ));
    }
    Ok(name)
}

/// `httpConfig` (current: `endpoint`; documented: `url`) as the request and its credentials.
fn http_config(
    config: &Fields<'_>,
    url_key: &str,
    notes: &mut Vec<String>,
) -> Result<(native::Http, Option<Authentication>), FieldError> {
    let mut known = vec![url_key, "method", "headers", "contentType", "authType", "authSecretRef", "timeout"];
    known.extend_from_slice(HTTP_UNMAPPED);
    config.allow(&known)?;
    let unmapped: Vec<&str> = HTTP_UNMAPPED.iter().copied().filter(|k| config.has(k)).collect();
    if !unmapped.is_empty() {
        notes.push(format!(
            "{}: {} {} no toolkit equivalent and {} not imported",
            config.path(),
            unmapped.join(", "),
            if unmapped.len() == 1 { "has" } else { "have" },
            if unmapped.len() == 1 { "was" } else { "were" },
        ));
    }
    if config.has("timeout") {
        // Only the documented shape puts the timeout here; the tool's own timeout is the handler's.
        notes.push(format!("{}: not imported; set the tool's `timeout` instead", config.at("timeout")));
    }
    let mut headers: Vec<native::Header> = config
        .string_map("headers")?
        .into_iter()
        .map(|(name, value)| native::Header { name, value: ValueSource { value: Some(value), value_from: None } })
        .collect();
    if let Some(content_type) = config.string("contentType")?
        && !headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(native::Header {
            name: "Content-Type".into(),
            value: ValueSource { value: Some(content_type), value_from: None },
        });
    }
    let http = native::Http {
        url: config.required_str(url_key)?.to_owned(),
        // omnia's default.
        method: Some(config.string("method")?.unwrap_or_else(|| "POST".into())),
        headers,
        ..native::Http::default()
    };
    Ok((http, authentication(config)?))
}

/// `authType` with `authSecretRef`.
fn authentication(config: &Fields<'_>) -> Result<Option<Authentication>, FieldError> {
    let type_ = match config.str("authType")? {
        None | Some("none") => return Ok(None),
        Some("bearer") => AuthType::Bearer,
        Some("basic") => AuthType::Basic,
        Some(other) => {
            return Err(FieldError::new(
                config.at("authType"),
                format!("unknown authType `{other}`; omnia defines none, bearer and basic"),
            ));
        }
    };
    let secret_ref = config
        .map("authSecretRef")?
        .map(|s| {
            s.allow(&["name", "key"])?;
            Ok::<_, FieldError>(SecretKeySelector {
                name: s.required_str("name")?.to_owned(),
                key: s.required_str("key")?.to_owned(),
                namespace: None,
            })
        })
        .transpose()?;
    Ok(Some(Authentication { type_, secret_ref, ..Authentication::default() }))
}

/// An `mcp` handler serves every tool of its server; toolkit declares MCP tools one by one, so
/// the handler's `toolFilter.allowlist` names the tools imported.
fn mcp_handler(
    handler: &Fields<'_>,
    timeout: Option<toolkit_core::duration::Duration>,
    notes: &mut Vec<String>,
) -> Result<Vec<RegistryTool>, FieldError> {
    let config = handler.required_map("mcpConfig")?;
    config.allow(&["transport", "endpoint", "command", "args", "workDir", "env", "toolFilter", "retryPolicy"])?;
    let filter = config.map("toolFilter")?;
    let (allow, block) = match &filter {
        Some(f) => {
            f.allow(&["allowlist", "blocklist"])?;
            (f.strings("allowlist")?, f.strings("blocklist")?)
        }
        None => (Vec::new(), Vec::new()),
    };
    if allow.is_empty() {
        return Err(FieldError::new(
            config.at("toolFilter.allowlist"),
            "is required to import an mcp handler: toolkit declares the tools of an MCP server one by one",
        ));
    }
    let transport = match config.required_str("transport")? {
        "sse" => McpTransport::Sse,
        "streamable-http" => McpTransport::StreamableHttp,
        "stdio" => McpTransport::Stdio,
        other => {
            return Err(FieldError::new(
                config.at("transport"),
                format!("unknown transport `{other}`; omnia defines sse, streamable-http and stdio"),
            ));
        }
    };
    let mut command = Vec::new();
    if let Some(program) = config.string("command")? {
        command.push(program);
        command.extend(config.strings("args")?);
    }
    let env = config
        .string_map("env")?
        .into_iter()
        .map(|(name, value)| EnvVar { name, value: Some(value), value_from: None })
        .collect::<Vec<_>>();
    for key in ["workDir", "retryPolicy"].into_iter().filter(|k| config.has(k)) {
        notes.push(format!("{}: has no toolkit equivalent and was not imported", config.at(key)));
    }
    let handler_name = handler.required_str("name")?;
    notes.push(format!("{}: each allowed tool is imported as `{handler_name}-TOOL`", handler.at("name")));
    let mut tools = Vec::new();
    for tool_name in allow.iter().filter(|t| !block.contains(t)) {
        let name = object_name(&format!("{handler_name}-{tool_name}")).ok_or_else(|| {
            FieldError::new(config.at("toolFilter.allowlist"), format!("`{tool_name}` gives no valid tool name"))
        })?;
        let spec = ToolSpec { type_: "mcp".into(), timeout, ..ToolSpec::default() }.with_block(
            "mcp",
            native::Mcp {
                url: config.string("endpoint")?,
                transport: Some(transport),
                command: command.clone(),
                env: env.clone(),
                tool_name: tool_name.clone(),
                server_ref: None,
            },
        );
        tools.push(RegistryTool { name, spec });
    }
    Ok(tools)
}

/// An inline entry of the documented `spec.tools[]`.
fn convert_documented_tool(entry: &Fields<'_>, notes: &mut Vec<String>) -> Result<RegistryTool, FieldError> {
    entry.allow(&["name", "type", "url", "description", "httpConfig", "grpcConfig", "mcpConfig", "port"])?;
    let name = entry.required_str("name")?;
    let name = object_name(name)
        .ok_or_else(|| FieldError::new(entry.at("name"), format!("`{name}` gives no valid tool name")))?;
    match entry.str("type")?.unwrap_or("http") {
        "http" => {}
        other => {
            return Err(FieldError::new(
                entry.at("type"),
                format!(
                    "omnia `{other}` entries of spec.tools serve a whole server; toolkit declares its tools one by one"
                ),
            ));
        }
    }
    let (http, authentication) = match (entry.string("url")?, entry.map("httpConfig")?) {
        (Some(url), None) => (native::Http { url, method: Some("POST".into()), ..native::Http::default() }, None),
        (None, Some(config)) => http_config(&config, "url", notes)?,
        (Some(_), Some(_)) => {
            return Err(FieldError::new(entry.at("url"), "set either `url` or `httpConfig.url`, not both"));
        }
        (None, None) => {
            return Err(FieldError::new(entry.at("url"), "is required for an inline tool"));
        }
    };
    if entry.has("port") {
        notes.push(format!("{}: applies to discovered Services only and was not imported", entry.at("port")));
    }
    let spec = ToolSpec { type_: "http".into(), description: entry.string("description")?, ..ToolSpec::default() }
        .with_block("http", http)
        .with_block_opt("authentication", authentication);
    Ok(RegistryTool { name, spec })
}

/// A documented `selector` entry as the registry's discovery.
fn discovery(entry: &Fields<'_>, notes: &mut Vec<String>) -> Result<ToolRegistryDiscovery, FieldError> {
    entry.allow(&["name", "selector", "port", "type", "description"])?;
    let selector = entry.required_map("selector")?;
    selector.allow(&["matchLabels", "namespace", "port"])?;
    let match_labels = selector.string_map("matchLabels")?;
    if match_labels.is_empty() {
        return Err(FieldError::new(selector.at("matchLabels"), "is required: name the labels of the Services"));
    }
    for key in ["port", "description"].into_iter().filter(|k| entry.has(k)) {
        notes.push(format!("{}: has no toolkit equivalent for discovered tools and was not imported", entry.at(key)));
    }
    if selector.has("port") {
        notes.push(format!(
            "{}: has no toolkit equivalent for discovered tools and was not imported",
            selector.at("port")
        ));
    }
    Ok(ToolRegistryDiscovery {
        match_labels,
        namespaces: selector.string("namespace")?.into_iter().collect(),
        port: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::duration::Duration;
    use toolkit_core::manifest::parse;

    fn registry(spec: &str) -> Result<(ToolRegistry, Vec<String>), FieldError> {
        let v: Yaml = serde_yaml::from_str(&format!(
            "apiVersion: omnia.altairalabs.ai/v1alpha1\nkind: ToolRegistry\nmetadata: {{name: r, namespace: ns}}\nspec:\n{spec}"
        ))
        .unwrap();
        let out = convert(&v)?;
        Ok((parse(out.documents[0].clone()).unwrap(), out.notes))
    }

    #[test]
    fn http_handlers() {
        let (r, notes) = registry(
            "  handlers:\n  - name: order-lookup\n    type: http\n    timeout: 10s\n\
             \x20   httpConfig: {endpoint: 'https://h/o', method: GET, retryPolicy: {maxAttempts: 3}, authType: bearer, authSecretRef: {name: s, key: k}}\n\
             \x20   tool: {name: order_lookup, description: d, inputSchema: {type: object}, outputSchema: {type: object}}\n",
        )
        .unwrap();
        let tool = &r.spec.tools[0];
        assert_eq!(tool.name, "order-lookup");
        assert_eq!(tool.spec.timeout, Some(Duration::from_secs(10)));
        assert_eq!(tool.spec.blocks["http"]["method"], "GET");
        assert_eq!(tool.spec.blocks["authentication"]["type"], "bearer");
        assert!(tool.spec.output_schema.is_some());
        assert_eq!(r.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("`order_lookup` is named `order-lookup`"), "{notes:?}");
        assert!(notes[1].contains("retryPolicy"), "{notes:?}");
    }

    #[test]
    fn older_selector_is_noted_when_an_endpoint_is_set() {
        let (r, notes) = registry(
            "  handlers:\n  - name: inv\n    type: http\n    retries: 2\n    selector: {matchLabels: {app: inv}}\n\
             \x20   httpConfig: {endpoint: 'https://h/i'}\n    tool: {name: inv, description: d, inputSchema: {type: object}}\n",
        )
        .unwrap();
        assert_eq!(r.spec.tools[0].spec.blocks["http"]["method"], "POST");
        assert_eq!(notes.len(), 2, "{notes:?}");
        let err = registry(
            "  handlers:\n  - name: inv\n    type: http\n    selector: {matchLabels: {app: inv}}\n\
             \x20   httpConfig: {method: GET}\n    tool: {name: inv, description: d, inputSchema: {type: object}}\n",
        )
        .unwrap_err();
        assert_eq!(err.path, "spec.handlers[0].selector.matchLabels");
    }

    #[test]
    fn documented_shape() {
        let (r, notes) = registry(
            "  tools:\n  - {name: web-search, type: http, url: 'https://s/q', description: d}\n\
             \x20 - name: internal\n    selector: {matchLabels: {team: platform}, namespace: tools}\n",
        )
        .unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(r.spec.tools[0].spec.blocks["http"]["url"], "https://s/q");
        let d = r.spec.discovery.unwrap();
        assert_eq!(
            (d.match_labels["team"].as_str(), d.namespaces.as_slice()),
            ("platform", ["tools".to_owned()].as_slice())
        );
    }

    #[test]
    fn mcp_handlers_need_an_allowlist() {
        let (r, _) = registry(
            "  handlers:\n  - name: fs\n    type: mcp\n    mcpConfig: {transport: stdio, command: mcp-fs, args: [--root], toolFilter: {allowlist: [read_file, stat], blocklist: [stat]}}\n",
        )
        .unwrap();
        assert_eq!(r.spec.tools.len(), 1);
        let mcp = &r.spec.tools[0].spec.blocks["mcp"];
        assert_eq!(r.spec.tools[0].name, "fs-read-file");
        assert_eq!(mcp["command"], serde_json::json!(["mcp-fs", "--root"]));
        let err =
            registry("  handlers:\n  - {name: fs, type: mcp, mcpConfig: {transport: sse, endpoint: 'http://h/sse'}}\n")
                .unwrap_err();
        assert_eq!(err.path, "spec.handlers[0].mcpConfig.toolFilter.allowlist");
        let err = registry("  handlers:\n  - {name: g, type: grpc, grpcConfig: {endpoint: 'h:1'}}\n").unwrap_err();
        assert_eq!(err.path, "spec.handlers[0].type");
    }
}
