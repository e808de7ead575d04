//! The Kubernetes operator. Reconciling `Tool` and `ToolRegistry` is not built yet; what exists
//! is `crdgen`, which prints the CustomResourceDefinitions generated from the Rust types (the
//! checked-in copy is `deploy/crds.yaml`, and CI fails when it drifts).

use std::process::ExitCode;

use kube::CustomResourceExt as _;
use toolkit_core::model::{ApprovalPolicy, Tool, ToolRegistry};

/// The CRDs as one multi-document YAML text.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in [Tool::crd(), ToolRegistry::crd(), ApprovalPolicy::crd()] {
        let mut value = serde_yaml::to_value(&crd)?;
        make_structural(&mut value);
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&value)?);
    }
    Ok(out)
}

/// Rewrites what the API server refuses in a structural schema: an optional enum
/// (`anyOf: [X, {enum: [null], nullable: true}]`) becomes `X` with `nullable: true`, and a field
/// that is one of several types (`probe: true` or `probe: {...}`) keeps its value as written.
fn make_structural(v: &mut serde_yaml::Value) {
    use serde_yaml::Value;
    let Value::Mapping(map) = v else {
        if let Value::Sequence(items) = v {
            items.iter_mut().for_each(make_structural);
        }
        return;
    };
    if let Some(Value::Sequence(branches)) = map.get("anyOf").cloned() {
        let is_null = |b: &Value| b.get("nullable").and_then(Value::as_bool) == Some(true);
        let rest: Vec<Value> = branches.iter().filter(|b| !is_null(b)).cloned().collect();
        let nullable = rest.len() < branches.len();
        map.remove("anyOf");
        match rest.as_slice() {
            [Value::Mapping(only)] if only.get("anyOf").is_none() => {
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
    // `deny_unknown_fields` becomes `additionalProperties: false`, which may not stand beside
    // `properties`; the API server prunes unknown fields anyway.
    if map.contains_key("properties") && map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.remove("additionalProperties");
    }
    for (_, val) in map.iter_mut() {
        make_structural(val);
    }
}

/// Runs the operator command line: `crdgen`, or a note that reconciling is not built yet.
pub fn run() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("crdgen") => match crds_yaml() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: render CRDs: {e}");
                ExitCode::from(1)
            }
        },
        Some("-h" | "--help") | None => {
            println!(
                "toolkit-operator: reconciles Tool and ToolRegistry in Kubernetes (not built yet).\n\nUsage: toolkit-operator crdgen   print the CustomResourceDefinitions"
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown command `{other}`; the operator is not built yet, only `crdgen` is available");
            ExitCode::from(8)
        }
    }
}
