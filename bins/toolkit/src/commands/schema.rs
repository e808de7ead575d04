//! `toolkit tool schema`: the tool definitions agents see, as JSON on stdout (YAML with
//! `-o yaml`): MCP tool objects exactly as the gateway lists them, or OpenAI-style function
//! definitions for clients that use function calling.

use serde_json::Value;
use toolkit_core::{Error, Result, ToolRef};
use toolkit_runtime::Runtime;
use toolkit_runtime::describe::{self, ToolDescription, names};

use crate::cli::{Cli, Format, SchemaArgs, SchemaFormat};
use crate::output;

pub fn run(cli: &Cli, rt: &Runtime, args: &SchemaArgs) -> Result<u8> {
    let served = describe::served(rt);
    let function_names = names::for_functions(served.iter().map(|(_, d)| d.name.as_str()));
    let mut chosen: Vec<(&ToolDescription, &str)> =
        served.iter().zip(&function_names).map(|((_, d), f)| (d, f.as_str())).collect();
    if let Some(name) = &args.name {
        let index = find(rt, &served, name)?;
        chosen = vec![chosen[index]];
    }
    let items: Vec<Value> = chosen
        .into_iter()
        .map(|(d, function_name)| match args.format {
            SchemaFormat::Mcp => serde_json::to_value(d).unwrap_or_default(),
            SchemaFormat::Openai => {
                let strict =
                    args.strict.then(|| match describe::strict_problem(&Value::Object(d.input_schema.clone())) {
                        None => true,
                        Some(why) => {
                            eprintln!("note: {}: not strict: inputSchema{why}", d.name);
                            false
                        }
                    });
                describe::function(function_name, d, strict)
            }
        })
        .collect();
    let value = match (&args.name, items.len()) {
        (Some(_), 1) => items.into_iter().next().unwrap_or_default(),
        _ => Value::Array(items),
    };
    let format = if cli.output == Format::Yaml { Format::Yaml } else { Format::Json };
    output::structured(format, &value)?;
    Ok(0)
}

/// The index in `served` of the tool `name` names (MCP name, `NAME` or `NAMESPACE/NAME`), or
/// why it is not served.
fn find(rt: &Runtime, served: &[(ToolRef, ToolDescription)], name: &str) -> Result<usize> {
    if let Some(i) = served.iter().position(|(_, d)| d.name == name) {
        return Ok(i);
    }
    let reference: ToolRef = name.parse()?;
    if let Some(i) = served.iter().position(|(r, _)| *r == reference) {
        return Ok(i);
    }
    // Declared but not served: say why (invalid, or disabled).
    let tool = rt.tool(&reference)?;
    if !tool.spec().enabled {
        return Err(Error::not_found(format!("tool {reference} is not served: it is disabled (spec.enabled: false)")));
    }
    Err(Error::not_found(format!("tool {reference} is not served")))
}
