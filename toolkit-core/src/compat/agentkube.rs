//! `agentkube.io/v1alpha1` Tool.
//!
//! toolkit's own `Tool` follows agentkube's shape (type, config with `credentialsRef`, probe,
//! tags...), so the spec is read as a native spec: every field keeps its meaning, and a field
//! toolkit does not know is an error naming it. The Secret agentkube manifests ship beside the
//! tool is a plain `v1` Secret and is loaded natively.

use serde_yaml::Value as Yaml;

use super::Converted;
use super::fields::{Fields, check_object, metadata, tool_document, under};
use crate::manifest::parse;
use crate::model::ToolSpec;
use crate::validate::FieldError;

/// The `apiVersion` of agentkube resources.
pub(super) const API_VERSION: &str = "agentkube.io/v1alpha1";

/// Converts one agentkube Tool.
pub(super) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    check_object(&root)?;
    let metadata = metadata(&root)?;
    let spec = root.get("spec").ok_or_else(|| FieldError::new("spec", "is required"))?;
    let spec: ToolSpec = parse(spec.clone()).map_err(|e| under("spec", e))?;
    Ok(Converted { documents: vec![tool_document(metadata, spec)?], notes: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Tool, ToolType};

    #[test]
    fn spec_is_kept_as_written() {
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: agentkube.io/v1alpha1\nkind: Tool\nmetadata: {name: pg, labels: {a: b}}\n\
             spec:\n  type: postgres\n  probe: true\n  tags: [db]\n  config: {hostname: h, port: 5432, credentialsRef: {name: s, key: password}}\n",
        )
        .unwrap();
        let out = convert(&v).unwrap();
        let tool: Tool = parse(out.documents[0].clone()).unwrap();
        assert_eq!(tool.spec.type_, ToolType::Postgres);
        assert_eq!(tool.spec.tags, ["db"]);
        assert_eq!(tool.spec.config.unwrap().credentials_ref.unwrap().key, "password");
        assert_eq!(tool.metadata.labels.unwrap()["a"], "b");
        assert!(out.notes.is_empty());
    }

    #[test]
    fn unknown_spec_fields_are_named() {
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: agentkube.io/v1alpha1\nkind: Tool\nmetadata: {name: pg}\nspec: {type: postgres, hostnam: h}\n",
        )
        .unwrap();
        assert_eq!(convert(&v).unwrap_err().path, "spec.hostnam");
    }
}
