//! Peer Tool formats, converted into native `toolkit.dev/v1alpha1` documents.
//!
//! [`register`] adds [`PeerFormats`] to a connector registry, so a catalog loads peer documents
//! beside native ones; [`import_file`] converts one file for `toolkit import`. toolkit reads the
//! tool manifests of five peer systems, one module each, by converting every
//! peer document into native documents that then go through the same loading and validation as
//! hand-written ones. A peer setting with a native equivalent is carried over; one without is
//! reported as a note; a document the peer itself would refuse, or a tool toolkit cannot
//! represent at all, is an error naming the field. Notes and errors name fields, never their
//! values, so a credential written in a peer file cannot leak through them.

mod agentkube;
mod ark;
mod fields;
mod k13d;
mod native;
mod omnia;
mod stoa;

use std::path::Path;

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use toolkit_core::ConnectorRegistry;
use toolkit_core::manifest::{DocumentFormat, parse};
use toolkit_core::model::{API_VERSION, ApprovalPolicy, DEFAULT_NAMESPACE, Tool, ToolRegistry, ToolSpec};
use toolkit_core::validate::{Diagnostic, FieldError, check_blocks, check_object_name, validate_spec};

pub use toolkit_core::manifest::Converted;

/// The five peer formats, read as one [`DocumentFormat`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerFormats;

impl DocumentFormat for PeerFormats {
    fn name(&self) -> &str {
        "peer formats (agentkube, STOA, ARK, Omnia, k13d)"
    }

    fn convert(&self, document: &Yaml) -> Option<Result<Converted, FieldError>> {
        convert(document)
    }
}

/// Adds the peer formats to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register_format(PeerFormats);
}

/// Whether `value` is a k13d configuration file (it has no `apiVersion`).
pub fn is_k13d_config(value: &Yaml) -> bool {
    value.get("authorization").and_then(|a| a.get("tool_approval")).is_some()
        || value.get("tools").and_then(|t| t.get("custom")).is_some()
}

/// Converts a peer document; `None` when its format is not one toolkit reads.
pub fn convert(value: &Yaml) -> Option<Result<Converted, FieldError>> {
    let api_version = value.get("apiVersion").and_then(Yaml::as_str);
    let kind = value.get("kind").and_then(Yaml::as_str);
    match (api_version, kind) {
        (Some(agentkube::API_VERSION), Some("Tool")) => Some(agentkube::convert(value)),
        (Some(stoa::API_VERSION), Some("Tool")) => Some(stoa::convert(value)),
        (Some(ark::API_VERSION), Some("Tool")) => Some(ark::convert(value)),
        (Some(omnia::API_VERSION), Some("ToolRegistry")) => Some(omnia::convert(value)),
        (None, _) | (_, None) if is_k13d_config(value) => Some(k13d::convert(value)),
        _ => None,
    }
}

/// Converts every document of one file into native documents, for `toolkit import`.
///
/// Peer documents are converted; native documents, Secrets and ConfigMaps are passed through
/// unchanged; documents of other kinds are skipped with a note. Returns the documents as YAML,
/// separated by `---` lines (empty when none is left), and the notes, one line each naming the
/// resource (the caller knows the file). When a document is refused, or a converted document
/// fails the checks of its type's connector in `connectors`, all such problems are returned
/// instead, each naming the file, the resource and the field. References to Secrets are left
/// to `toolkit validate`, which sees the user's other manifests.
pub fn import_file(
    file: &Path,
    text: &str,
    connectors: &ConnectorRegistry,
) -> Result<(String, Vec<String>), Vec<Diagnostic>> {
    let mut documents = Vec::new();
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let label = format!("document {}", index + 1);
        let value = match Yaml::deserialize(doc) {
            Ok(Yaml::Null) => continue,
            Ok(value) => value,
            Err(e) => {
                errors.push(Diagnostic::error(file, Some(label), FieldError::new("", format!("invalid YAML: {e}"))));
                // The parser cannot resynchronise after a syntax error.
                break;
            }
        };
        let api_version = value.get("apiVersion").and_then(Yaml::as_str);
        let kind = value.get("kind").and_then(Yaml::as_str);
        let resource = resource_label(&value, &label);
        match (api_version, kind) {
            (Some(API_VERSION), Some("Tool" | "ToolRegistry" | "ApprovalPolicy"))
            | (Some("v1"), Some("Secret" | "ConfigMap")) => documents.push(value),
            (Some(API_VERSION), Some(other)) => errors.push(Diagnostic::error(
                file,
                Some(resource),
                FieldError::new(
                    "kind",
                    format!(
                        "unknown kind `{other}` in {API_VERSION}; \
                         known kinds: Tool, ToolRegistry, ApprovalPolicy"
                    ),
                ),
            )),
            _ => match convert(&value) {
                None if api_version.is_none() || kind.is_none() => errors.push(Diagnostic::error(
                    file,
                    Some(label),
                    FieldError::new("", "missing `apiVersion` or `kind`; is this a Kubernetes-style manifest?"),
                )),
                None => notes.push(note(
                    &resource,
                    &format!(
                        "passed over: {} ({}) is not a toolkit resource",
                        kind.unwrap_or_default(),
                        api_version.unwrap_or_default()
                    ),
                )),
                Some(Err(e)) => errors.push(Diagnostic::error(file, Some(resource), e)),
                Some(Ok(converted)) => {
                    notes.extend(converted.notes.iter().map(|n| note(&resource, n)));
                    for doc in converted.documents {
                        for d in check_converted(file, &doc, connectors) {
                            match &d.field {
                                Some(field) if converted.deferred.contains(field) => notes.push(note(
                                    &resource,
                                    &format!("{field}: {} (the peer resolves it while it runs)", d.message),
                                )),
                                _ => errors.push(d),
                            }
                        }
                        documents.push(doc);
                    }
                }
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = String::new();
    for doc in &documents {
        let text = serde_yaml::to_string(doc)
            .map_err(|e| vec![Diagnostic::error(file, None, FieldError::new("", format!("cannot write YAML: {e}")))])?;
        if !out.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(&text);
    }
    Ok((out, notes))
}

/// `RESOURCE: message`; the caller names the file it imported.
fn note(resource: &str, message: &str) -> String {
    format!("{resource}: {}", toolkit_core::error::one_line(message))
}

/// `tool NAMESPACE/NAME` (the kind, lowercased; `namespace NAME` for cluster-wide kinds), or
/// `fallback` when the document has no name.
fn resource_label(value: &Yaml, fallback: &str) -> String {
    let meta = value.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Yaml::as_str);
    let namespace = meta.and_then(|m| m.get("namespace")).and_then(Yaml::as_str).unwrap_or(DEFAULT_NAMESPACE);
    match (value.get("kind").and_then(Yaml::as_str), name) {
        (
            Some(kind @ ("Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding")),
            Some(name),
        ) => {
            format!("{} {name}", kind.to_ascii_lowercase())
        }
        (Some(kind), Some(name)) => format!("{} {namespace}/{name}", kind.to_ascii_lowercase()),
        _ => fallback.to_owned(),
    }
}

/// The checks a converted document must pass before it is printed: it parses as its native kind
/// and each tool passes the shared checks and its connector's.
fn check_converted(file: &Path, doc: &Yaml, connectors: &ConnectorRegistry) -> Vec<Diagnostic> {
    let resource = resource_label(doc, "converted document");
    let error = |resource: &str, e: FieldError| Diagnostic::error(file, Some(resource.to_owned()), e);
    let mut out = Vec::new();
    let meta = doc.get("metadata");
    let namespace = meta.and_then(|m| m.get("namespace")).and_then(Yaml::as_str).unwrap_or(DEFAULT_NAMESPACE);
    if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Yaml::as_str) {
        out.extend(check_object_name("metadata.name", name).map(|e| error(&resource, e)));
    }
    match doc.get("kind").and_then(Yaml::as_str) {
        Some("Tool") => match parse::<Tool>(doc.clone()) {
            Ok(tool) => out.extend(check_spec(&tool.spec, connectors).into_iter().map(|e| error(&resource, e))),
            Err(e) => out.push(error(&resource, e)),
        },
        Some("ToolRegistry") => match parse::<ToolRegistry>(doc.clone()) {
            Ok(registry) => {
                for (i, inline) in registry.spec.tools.iter().enumerate() {
                    if let Some(e) = check_object_name(&format!("spec.tools[{i}].name"), &inline.name) {
                        out.push(error(&resource, e));
                    }
                    let tool = format!("tool {namespace}/{}", inline.name);
                    out.extend(check_spec(&inline.spec, connectors).into_iter().map(|e| error(&tool, e)));
                }
            }
            Err(e) => out.push(error(&resource, e)),
        },
        Some("ApprovalPolicy") => out.extend(parse::<ApprovalPolicy>(doc.clone()).err().map(|e| error(&resource, e))),
        _ => {}
    }
    out
}

/// The checks of one converted spec that need no other document.
fn check_spec(spec: &ToolSpec, connectors: &ConnectorRegistry) -> Vec<FieldError> {
    let mut errs = validate_spec(spec);
    errs.extend(check_blocks(spec, connectors));
    if let Ok(c) = connectors.get(&spec.type_) {
        errs.extend(c.validate(spec));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: hunter2}\n";

    #[test]
    fn import_passes_native_through_and_notes_other_kinds() {
        let text = format!(
            "{SECRET}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: x}}\n---\n\
             apiVersion: ark.mckinsey.com/v1alpha1\nkind: Tool\nmetadata: {{name: n}}\nspec: {{type: builtin, builtin: {{name: noop}}}}\n"
        );
        let (yaml, notes) = import_file(Path::new("f.yaml"), &text, &toolkit_connectors::registry()).unwrap();
        let docs: Vec<Yaml> =
            serde_yaml::Deserializer::from_str(&yaml).map(|d| Yaml::deserialize(d).unwrap()).collect();
        assert_eq!(docs.len(), 2, "{yaml}");
        assert_eq!(docs[0], serde_yaml::from_str::<Yaml>(SECRET).unwrap());
        assert_eq!(docs[1]["apiVersion"], Yaml::from(API_VERSION));
        assert_eq!(notes, ["namespace x: passed over: Namespace (v1) is not a toolkit resource"]);
        assert!(!notes.concat().contains("hunter2"));
    }

    #[test]
    fn import_reports_every_refused_document() {
        let text = "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec: {type: team}\n---\n\
                    apiVersion: ark.mckinsey.com/v1alpha1\nkind: Tool\nmetadata: {name: b}\nspec: {type: http, http: {url: nope}}\n";
        let errs = import_file(Path::new("f.yaml"), text, &toolkit_connectors::registry()).unwrap_err();
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("f.yaml: tool default/a: spec.type: "), "{lines:?}");
        assert!(lines[1].starts_with("f.yaml: tool default/b: spec.http.url: "), "{lines:?}");
    }

    #[test]
    fn other_formats_are_not_ours() {
        let v: Yaml = serde_yaml::from_str("apiVersion: example.com/v1\nkind: Tool\nmetadata: {name: a}\n").unwrap();
        assert!(convert(&v).is_none());
        let v: Yaml = serde_yaml::from_str("just: data\n").unwrap();
        assert!(convert(&v).is_none());
    }
}
