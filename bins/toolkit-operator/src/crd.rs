//! The CustomResourceDefinitions, with the `Tool` spec assembled from the connectors compiled
//! in: `spec.type` is one of their names, `spec.config` has the union of their config fields and
//! every other block a type owns is a property of the spec. The API server is structural, so a
//! field that no type declares is refused (or pruned); one validation rule per type refuses the
//! fields and blocks of the other types and asks for the parts the type requires.

use kube::CustomResourceExt as _;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use toolkit_core::model::{ApprovalPolicy, Tool, ToolRegistry, ToolSpec};
use toolkit_core::{ConnectorRegistry, TypeInfo};

/// The CRDs as one multi-document YAML text.
pub fn crds_yaml(connectors: &ConnectorRegistry) -> Result<String, serde_yaml::Error> {
    let spec = tool_spec_schema(connectors);
    let mut out = String::new();
    for crd in [Tool::crd(), ToolRegistry::crd(), ApprovalPolicy::crd()] {
        let mut value = serde_json::to_value(&crd).map_err(<serde_yaml::Error as serde::ser::Error>::custom)?;
        let root = &mut value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        match crd.spec.names.kind.as_str() {
            "Tool" => *root = spec.clone(),
            "ToolRegistry" => {
                let tools = &mut root["properties"]["tools"];
                // Bounds the cost the API server estimates for the rules of each item.
                tools["maxItems"] = json!(toolkit_core::validate::MAX_REGISTRY_TOOLS);
                tools["items"]["properties"]["spec"] = spec.clone();
            }
            _ => {}
        }
        make_structural(&mut value);
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&value)?);
    }
    Ok(out)
}

/// The schema of a `Tool` spec with the parts of every connector in `connectors`.
pub fn tool_spec_schema(connectors: &ConnectorRegistry) -> Value {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .into_generator();
    let mut spec = generator.root_schema_for::<ToolSpec>().to_value();
    if let Some(obj) = spec.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
    }
    let infos: Vec<TypeInfo> = connectors.iter().map(|(_, c)| c.info()).collect();
    let properties = spec["properties"].as_object_mut().expect("a spec has properties");
    properties.insert(
        "type".into(),
        json!({
            "description": "What the tool is; one of the types compiled into this build.",
            "type": "string",
            "enum": infos.iter().map(|i| i.name).collect::<Vec<_>>(),
        }),
    );
    let mut config = Map::new();
    let mut keys_of: Vec<(&str, Vec<String>)> = Vec::new();
    for info in &infos {
        for part in &info.parts {
            let mut schema = (part.schema)(&mut generator).to_value();
            make_structural(&mut schema);
            if part.name == "config" {
                let fields = schema["properties"].as_object().cloned().unwrap_or_default();
                keys_of.push((info.name, fields.keys().cloned().collect()));
                for (k, v) in fields {
                    merge_property(&mut config, k, v);
                }
            } else {
                if let Some(obj) = schema.as_object_mut() {
                    obj.insert("nullable".into(), Value::Bool(true));
                }
                merge_property(properties, part.name.to_owned(), schema);
            }
        }
    }
    let mut all_config: Vec<String> = config.keys().cloned().collect();
    all_config.sort();
    let config: Map<String, Value> = all_config.iter().map(|k| (k.clone(), config[k].clone())).collect();
    properties.insert(
        "config".into(),
        json!({
            "description": "Connection settings, in the shape the tool's type defines.",
            "type": "object",
            "nullable": true,
            "properties": config,
        }),
    );
    let all_blocks: Vec<&str> = {
        let mut b: Vec<&str> =
            infos.iter().flat_map(|i| i.parts.iter().map(|p| p.name)).filter(|n| *n != "config").collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    let rules: Vec<Value> = infos
        .iter()
        .map(|info| {
            let own_config = keys_of.iter().find(|(n, _)| *n == info.name).map(|(_, k)| k.clone()).unwrap_or_default();
            rule(info, &own_config, &all_config, &all_blocks)
        })
        .collect();
    spec["x-kubernetes-validations"] = Value::Array(rules);
    spec
}

/// One type's rule: no block or config field of another type, and every part it requires.
fn rule(info: &TypeInfo, own_config: &[String], all_config: &[String], all_blocks: &[&str]) -> Value {
    let t = info.name;
    let mut conditions: Vec<String> =
        all_blocks.iter().filter(|b| !info.takes(b)).map(|b| format!("!has(self.{})", cel_field(b))).collect();
    if info.takes("config") {
        let foreign: Vec<String> = all_config
            .iter()
            .filter(|k| !own_config.contains(k))
            .map(|k| format!("!has(self.config.{})", cel_field(k)))
            .collect();
        if !foreign.is_empty() {
            conditions.push(format!("(!has(self.config) || ({}))", foreign.join(" && ")));
        }
    } else {
        conditions.push("!has(self.config)".into());
    }
    conditions.extend(info.parts.iter().filter(|p| p.required).map(|p| format!("has(self.{})", cel_field(p.name))));
    let takes: Vec<String> = info
        .parts
        .iter()
        .map(|p| match p.name {
            "config" => format!("config ({})", own_config.join(", ")),
            name if p.required => format!("{name} (required)"),
            name => name.to_owned(),
        })
        .collect();
    let takes = if takes.is_empty() { "no config and no block of its own".to_owned() } else { takes.join("; ") };
    let body = if conditions.is_empty() { "true".to_owned() } else { conditions.join(" && ") };
    json!({
        "rule": format!("self.type != '{t}' || ({body})"),
        "message": format!("tools of type {t} take {takes}"),
    })
}

/// How a CEL rule names the property `name`: CEL's reserved words are escaped as the API
/// server expects (`__namespace__`).
fn cel_field(name: &str) -> String {
    const RESERVED: &[&str] = &[
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ];
    if RESERVED.contains(&name) { format!("__{name}__") } else { name.to_owned() }
}

/// Adds `schema` as property `name`, merging it with one already there: two types may share a
/// field (`hostname`, `authentication`); their schemas then describe the same value.
fn merge_property(properties: &mut Map<String, Value>, name: String, schema: Value) {
    match properties.get_mut(&name) {
        None => {
            properties.insert(name, schema);
        }
        Some(existing) if existing.get("type") == schema.get("type") => {
            if let (Some(a), Some(b)) = (
                existing.get_mut("properties").and_then(Value::as_object_mut),
                schema.get("properties").and_then(Value::as_object),
            ) {
                for (k, v) in b {
                    if !a.contains_key(k) {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Some(existing) => {
            // Types that disagree on a field's shape: keep any value, each type checks its own.
            *existing = json!({
                "description": existing.get("description").cloned().unwrap_or(Value::Null),
                "x-kubernetes-preserve-unknown-fields": true,
                "nullable": true,
            });
        }
    }
}

/// Rewrites what the API server refuses in a structural schema: an optional enum
/// (`anyOf: [X, {enum: [null], nullable: true}]`) becomes `X` with `nullable: true`, a field
/// that is one of several types (`probe: true` or `probe: {...}`) keeps its value as written,
/// and `additionalProperties: false` beside `properties` goes (the API server prunes unknown
/// fields anyway).
pub fn make_structural(v: &mut Value) {
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(make_structural);
        }
        return;
    };
    if let Some(Value::Array(branches)) = map.get("anyOf").cloned() {
        let is_null = |b: &Value| b.get("nullable").and_then(Value::as_bool) == Some(true);
        let rest: Vec<Value> = branches.iter().filter(|b| !is_null(b)).cloned().collect();
        let nullable = rest.len() < branches.len();
        map.remove("anyOf");
        match rest.as_slice() {
            [Value::Object(only)] if only.get("anyOf").is_none() => {
                for (k, val) in only {
                    if !map.contains_key(k) {
                        map.insert(k.clone(), val.clone());
                    }
                }
            }
            _ => {
                map.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(true));
            }
        }
        if nullable {
            map.insert("nullable".into(), Value::Bool(true));
        }
    }
    if map.contains_key("properties") && map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.remove("additionalProperties");
    }
    for (_, val) in map.iter_mut() {
        make_structural(val);
    }
}
