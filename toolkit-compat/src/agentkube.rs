//! `agentkube.io/v1alpha1` Tool.
//!
//! toolkit's own `Tool` follows agentkube's shape (type, config with `credentialsRef`, probe,
//! tags...), so the spec is read as a native spec: every field keeps its meaning, and a field
//! toolkit does not know is an error naming it when the tool is validated. The Secret agentkube manifests ship beside the
//! tool is a plain `v1` Secret and is loaded natively.

use serde_yaml::Value as Yaml;

use crate::Converted;
use crate::fields::{Fields, check_object, metadata, tool_document, under};
use toolkit_core::manifest::parse;
use toolkit_core::model::ToolSpec;
use toolkit_core::validate::FieldError;

/// The `apiVersion` of agentkube resources.
pub(crate) const API_VERSION: &str = "agentkube.io/v1alpha1";

/// Converts one agentkube Tool.
pub(crate) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    check_object(&root)?;
    let metadata = metadata(&root)?;
    let spec = root.get("spec").ok_or_else(|| FieldError::new("spec", "is required"))?;
    let spec: ToolSpec = parse(spec.clone()).map_err(|e| under("spec", e))?;
    Ok(Converted { documents: vec![tool_document(metadata, spec)?], notes: Vec::new(), deferred: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::model::Tool;

    #[test]
    fn spec_is_kept_as_written() {
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: agentkube.io/v1alpha1\nkind: Tool\nmetadata: {name: pg, labels: {a: b}}\n\
             spec:\n  type: postgres\n  probe: true\n  tags: [db]\n  config: {hostname: h, port: 5432, credentialsRef: {name: s, key: password}}\n",
        )
        .unwrap();
        let out = convert(&v).unwrap();
        let tool: Tool = parse(out.documents[0].clone()).unwrap();
        assert_eq!(tool.spec.type_, "postgres");
        assert_eq!(tool.spec.tags, ["db"]);
        assert_eq!(tool.spec.config.unwrap()["credentialsRef"]["key"], "password");
        assert_eq!(tool.metadata.labels.unwrap()["a"], "b");
        assert!(out.notes.is_empty());
    }

    #[test]
    fn unknown_spec_fields_are_named() {
        let text =
            "apiVersion: agentkube.io/v1alpha1\nkind: Tool\nmetadata: {name: pg}\nspec: {type: postgres, hostnam: h}\n";
        let errs =
            crate::import_file(std::path::Path::new("f.yaml"), text, &toolkit_connectors::registry()).unwrap_err();
        assert_eq!(errs[0].field.as_deref(), Some("spec.hostnam"), "{errs:?}");
    }
}
