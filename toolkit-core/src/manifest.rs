//! Loading manifests: multi-document YAML files and folders of them.
//!
//! A [`Catalog`] holds what a set of paths declares: tools (native, inside a `ToolRegistry`, or
//! converted from a peer format), registries, approval policies, and the `kind: Secret` and
//! `kind: ConfigMap` documents that are local mode's credential store. Loading never fails on a
//! bad document: each problem becomes a [`Diagnostic`] naming the file, the resource and the
//! field, and the tool it concerns is kept (so that `toolkit tool list` can say why it is not
//! served) but marked invalid. Only an unreadable path is an error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use serde_yaml::Value as Yaml;

use crate::compat;
use crate::connector::ConnectorRegistry;
use crate::error::{Error, Result};
use crate::model::{
    API_VERSION, ApprovalPolicy, DEFAULT_NAMESPACE, SecretKeySelector, Tool, ToolRegistry, ToolSpec, ValueFrom,
};
use crate::secret::{SecretStore, SecretString};
use crate::validate::{Diagnostic, FieldError, Severity, check_object_name, validate_registry, validate_spec};

/// `NAMESPACE/NAME` of a resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ToolRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ToolRef {
    /// A reference.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for ToolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl FromStr for ToolRef {
    type Err = Error;

    /// `NAME` (in the default namespace) or `NAMESPACE/NAME`.
    fn from_str(s: &str) -> Result<Self> {
        let (ns, name) = match s.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => (DEFAULT_NAMESPACE, s),
        };
        if ns.is_empty() || name.is_empty() || name.contains('/') {
            return Err(Error::invalid_input(format!("`{s}` is not a tool name; write NAME or NAMESPACE/NAME")));
        }
        Ok(Self::new(ns, name))
    }
}

/// ConfigMaps loaded beside the manifests.
#[derive(Clone, Debug, Default)]
pub struct ConfigMaps {
    maps: BTreeMap<(String, String), BTreeMap<String, String>>,
}

impl ConfigMaps {
    /// The value of `key` in ConfigMap `name`.
    pub fn get(&self, namespace: &str, name: &str, key: &str) -> Result<&str> {
        let data = self
            .maps
            .get(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| Error::not_found(format!("configmap {namespace}/{name} does not exist")))?;
        data.get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::not_found(format!("configmap {namespace}/{name} has no key `{key}`")))
    }
}

/// Where a tool came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// A native `kind: Tool` document.
    Native,
    /// An inline tool of a `ToolRegistry`.
    Registry(String),
    /// Converted from a peer format (its `apiVersion`).
    Imported(String),
}

/// One tool of a catalog, valid or not.
#[derive(Clone, Debug)]
pub struct LoadedTool {
    /// Namespace and name.
    pub reference: ToolRef,
    /// The parsed tool; `None` when the document could not be parsed.
    pub tool: Option<Arc<Tool>>,
    /// The file that declared it.
    pub source: PathBuf,
    /// Where it came from.
    pub origin: Origin,
    /// Problems found while loading and validating.
    pub problems: Vec<Diagnostic>,
}

impl LoadedTool {
    /// Whether the tool parsed and has no error.
    pub fn is_valid(&self) -> bool {
        self.tool.is_some() && !self.problems.iter().any(|d| d.severity == Severity::Error)
    }

    /// The first error, for one-line reports.
    pub fn first_error(&self) -> Option<&Diagnostic> {
        self.problems.iter().find(|d| d.severity == Severity::Error)
    }
}

/// What a set of manifest paths declares.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Tools by reference, sorted.
    pub tools: BTreeMap<ToolRef, LoadedTool>,
    /// Registries by reference.
    pub registries: BTreeMap<ToolRef, (ToolRegistry, PathBuf)>,
    /// Approval policies by reference.
    pub approval_policies: BTreeMap<ToolRef, (ApprovalPolicy, PathBuf)>,
    /// Local credential store.
    pub secrets: SecretStore,
    /// ConfigMaps.
    pub config_maps: ConfigMaps,
    /// Problems that concern no single tool (unparsable files, other kinds, secrets).
    pub diagnostics: Vec<Diagnostic>,
    /// Files read.
    pub files: Vec<PathBuf>,
}

const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

impl Catalog {
    /// Loads every manifest under `paths` (files, or folders searched recursively, skipping
    /// hidden entries), then validates each tool against `connectors`.
    pub fn load(paths: &[PathBuf], connectors: &ConnectorRegistry) -> Result<Self> {
        let mut files = Vec::new();
        for p in paths {
            collect_files(p, &mut files)?;
        }
        let mut catalog = Catalog::default();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::config(format!("read manifest {}", file.display())).with_source(e))?;
            catalog.add_text(&file, &text);
            catalog.files.push(file);
        }
        catalog.validate(connectors);
        Ok(catalog)
    }

    /// Adds every document of one file's text.
    pub fn add_text(&mut self, file: &Path, text: &str) {
        for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let label = format!("document {}", index + 1);
            match Yaml::deserialize(doc) {
                Ok(Yaml::Null) => {}
                Ok(value) => self.add_document(file, &label, value),
                Err(e) => {
                    self.diagnostics.push(Diagnostic::error(
                        file,
                        Some(label),
                        FieldError::new("", format!("invalid YAML: {e}")),
                    ));
                    // The parser cannot resynchronise after a syntax error.
                    break;
                }
            }
        }
    }

    fn add_document(&mut self, file: &Path, label: &str, value: Yaml) {
        let api_version = value.get("apiVersion").and_then(Yaml::as_str).map(str::to_owned);
        let kind = value.get("kind").and_then(Yaml::as_str).map(str::to_owned);
        let (api_version, kind) = match (api_version, kind) {
            (Some(a), Some(k)) => (a, k),
            _ if compat::is_k13d_config(&value) => (String::new(), String::new()),
            _ => {
                self.diagnostics.push(Diagnostic::error(
                    file,
                    Some(label.to_owned()),
                    FieldError::new("", "missing `apiVersion` or `kind`; is this a Kubernetes-style manifest?"),
                ));
                return;
            }
        };
        match (api_version.as_str(), kind.as_str()) {
            (API_VERSION, "Tool") => self.add_tool(file, label, value, Origin::Native),
            (API_VERSION, "ToolRegistry") => self.add_registry(file, label, value),
            (API_VERSION, "ApprovalPolicy") => self.add_policy(file, label, value),
            (API_VERSION, other) => self.diagnostics.push(Diagnostic::error(
                file,
                Some(label.to_owned()),
                FieldError::new(
                    "kind",
                    format!("unknown kind `{other}` in {API_VERSION}; known kinds: Tool, ToolRegistry, ApprovalPolicy"),
                ),
            )),
            ("v1", "Secret") => self.add_secret(file, label, &value),
            ("v1", "ConfigMap") => self.add_config_map(file, label, &value),
            _ => match compat::convert(&value) {
                None => self.diagnostics.push(Diagnostic::with(
                    Severity::Note,
                    file,
                    Some(label.to_owned()),
                    FieldError::new("", format!("passed over: {kind} ({api_version}) is not a toolkit resource")),
                )),
                Some(Err(err)) => {
                    self.diagnostics.push(Diagnostic::error(file, Some(resource_label(&value, label)), err))
                }
                Some(Ok(converted)) => {
                    for note in converted.notes {
                        self.diagnostics.push(Diagnostic::with(
                            Severity::Note,
                            file,
                            Some(resource_label(&value, label)),
                            FieldError::new("", note),
                        ));
                    }
                    for doc in converted.documents {
                        let origin = Origin::Imported(api_version.clone());
                        match (doc.get("kind").and_then(Yaml::as_str), origin) {
                            (Some("Tool"), origin) => self.add_tool(file, label, doc, origin),
                            _ => self.add_document(file, label, doc),
                        }
                    }
                }
            },
        }
    }

    fn add_tool(&mut self, file: &Path, label: &str, value: Yaml, origin: Origin) {
        let (reference, meta_errs) = match metadata_ref(&value) {
            Ok(r) => (r, Vec::new()),
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("tool in {label}")), e));
                return;
            }
        };
        let resource = Some(format!("tool {reference}"));
        let mut problems: Vec<Diagnostic> = meta_errs;
        if let Some(extra) = unknown_top_level(&value) {
            problems.push(Diagnostic::error(file, resource.clone(), extra));
        }
        let tool = match parse::<Tool>(value) {
            Ok(mut t) => {
                resolve_relative_paths(&mut t.spec, file);
                Some(Arc::new(t))
            }
            Err(e) => {
                problems.push(Diagnostic::error(file, resource.clone(), e));
                None
            }
        };
        self.insert_tool(LoadedTool { reference, tool, source: file.to_owned(), origin, problems });
    }

    fn insert_tool(&mut self, loaded: LoadedTool) {
        if let Some(existing) = self.tools.get_mut(&loaded.reference) {
            let msg = format!(
                "tool {} is declared twice: in {} and in {}",
                loaded.reference,
                existing.source.display(),
                loaded.source.display()
            );
            let d = Diagnostic::error(
                &loaded.source,
                Some(format!("tool {}", loaded.reference)),
                FieldError::new("metadata.name", msg),
            );
            existing.problems.push(d);
            return;
        }
        self.tools.insert(loaded.reference.clone(), loaded);
    }

    fn add_registry(&mut self, file: &Path, label: &str, value: Yaml) {
        let reference = match metadata_ref(&value) {
            Ok(r) => r,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("toolregistry in {label}")), e));
                return;
            }
        };
        let registry = match parse::<ToolRegistry>(value) {
            Ok(r) => r,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("toolregistry {reference}")), e));
                return;
            }
        };
        for (i, inline) in registry.spec.tools.iter().enumerate() {
            let tref = ToolRef::new(&reference.namespace, &inline.name);
            let mut problems = Vec::new();
            if let Some(e) = check_object_name(&format!("spec.tools[{i}].name"), &inline.name) {
                problems.push(Diagnostic::error(file, Some(format!("toolregistry {reference}")), e));
            }
            let mut tool = Tool::new(&inline.name, inline.spec.clone());
            tool.metadata.namespace = Some(reference.namespace.clone());
            self.insert_tool(LoadedTool {
                reference: tref,
                tool: Some(Arc::new(tool)),
                source: file.to_owned(),
                origin: Origin::Registry(reference.to_string()),
                problems,
            });
        }
        self.registries.insert(reference, (registry, file.to_owned()));
    }

    fn add_policy(&mut self, file: &Path, label: &str, value: Yaml) {
        let reference = match metadata_ref(&value) {
            Ok(r) => r,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("approvalpolicy in {label}")), e));
                return;
            }
        };
        match parse::<ApprovalPolicy>(value) {
            Ok(p) => {
                self.approval_policies.insert(reference, (p, file.to_owned()));
            }
            Err(e) => self.diagnostics.push(Diagnostic::error(file, Some(format!("approvalpolicy {reference}")), e)),
        }
    }

    fn add_secret(&mut self, file: &Path, label: &str, value: &Yaml) {
        let reference = match metadata_ref(value) {
            Ok(r) => r,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("secret in {label}")), e));
                return;
            }
        };
        let resource = Some(format!("secret {reference}"));
        let mut data = BTreeMap::new();
        if let Some(map) = value.get("data").and_then(Yaml::as_mapping) {
            for (k, v) in map {
                let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                    self.diagnostics.push(Diagnostic::error(
                        file,
                        resource.clone(),
                        FieldError::new("data", "keys and values must be strings"),
                    ));
                    continue;
                };
                match base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                {
                    Some(decoded) => {
                        data.insert(k.to_owned(), SecretString::new(decoded));
                    }
                    None => self.diagnostics.push(Diagnostic::error(
                        file,
                        resource.clone(),
                        FieldError::new(
                            format!("data.{k}"),
                            "is not base64-encoded UTF-8; put plain text under `stringData`",
                        ),
                    )),
                }
            }
        }
        if let Some(map) = value.get("stringData").and_then(Yaml::as_mapping) {
            for (k, v) in map {
                match (k.as_str(), scalar_string(v)) {
                    (Some(k), Some(v)) => {
                        data.insert(k.to_owned(), SecretString::new(v));
                    }
                    _ => self.diagnostics.push(Diagnostic::error(
                        file,
                        resource.clone(),
                        FieldError::new("stringData", "keys and values must be strings"),
                    )),
                }
            }
        }
        if self.secrets.contains(&reference.namespace, &reference.name) {
            self.diagnostics.push(Diagnostic::error(
                file,
                resource,
                FieldError::new("metadata.name", "secret is declared twice"),
            ));
        }
        self.secrets.insert(&reference.namespace, &reference.name, data);
    }

    fn add_config_map(&mut self, file: &Path, label: &str, value: &Yaml) {
        let reference = match metadata_ref(value) {
            Ok(r) => r,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(file, Some(format!("configmap in {label}")), e));
                return;
            }
        };
        let mut data = BTreeMap::new();
        if let Some(map) = value.get("data").and_then(Yaml::as_mapping) {
            for (k, v) in map {
                if let (Some(k), Some(v)) = (k.as_str(), scalar_string(v)) {
                    data.insert(k.to_owned(), v);
                }
            }
        }
        self.config_maps.maps.insert((reference.namespace, reference.name), data);
    }

    /// Validates every parsed tool: shared checks, the connector's own, and references to
    /// Secrets and ConfigMaps.
    pub fn validate(&mut self, connectors: &ConnectorRegistry) {
        for loaded in self.tools.values_mut() {
            let Some(tool) = loaded.tool.clone() else { continue };
            let resource = Some(format!("tool {}", loaded.reference));
            let spec = &tool.spec;
            let mut errs = validate_spec(spec);
            match connectors.get(spec.type_) {
                Ok(c) => errs.extend(c.validate(spec)),
                Err(e) if spec.type_ != crate::model::ToolType::Unset => {
                    errs.push(FieldError::new("spec.type", e.to_string()));
                }
                Err(_) => {}
            }
            for (path, sel) in secret_refs(spec) {
                let ns = sel.namespace.as_deref().unwrap_or(&loaded.reference.namespace);
                if !self.secrets.has_key(ns, &sel.name, &sel.key) {
                    let what = if self.secrets.contains(ns, &sel.name) {
                        format!("secret {ns}/{} has no key `{}`", sel.name, sel.key)
                    } else {
                        format!(
                            "secret {ns}/{} does not exist; add a `kind: Secret` document beside the manifests",
                            sel.name
                        )
                    };
                    errs.push(FieldError::new(path, what));
                }
            }
            for (path, name, key) in config_map_refs(spec) {
                if let Err(e) = self.config_maps.get(&loaded.reference.namespace, &name, &key) {
                    errs.push(FieldError::new(path, e.to_string()));
                }
            }
            loaded.problems.extend(errs.into_iter().map(|e| Diagnostic::error(&loaded.source, resource.clone(), e)));
        }
        for (reference, (registry, file)) in &self.registries {
            let errs = self.registry_problems(reference, &registry.spec, connectors);
            let resource = Some(format!("toolregistry {reference}"));
            self.diagnostics.extend(errs.into_iter().map(|e| Diagnostic::error(file, resource.clone(), e)));
        }
    }

    /// A registry's problems: its own, and each upstream's connection as the mcp connector sees
    /// it (with the Secrets it references), under `spec.upstreams[i]`.
    pub fn registry_problems(
        &self,
        reference: &ToolRef,
        spec: &crate::model::ToolRegistrySpec,
        connectors: &ConnectorRegistry,
    ) -> Vec<FieldError> {
        let mut errs = validate_registry(spec);
        for (i, up) in spec.upstreams.iter().enumerate() {
            let at = |path: String| format!("spec.upstreams[{i}]{}", path.strip_prefix("spec").unwrap_or(&path));
            // The tool name is a stand-in: upstreams name no single tool.
            let tool = up.tool_spec("*");
            match connectors.get(crate::model::ToolType::Mcp) {
                Ok(c) => errs.extend(c.validate(&tool).into_iter().map(|e| FieldError::new(at(e.path), e.message))),
                Err(e) => errs.push(FieldError::new(at("spec.mcp".into()), e.to_string())),
            }
            for (path, sel) in secret_refs(&tool) {
                let ns = sel.namespace.as_deref().unwrap_or(&reference.namespace);
                if !self.secrets.has_key(ns, &sel.name, &sel.key) {
                    errs.push(FieldError::new(at(path), format!("secret {ns}/{} has no key `{}`", sel.name, sel.key)));
                }
            }
        }
        errs
    }

    /// Every error and warning, tools' and files', in file order.
    pub fn all_diagnostics(&self) -> Vec<&Diagnostic> {
        let mut all: Vec<&Diagnostic> =
            self.diagnostics.iter().chain(self.tools.values().flat_map(|t| t.problems.iter())).collect();
        all.sort_by(|a, b| a.file.cmp(&b.file).then(b.severity.cmp(&a.severity)));
        all
    }

    /// Whether any error was found.
    pub fn has_errors(&self) -> bool {
        self.all_diagnostics().iter().any(|d| d.severity == Severity::Error)
    }

    /// Finds a tool by reference; the error lists close names.
    pub fn get(&self, reference: &ToolRef) -> Result<&LoadedTool> {
        self.tools.get(reference).ok_or_else(|| {
            let mut err = Error::not_found(format!("tool {reference} is not declared"));
            let same_name: Vec<String> =
                self.tools.keys().filter(|r| r.name == reference.name).map(ToString::to_string).collect();
            if !same_name.is_empty() {
                err = err.with_context("did you mean", same_name.join(", "));
            } else {
                err = err.with_context("hint", "run `toolkit tool list` to see the declared tools");
            }
            err
        })
    }
}

/// Relative file paths in a manifest (`config.path`, `config.caFile`) are relative to the
/// manifest's folder, so a folder of manifests works from any working directory.
fn resolve_relative_paths(spec: &mut ToolSpec, file: &Path) {
    let Some(dir) = file.parent() else { return };
    if let Some(c) = spec.config.as_mut() {
        for p in [&mut c.path, &mut c.ca_file].into_iter().flatten() {
            let path = Path::new(p.as_str());
            if path.is_relative() && !p.is_empty() && p != ":memory:" {
                *p = dir.join(path).to_string_lossy().into_owned();
            }
        }
    }
}

fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn resource_label(value: &Yaml, fallback: &str) -> String {
    let kind = value.get("kind").and_then(Yaml::as_str).unwrap_or("document").to_ascii_lowercase();
    match metadata_ref(value) {
        Ok(r) => format!("{kind} {r}"),
        Err(_) => fallback.to_owned(),
    }
}

fn metadata_ref(value: &Yaml) -> Result<ToolRef, FieldError> {
    let meta =
        value.get("metadata").ok_or_else(|| FieldError::new("metadata", "is required (with at least `name`)"))?;
    let name =
        meta.get("name").and_then(Yaml::as_str).ok_or_else(|| FieldError::new("metadata.name", "is required"))?;
    if let Some(e) = check_object_name("metadata.name", name) {
        return Err(e);
    }
    let ns = match meta.get("namespace") {
        None | Some(Yaml::Null) => DEFAULT_NAMESPACE,
        Some(v) => v.as_str().ok_or_else(|| FieldError::new("metadata.namespace", "must be a string"))?,
    };
    if let Some(e) = check_object_name("metadata.namespace", ns) {
        return Err(e);
    }
    Ok(ToolRef::new(ns, name))
}

fn unknown_top_level(value: &Yaml) -> Option<FieldError> {
    const KNOWN: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
    value
        .as_mapping()?
        .keys()
        .filter_map(Yaml::as_str)
        .find(|k| !KNOWN.contains(k))
        .map(|k| FieldError::new(k, format!("unknown field `{k}`; a Tool has {}", KNOWN.join(", "))))
}

/// Deserializes with the failing field's path, and a short message for unknown fields.
pub fn parse<T: serde::de::DeserializeOwned>(value: Yaml) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let msg = shorten_serde_message(&e.inner().to_string());
        // The path already ends with the unknown field: `spec.descripton: unknown field`.
        if let Some(rest) = msg.strip_prefix("unknown field `")
            && let Some((_, tail)) = rest.split_once('`')
        {
            return FieldError::new(path, format!("unknown field{tail}"));
        }
        FieldError::new(path, msg)
    })
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`, ..." into a one-line message
/// with the closest known name.
fn shorten_serde_message(msg: &str) -> String {
    let Some((head, expected)) = msg.split_once(", expected one of ") else {
        return msg.to_owned();
    };
    let bad = head.split('`').nth(1).unwrap_or_default();
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let best =
        candidates.iter().map(|c| (strsim_distance(bad, c), *c)).min().filter(|(d, _)| *d <= 3.max(bad.len() / 3));
    match best {
        Some((_, c)) => format!("{head}; did you mean `{c}`?"),
        None if candidates.len() <= 8 => format!(
            "{head}; expected one of {}",
            candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ),
        None => head.to_owned(),
    }
}

/// Case-insensitive Levenshtein distance.
fn strsim_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Every Secret reference a spec makes, with its field path.
pub fn secret_refs(spec: &ToolSpec) -> Vec<(String, SecretKeySelector)> {
    let mut out = Vec::new();
    if let Some(c) = &spec.config {
        for (p, s) in [
            ("credentialsRef", &c.credentials_ref),
            ("usernameRef", &c.username_ref),
            ("sshKey", &c.ssh_key),
            ("token", &c.token),
        ] {
            if let Some(s) = s {
                out.push((format!("spec.config.{p}"), s.clone()));
            }
        }
    }
    if let Some(a) = &spec.authentication {
        for (p, s) in [("secretRef", &a.secret_ref), ("usernameRef", &a.username_ref)] {
            if let Some(s) = s {
                out.push((format!("spec.authentication.{p}"), s.clone()));
            }
        }
    }
    let mut from = |path: String, vf: &Option<ValueFrom>| {
        if let Some(s) = vf.as_ref().and_then(|v| v.secret_key_ref.clone()) {
            out.push((format!("{path}.valueFrom.secretKeyRef"), s));
        }
    };
    if let Some(h) = &spec.http {
        for (i, hd) in h.headers.iter().enumerate() {
            from(format!("spec.http.headers[{i}].value"), &hd.value.value_from);
        }
        for (i, p) in h.body_parameters.iter().enumerate() {
            from(format!("spec.http.bodyParameters[{i}]"), &p.value_from);
        }
    }
    if let Some(m) = &spec.mcp {
        for (i, e) in m.env.iter().enumerate() {
            from(format!("spec.mcp.env[{i}]"), &e.value_from);
        }
    }
    if let Some(c) = &spec.command {
        for (i, e) in c.env.iter().enumerate() {
            from(format!("spec.command.env[{i}]"), &e.value_from);
        }
    }
    out
}

fn config_map_refs(spec: &ToolSpec) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if let Some(h) = &spec.http {
        let all = h
            .headers
            .iter()
            .enumerate()
            .map(|(i, hd)| (format!("spec.http.headers[{i}].value"), &hd.value.value_from))
            .chain(
                h.body_parameters
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("spec.http.bodyParameters[{i}]"), &p.value_from)),
            );
        for (path, vf) in all {
            if let Some(c) = vf.as_ref().and_then(|v| v.config_map_key_ref.as_ref()) {
                out.push((format!("{path}.valueFrom.configMapKeyRef"), c.name.clone(), c.key.clone()));
            }
        }
    }
    out
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::config(format!("read manifests at {}", path.display()))
            .with_source(e)
            .with_context("hint", "pass --tools PATH (or set TOOLKIT_TOOLS) to a manifest file or folder")
    })?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::config(format!("list manifests in {}", path.display())).with_source(e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e)) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Catalog {
        let mut c = Catalog::default();
        c.add_text(Path::new("t.yaml"), text);
        c.validate(&ConnectorRegistry::new());
        c
    }

    #[test]
    fn unknown_field_names_path_and_suggests() {
        let c = load(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec:\n  type: builtin\n  builtin: {name: noop}\n  descripton: x\n",
        );
        let t = &c.tools[&ToolRef::new("default", "a")];
        let d = t.first_error().unwrap().to_string();
        assert_eq!(d, "t.yaml: tool default/a: spec.descripton: unknown field; did you mean `description`?");
    }

    #[test]
    fn secrets_from_data_and_string_data() {
        let c = load(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: p}\ndata: {a: aHVudGVyMg==}\nstringData: {b: x}\n",
        );
        let sel = SecretKeySelector { name: "s".into(), key: "a".into(), namespace: None };
        assert_eq!(c.secrets.get("p", &sel).unwrap().expose(), "hunter2");
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    }

    #[test]
    fn duplicate_tools_are_errors() {
        let doc = "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec: {type: builtin, builtin: {name: noop}}\n";
        let c = load(&format!("{doc}---\n{doc}"));
        assert!(c.tools[&ToolRef::new("default", "a")].first_error().unwrap().message.contains("declared twice"));
    }

    #[test]
    fn other_kinds_are_noted() {
        let c = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
        assert_eq!(c.diagnostics[0].severity, Severity::Note);
    }
}
