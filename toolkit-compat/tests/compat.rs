//! The peer formats through the catalog and through `import_file`, with this build's
//! connectors: every valid file yields resources without errors, every `manifests-invalid-*`
//! file an error naming the file and the field, and the imported YAML loads back as the same
//! native resources. The fixtures of `tests/fixtures` always run; the peers' own manifests run
//! too when they are found beside the repository (`../shared/compat`) or in
//! `TOOLKIT_COMPAT_DIR`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value as Yaml;
use toolkit_compat::{convert, import_file};
use toolkit_core::validate::{Diagnostic, Severity};
use toolkit_core::{Catalog, ConnectorRegistry, ToolSpec};

/// Secrets that corpus tools reference without shipping them; a user imports those tools next to
/// Secrets of their own.
const EXTERNAL_SECRETS: &[(&str, &str)] = &[(
    "stoa-docs_reference_crds_tool-complete-example.yaml",
    "apiVersion: v1\nkind: Secret\nmetadata: {name: payment-api-token, namespace: tenant-acme}\nstringData: {token: x}\n",
)];

/// Values of Secrets in the files; no note or error may contain them.
const SECRET_VALUES: &[&str] = &["REPLACE_ME", "FIXTURE_SECRET"];

fn connectors() -> ConnectorRegistry {
    toolkit_connectors::registry()
}

/// The folders of peer manifests: the fixtures, and the peers' own corpus when it is there.
fn corpora() -> Vec<PathBuf> {
    let mut out = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat");
    match std::env::var_os("TOOLKIT_COMPAT_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => out.push(dir),
        Some(dir) => panic!("TOOLKIT_COMPAT_DIR={} is not a folder", dir.display()),
        None if beside.is_dir() => out.push(beside),
        None => eprintln!("note: no peer corpus beside the repository; the fixtures alone run"),
    }
    out
}

fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in corpora() {
        let mut found = Vec::new();
        walk(&dir, &mut found);
        assert!(found.len() >= 10, "the corpus at {} looks incomplete: {found:?}", dir.display());
        files.extend(found);
    }
    files.sort();
    files
}

fn file_name(file: &Path) -> &str {
    file.file_name().and_then(|n| n.to_str()).unwrap()
}

fn is_invalid(file: &Path) -> bool {
    file_name(file).starts_with("manifests-invalid-")
}

fn load(file: &Path, text: &str) -> Catalog {
    let mut catalog = Catalog::with_formats(connectors().formats().to_vec());
    catalog.add_text(file, text);
    for (name, secret) in EXTERNAL_SECRETS {
        if file_name(file) == *name {
            catalog.add_text(Path::new("external-secrets.yaml"), secret);
        }
    }
    catalog.validate(&connectors());
    catalog
}

fn errors(catalog: &Catalog) -> Vec<&Diagnostic> {
    catalog.all_diagnostics().into_iter().filter(|d| d.severity == Severity::Error).collect()
}

/// The field paths a file's conversion leaves for the peer to resolve while it runs (an agent
/// by name): validation reports them, import notes them.
fn deferred(text: &str) -> Vec<String> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| Yaml::deserialize(d).ok())
        .filter_map(|doc| convert(&doc)?.ok())
        .flat_map(|c| c.deferred)
        .collect()
}

/// Errors other than those on deferred fields.
fn real_errors<'a>(catalog: &'a Catalog, text: &str) -> Vec<&'a Diagnostic> {
    let deferred = deferred(text);
    errors(catalog).into_iter().filter(|d| !d.field.as_ref().is_some_and(|f| deferred.contains(f))).collect()
}

/// An error naming the file and a field, on one line.
fn names_file_and_field(file: &Path, d: &Diagnostic) -> bool {
    let line = d.to_string();
    d.severity == Severity::Error
        && d.field.is_some()
        && line.contains(&file.display().to_string())
        && !line.contains('\n')
}

fn leaks_secret(lines: impl IntoIterator<Item = String>) -> Option<String> {
    lines.into_iter().find(|l| SECRET_VALUES.iter().any(|s| l.contains(s)))
}

#[test]
fn every_corpus_file_loads_through_the_catalog() {
    let mut failures = Vec::new();
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let catalog = load(&file, &text);
        let errs = real_errors(&catalog, &text);
        if is_invalid(&file) {
            if !errs.iter().any(|d| names_file_and_field(&file, d)) {
                failures
                    .push(format!("{}: expected an error naming the file and a field, got {errs:?}", file.display()));
            }
        } else {
            if !errs.is_empty() {
                let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
                failures.push(format!("{}: unexpected errors: {lines:#?}", file.display()));
            }
            // The k13d approval file declares a policy and no tool.
            if catalog.tools.is_empty() && catalog.approval_policies.is_empty() {
                failures.push(format!("{}: yielded no tool", file.display()));
            }
        }
        if let Some(line) = leaks_secret(catalog.all_diagnostics().iter().map(ToString::to_string)) {
            failures.push(format!("{}: a secret value shows in: {line}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn imported_yaml_loads_back_as_the_same_resources() {
    let mut failures = Vec::new();
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        match (import_file(&file, &text, &connectors()), is_invalid(&file)) {
            (Err(diags), true) => {
                if !diags.iter().any(|d| names_file_and_field(&file, d)) {
                    failures.push(format!("{}: import refused it without naming a field: {diags:?}", file.display()));
                }
            }
            (Ok(_), true) => failures.push(format!("{}: import accepted an invalid file", file.display())),
            (Err(diags), false) => {
                let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
                failures.push(format!("{}: import refused a valid file: {lines:#?}", file.display()));
            }
            (Ok((yaml, notes)), false) => {
                if let Some(line) = leaks_secret(notes) {
                    failures.push(format!("{}: a secret value shows in a note: {line}", file.display()));
                }
                failures.extend(compare(&file, &text, &yaml));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The catalog of the peer file and the catalog of its imported YAML hold the same resources.
fn compare(file: &Path, peer: &str, imported: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(imported) {
        let doc = Yaml::deserialize(doc).unwrap();
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        if !matches!(api_version, "toolkit.dev/v1alpha1" | "v1") {
            failures.push(format!("{}: import printed a `{api_version}` document", file.display()));
        }
    }
    let direct = load(file, peer);
    let native = load(file, imported);
    if let Some(d) = real_errors(&native, peer).first() {
        failures.push(format!("{}: the imported YAML does not validate: {d}", file.display()));
    }
    let specs = |c: &Catalog| -> Vec<(String, Option<ToolSpec>)> {
        c.tools.iter().map(|(r, t)| (r.to_string(), t.tool.as_ref().map(|t| t.spec.clone()))).collect()
    };
    if specs(&direct) != specs(&native) {
        failures.push(format!(
            "{}: tools differ after import:\n{:#?}\n{:#?}",
            file.display(),
            specs(&direct),
            specs(&native)
        ));
    }
    let policies =
        |c: &Catalog| c.approval_policies.iter().map(|(r, (p, _))| (r.clone(), p.spec.clone())).collect::<Vec<_>>();
    if policies(&direct) != policies(&native) {
        failures.push(format!("{}: approval policies differ after import", file.display()));
    }
    let registries = |c: &Catalog| {
        c.registries.iter().map(|(r, (reg, _))| (r.clone(), reg.metadata.clone(), reg.spec.clone())).collect::<Vec<_>>()
    };
    if registries(&direct) != registries(&native) {
        failures.push(format!("{}: registries differ after import", file.display()));
    }
    failures
}

#[test]
fn inline_tools_are_imported_not_dropped() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ark/inline-tools.yaml");
    let catalog = load(&file, &std::fs::read_to_string(&file).unwrap());
    let types: Vec<(String, Option<String>)> =
        catalog.tools.iter().map(|(r, t)| (r.to_string(), t.tool.as_ref().map(|t| t.spec.type_.clone()))).collect();
    assert_eq!(
        types,
        [
            ("default/sum-column".to_owned(), Some("bash".to_owned())),
            ("default/word-count".to_owned(), Some("bash".to_owned()))
        ]
    );
}

#[test]
fn an_agent_named_but_not_located_is_noted_on_import() {
    let text = "apiVersion: ark.mckinsey.com/v1alpha1\nkind: Tool\nmetadata: {name: ask}\nspec: {type: agent, agent: {name: researcher}}\n";
    let (yaml, notes) = import_file(Path::new("a.yaml"), text, &connectors()).unwrap();
    assert!(yaml.contains("type: agent"), "{yaml}");
    assert!(notes.iter().any(|n| n.contains("spec.agent.url") && n.contains("resolves it")), "{notes:?}");
}
