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

use crate::connector::ConnectorRegistry;
use crate::error::{Error, Result};
use crate::model::{API_VERSION, ApprovalPolicy, DEFAULT_NAMESPACE, Reference, Tool, ToolRegistry, ToolSpec, mcp_name};
use crate::secret::{SecretStore, SecretString};
use crate::validate::{Diagnostic, FieldError, Severity, check_object_name, closest, validate_registry, validate_tool};

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
    /// Adds (or replaces) a ConfigMap's data.
    pub fn insert(&mut self, namespace: &str, name: &str, data: BTreeMap<String, String>) {
        self.maps.insert((namespace.to_owned(), name.to_owned()), data);
    }

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
    /// The peer formats documents of other systems are read with.
    formats: Formats,
    /// Whether the documents come from a Kubernetes API rather than files: Secrets are then
    /// read from the API when a call needs them (not checked here), and file paths in specs
    /// are not made relative to a folder.
    cluster: bool,
}

/// The peer formats of a catalog, listed by name in `Debug`.
#[derive(Clone, Default)]
struct Formats(Vec<Arc<dyn DocumentFormat>>);

impl fmt::Debug for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|x| x.name().to_owned())).finish()
    }
}

/// A manifest format of another system (a peer's `Tool`, a k13d config...), read by converting
/// each of its documents into native ones, which then load and validate like hand-written ones.
pub trait DocumentFormat: Send + Sync {
    /// The format's name, for messages (`ark.mckinsey.com/v1alpha1 Tool`).
    fn name(&self) -> &str;

    /// Converts `document` into native documents, or `None` when it is not of this format. A
    /// document the peer itself would refuse is an error naming the field.
    fn convert(&self, document: &Yaml) -> Option<Result<Converted, FieldError>>;
}

/// The native documents one peer document converts into.
#[derive(Clone, Debug, Default)]
pub struct Converted {
    /// Native documents (Tool, Secret, ApprovalPolicy...).
    pub documents: Vec<Yaml>,
    /// What was passed over or approximated, one line each, naming fields, never values.
    pub notes: Vec<String>,
    /// Field paths of references the peer resolves while it runs (an agent by name, an MCP
    /// server by reference) that local mode needs filled in: validation reports them, and an
    /// import notes them instead of refusing the document.
    pub deferred: Vec<String>,
}

const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

impl Catalog {
    /// Loads every manifest under `paths` (files, or folders searched recursively, skipping
    /// hidden entries), reading peer formats with the formats `connectors` holds, then
    /// validates each tool against `connectors`.
    pub fn load(paths: &[PathBuf], connectors: &ConnectorRegistry) -> Result<Self> {
        let mut files = Vec::new();
        for p in paths {
            collect_files(p, &mut files)?;
        }
        let mut catalog = Catalog::with_formats(connectors.formats().to_vec());
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::config(format!("read manifest {}", file.display())).with_source(e))?;
            catalog.add_text(&file, &text);
            catalog.files.push(file);
        }
        catalog.validate(connectors);
        Ok(catalog)
    }

    /// An empty catalog that reads documents of `formats` too.
    pub fn with_formats(formats: Vec<Arc<dyn DocumentFormat>>) -> Self {
        Self { formats: Formats(formats), ..Self::default() }
    }

    /// An empty catalog for objects read from a Kubernetes API, reading documents of `formats`
    /// too: the Secrets tools name are resolved from the API when a call needs them, so
    /// validation does not look for them here; ConfigMaps are added by the reader.
    pub fn for_cluster(formats: Vec<Arc<dyn DocumentFormat>>) -> Self {
        Self { formats: Formats(formats), cluster: true, ..Self::default() }
    }

    /// Whether this catalog holds objects of a Kubernetes API ([`for_cluster`](Self::for_cluster)).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// Adds one parsed document (a Tool, ToolRegistry, ApprovalPolicy, ConfigMap, or a peer's
    /// document), read from `source`.
    pub fn add_value(&mut self, source: &Path, value: Yaml) {
        self.add_document(source, "document 1", value);
    }

    /// Converts a document of one of this catalog's peer formats.
    fn convert(&self, value: &Yaml) -> Option<Result<Converted, FieldError>> {
        self.formats.0.iter().find_map(|f| f.convert(value))
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
            _ if self.convert(&value).is_some() => (String::new(), String::new()),
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
            _ => match self.convert(&value) {
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
            Ok(t) => Some(Arc::new(t)),
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

    /// Validates every parsed tool: shared checks, the blocks its type takes, the connector's
    /// own checks, and its references to Secrets, ConfigMaps and other tools. Relative file
    /// paths are made relative to each manifest's folder first.
    pub fn validate(&mut self, connectors: &ConnectorRegistry) {
        let declared: BTreeMap<ToolRef, Option<String>> =
            self.tools.iter().map(|(r, l)| (r.clone(), l.tool.as_ref().map(|t| t.spec.type_.clone()))).collect();
        for loaded in self.tools.values_mut() {
            if self.cluster {
                break;
            }
            let (Some(tool), Some(dir)) = (loaded.tool.as_mut(), loaded.source.parent()) else { continue };
            if let Ok(c) = connectors.get(&tool.spec.type_) {
                c.resolve_paths(&mut Arc::make_mut(tool).spec, dir);
            }
        }
        let mut found: Vec<(ToolRef, Vec<FieldError>)> = Vec::new();
        for loaded in self.tools.values() {
            let Some(tool) = &loaded.tool else { continue };
            let spec = &tool.spec;
            let mut errs = validate_tool(spec, connectors);
            if let Ok(connector) = connectors.get(&spec.type_) {
                for r in connector.references(spec) {
                    errs.extend(self.check_reference(&loaded.reference.namespace, &r));
                }
                for r in connector.tool_references(spec) {
                    let ns = r.target.namespace.as_deref().unwrap_or(&loaded.reference.namespace);
                    let target = ToolRef::new(ns, &r.target.name);
                    let kinds = r.types.join(" or ");
                    match declared.get(&target) {
                        None if kinds.is_empty() => {
                            errs.push(FieldError::new(r.path, format!("tool {target} is not declared")));
                        }
                        None => errs.push(FieldError::new(r.path, format!("no {kinds} tool {target} is declared"))),
                        Some(Some(t)) if !r.types.is_empty() && !r.types.contains(&t.as_str()) => {
                            errs.push(FieldError::new(r.path, format!("tool {target} is of type {t}, not {kinds}")))
                        }
                        Some(_) => {}
                    }
                }
            }
            found.push((loaded.reference.clone(), errs));
        }
        for (reference, err) in self.mcp_name_clashes() {
            if let Some((_, errs)) = found.iter_mut().find(|(r, _)| *r == reference) {
                errs.push(err);
            }
        }
        for (reference, errs) in found {
            if let Some(loaded) = self.tools.get_mut(&reference) {
                let resource = Some(format!("tool {reference}"));
                let file = loaded.source.clone();
                loaded.problems.extend(errs.into_iter().map(|e| Diagnostic::error(&file, resource.clone(), e)));
            }
        }
        for (reference, (registry, file)) in &self.registries {
            let errs = self.registry_problems(reference, &registry.spec, connectors);
            let resource = Some(format!("toolregistry {reference}"));
            self.diagnostics.extend(errs.into_iter().map(|e| Diagnostic::error(file, resource.clone(), e)));
        }
    }

    /// An error for each tool whose `spec.mcpName` is also the MCP name of another tool (its
    /// own `spec.mcpName`, or the name it is served under without one), naming the other tool
    /// and its file.
    fn mcp_name_clashes(&self) -> Vec<(ToolRef, FieldError)> {
        let served: Vec<(&LoadedTool, String, bool)> = self
            .tools
            .values()
            .filter_map(|l| {
                let explicit = l.tool.as_ref()?.spec.mcp_name.clone();
                let set = explicit.is_some();
                Some((l, explicit.unwrap_or_else(|| mcp_name::preferred(&l.reference)), set))
            })
            .collect();
        let mut out = Vec::new();
        for (tool, name, set) in &served {
            if !set {
                continue;
            }
            let other = served.iter().find(|(o, n, _)| n == name && o.reference != tool.reference);
            if let Some((other, _, other_set)) = other {
                let how = if *other_set { "also the MCP name" } else { "the MCP name" };
                out.push((
                    tool.reference.clone(),
                    FieldError::new(
                        "spec.mcpName",
                        format!("`{name}` is {how} of tool {} ({})", other.reference, other.source.display()),
                    ),
                ));
            }
        }
        out
    }

    /// Whether a reference a tool of `namespace` makes resolves; the error says how to fix it.
    pub fn check_reference(&self, namespace: &str, reference: &Reference) -> Option<FieldError> {
        match reference {
            Reference::Secret { path, selector } if self.cluster => {
                // Read from the API when a call needs it; only the namespace is known to be wrong.
                let other = selector.namespace.as_deref().filter(|ns| *ns != namespace)?;
                Some(FieldError::new(
                    path.clone(),
                    format!(
                        "secret {other}/{} is in another namespace; a tool reads Secrets of its own namespace only",
                        selector.name
                    ),
                ))
            }
            Reference::Secret { path, selector } => {
                let ns = selector.namespace.as_deref().unwrap_or(namespace);
                if self.secrets.has_key(ns, &selector.name, &selector.key) {
                    return None;
                }
                let what = if self.secrets.contains(ns, &selector.name) {
                    format!("secret {ns}/{} has no key `{}`", selector.name, selector.key)
                } else {
                    format!(
                        "secret {ns}/{} does not exist; add a `kind: Secret` document beside the manifests",
                        selector.name
                    )
                };
                Some(FieldError::new(path.clone(), what))
            }
            Reference::ConfigMap { path, selector } => self
                .config_maps
                .get(namespace, &selector.name, &selector.key)
                .err()
                .map(|e| FieldError::new(path.clone(), e.to_string())),
        }
    }

    /// A registry's problems: its own, and each upstream's connection as the upstream importer
    /// of this build sees it (with the Secrets it references), under `spec.upstreams[i]`.
    pub fn registry_problems(
        &self,
        reference: &ToolRef,
        spec: &crate::model::ToolRegistrySpec,
        connectors: &ConnectorRegistry,
    ) -> Vec<FieldError> {
        let mut errs = validate_registry(spec);
        for (i, up) in spec.upstreams.iter().enumerate() {
            let at = format!("spec.upstreams[{i}]");
            let Some(importer) = connectors.importer() else {
                errs.push(FieldError::new(
                    at,
                    "upstream MCP servers are not supported by this build (it has no `mcp` connector)",
                ));
                continue;
            };
            errs.extend(importer.validate(up, &at));
            for r in importer.references(up, &at) {
                errs.extend(self.check_reference(&reference.namespace, &r));
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
        serde_error(path, &e.inner().to_string())
    })
}

/// A serde error at `path` as a one-line finding: serde's "unknown field `x`, expected one of
/// `a`, `b`, ..." becomes "unknown field; did you mean `a`?" (the path already ends with the
/// field) or lists the expected names when there are few.
pub fn serde_error(path: String, msg: &str) -> FieldError {
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return FieldError::new(path, msg.to_owned());
    };
    let Some((bad, tail)) = rest.split_once('`') else {
        return FieldError::new(path, msg.to_owned());
    };
    let candidates: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let message = match closest(bad, &candidates) {
        Some(c) => format!("unknown field; did you mean `{c}`?"),
        None if !candidates.is_empty() && candidates.len() <= 8 => format!(
            "unknown field; expected one of {}",
            candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ),
        None => "unknown field".to_owned(),
    };
    FieldError::new(path, message)
}

/// Every Secret and ConfigMap reference a spec makes, as its type's connector reports them;
/// none when the type is not in this build.
pub fn references(spec: &ToolSpec, connectors: &ConnectorRegistry) -> Vec<Reference> {
    connectors.get(&spec.type_).map(|c| c.references(spec)).unwrap_or_default()
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
    fn a_type_not_in_the_build_lists_what_is() {
        let c = load("apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec: {type: my-queue}\n");
        let d = c.tools[&ToolRef::new("default", "a")].first_error().unwrap().to_string();
        assert!(d.ends_with("spec.type: tool type `my-queue` is not in this build; compiled in: none"), "{d}");
    }

    #[test]
    fn unknown_field_names_path_and_suggests() {
        let c = load(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec:\n  type: x\n  rateLimit: {requestsPerMinut: 3}\n",
        );
        let t = &c.tools[&ToolRef::new("default", "a")];
        let d = t.first_error().unwrap().to_string();
        assert_eq!(
            d,
            "t.yaml: tool default/a: spec.rateLimit.requestsPerMinut: unknown field; did you mean `requestsPerMinute`?"
        );
    }

    #[test]
    fn secrets_from_data_and_string_data() {
        let c = load(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: p}\ndata: {a: aHVudGVyMg==}\nstringData: {b: x}\n",
        );
        let sel = crate::model::SecretKeySelector { name: "s".into(), key: "a".into(), namespace: None };
        assert_eq!(c.secrets.get("p", &sel).unwrap().expose(), "hunter2");
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    }

    #[test]
    fn a_cluster_catalog_reads_secrets_later_but_never_across_namespaces() {
        let mut c = Catalog::for_cluster(Vec::new());
        let at = |name: &str| crate::model::SecretKeySelector { name: name.into(), key: "k".into(), namespace: None };
        let own = Reference::Secret { path: "spec.config.credentialsRef".into(), selector: at("db") };
        assert!(c.check_reference("team", &own).is_none(), "a Secret of the cluster is read when a call needs it");
        let other = crate::model::SecretKeySelector { namespace: Some("kube-system".into()), ..at("admin") };
        let across = Reference::Secret { path: "spec.config.credentialsRef".into(), selector: other.clone() };
        let err = c.check_reference("team", &across).expect("refused").to_string();
        assert!(err.contains("secret kube-system/admin is in another namespace"), "{err}");
        let same = crate::model::SecretKeySelector { namespace: Some("team".into()), ..other };
        assert!(c.check_reference("team", &Reference::Secret { path: "p".into(), selector: same }).is_none());
        // Files keep checking that the Secret is declared beside them.
        c.cluster = false;
        assert!(c.check_reference("team", &own).is_some());
    }

    #[test]
    fn duplicate_tools_are_errors() {
        let doc = "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: a}\nspec: {type: x}\n";
        let c = load(&format!("{doc}---\n{doc}"));
        assert!(c.tools[&ToolRef::new("default", "a")].first_error().unwrap().message.contains("declared twice"));
    }

    #[test]
    fn mcp_names_are_unique_and_name_both_files() {
        let tool = |name: &str, extra: &str| {
            format!(
                "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}}}\nspec: {{type: x{extra}}}\n"
            )
        };
        let mut c = Catalog::default();
        c.add_text(Path::new("one.yaml"), &tool("a", ", mcpName: run_query"));
        c.add_text(Path::new("two.yaml"), &tool("b", ", mcpName: run_query"));
        c.add_text(Path::new("three.yaml"), &tool("c", ", mcpName: d"));
        c.add_text(Path::new("four.yaml"), &tool("d", ""));
        c.add_text(Path::new("five.yaml"), &tool("e", ", mcpName: 'not ok'"));
        c.validate(&ConnectorRegistry::new());
        let errors = |name: &str| -> Vec<String> {
            c.tools[&ToolRef::new("default", name)]
                .problems
                .iter()
                .filter(|d| d.field.as_deref() == Some("spec.mcpName"))
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            errors("a"),
            ["one.yaml: tool default/a: spec.mcpName: `run_query` is also the MCP name of tool default/b (two.yaml)"]
        );
        assert_eq!(
            errors("b"),
            ["two.yaml: tool default/b: spec.mcpName: `run_query` is also the MCP name of tool default/a (one.yaml)"]
        );
        assert_eq!(
            errors("c"),
            ["three.yaml: tool default/c: spec.mcpName: `d` is the MCP name of tool default/d (four.yaml)"]
        );
        assert!(errors("d").is_empty());
        assert!(errors("e")[0].contains("contains ' '"), "{:?}", errors("e"));
    }

    #[test]
    fn other_kinds_are_noted() {
        let c = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
        assert_eq!(c.diagnostics[0].severity, Severity::Note);
    }
}
