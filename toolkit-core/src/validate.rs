//! Pure validation of tool specs: no I/O, no secrets, no network.
//!
//! Checks here apply to every type; each connector adds its own through
//! [`Connector::validate`](crate::Connector::validate). Every finding names the field path.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::connector::ConnectorRegistry;
use crate::model::{COMMON_FIELDS, ToolRegistrySpec, ToolSpec};

/// A problem with one field of a spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path from the document root, such as `spec.http.url`.
    pub path: String,
    /// What is wrong, and what to write instead when that is known.
    pub message: String,
}

impl FieldError {
    /// A new finding.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// One config error for a list of field problems: `"{what}: path: message; path: message"`.
/// For building a tool whose spec passed validation only partly, or planning from bad rules.
pub fn config_error(what: impl fmt::Display, errs: &[FieldError]) -> crate::Error {
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    crate::Error::config(format!("{what}: {}", text.join("; ")))
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Passed over on purpose (another kind of document, for instance).
    Note,
    /// Works, but probably not as intended.
    Warning,
    /// The resource is not usable.
    Error,
}

/// A finding about a manifest file, naming the file, the resource and the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// The file.
    pub file: PathBuf,
    /// `tool NAMESPACE/NAME`, `secret NAMESPACE/NAME`, or `document N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The field path, when one field is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(file: impl Into<PathBuf>, resource: Option<String>, err: FieldError) -> Self {
        Self::with(Severity::Error, file, resource, err)
    }

    /// A diagnostic of any severity.
    pub fn with(severity: Severity, file: impl Into<PathBuf>, resource: Option<String>, err: FieldError) -> Self {
        Self {
            severity,
            file: file.into(),
            resource,
            field: (!err.path.is_empty()).then_some(err.path),
            message: err.message,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE: tool NS/NAME: spec.field: message` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(r) = &self.resource {
            write!(f, ": {r}")?;
        }
        if let Some(p) = &self.field {
            write!(f, ": {p}")?;
        }
        write!(f, ": {}", crate::error::one_line(&self.message))
    }
}

/// Checks the parts of a spec that every type shares. The type's own blocks are its
/// connector's to check ([`Connector::validate`](crate::Connector::validate)); which blocks a
/// type takes at all is checked by [`check_blocks`].
pub fn validate_spec(spec: &ToolSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let e = &mut errs;

    if spec.type_.trim().is_empty() {
        e.push(FieldError::new("spec.type", "is required"));
    }
    if let Some(d) = &spec.display_name {
        check_len(e, "spec.displayName", d, 1, 64);
    }
    if let Some(problem) = spec.mcp_name.as_deref().and_then(crate::model::mcp_name::problem) {
        e.push(FieldError::new("spec.mcpName", problem));
    }
    if let Some(d) = &spec.description {
        check_len(e, "spec.description", d, 1, 1024);
    }
    for (i, tag) in spec.tags.iter().enumerate() {
        if tag.trim().is_empty() {
            e.push(FieldError::new(format!("spec.tags[{i}]"), "tags must not be empty"));
        }
    }
    if spec.timeout.is_some_and(|d| d.get().is_zero()) {
        e.push(FieldError::new("spec.timeout", "must be longer than 0s"));
    }
    if spec.idle_timeout.is_some_and(|d| d.get().is_zero()) {
        e.push(FieldError::new("spec.idleTimeout", "must be longer than 0s"));
    }
    if let Some(rl) = &spec.rate_limit {
        check_rate_limit(e, "spec.rateLimit", rl);
    }
    if let Some(l) = &spec.limits {
        if l.max_rows == Some(0) {
            e.push(FieldError::new("spec.limits.maxRows", "must be at least 1"));
        }
        if l.max_output_bytes.is_some_and(|b| b < 64) {
            e.push(FieldError::new("spec.limits.maxOutputBytes", "must be at least 64"));
        }
    }
    if let Some(schema) = &spec.input_schema {
        check_schema(e, "spec.inputSchema", schema, true);
    }
    if let Some(schema) = &spec.output_schema {
        check_schema(e, "spec.outputSchema", schema, false);
    }
    check_approval(e, "spec.approval", spec.approval.as_ref());
    errs
}

/// The problems of a `rateLimit` at `path`.
fn check_rate_limit(e: &mut Vec<FieldError>, path: &str, rl: &crate::model::RateLimit) {
    if !(1..=10_000).contains(&rl.requests_per_minute) {
        e.push(FieldError::new(
            format!("{path}.requestsPerMinute"),
            format!("{} is out of range; use 1 to 10000", rl.requests_per_minute),
        ));
    }
    if let Some(b) = rl.burst
        && !(1..=1000).contains(&b)
    {
        e.push(FieldError::new(format!("{path}.burst"), format!("{b} is out of range; use 1 to 1000")));
    }
}

/// The problems of an `approval` at `path`.
fn check_approval(e: &mut Vec<FieldError>, path: &str, approval: Option<&crate::model::ApprovalSpec>) {
    if approval.is_some_and(|a| a.timeout.is_some_and(|d| d.get().is_zero())) {
        e.push(FieldError::new(format!("{path}.timeout"), "must be longer than 0s"));
    }
}

/// The checks of one tool's spec that need nothing beside it: the shared ones
/// ([`validate_spec`]), the blocks its type takes ([`check_blocks`]) and its connector's own.
/// `toolkit validate` then checks the Secrets, ConfigMaps and tools it references against the
/// catalog; the operator checks them against the cluster.
pub fn validate_tool(spec: &ToolSpec, connectors: &ConnectorRegistry) -> Vec<FieldError> {
    let mut errs = validate_spec(spec);
    errs.extend(check_blocks(spec, connectors));
    if let Ok(connector) = connectors.get(&spec.type_) {
        errs.extend(connector.validate(spec));
    }
    errs
}

/// Checks that the type is compiled in and that `spec.config` and every other block is one the
/// type's connector takes: a block of another type says which types take it, and a misspelt
/// field gets the closest name. Whether a required part is there is the connector's to say (it
/// knows what to suggest).
pub fn check_blocks(spec: &ToolSpec, connectors: &ConnectorRegistry) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.type_.trim().is_empty() {
        return errs;
    }
    let connector = match connectors.get(&spec.type_) {
        Ok(c) => c,
        Err(e) => {
            errs.push(FieldError::new("spec.type", one_line_error(&e)));
            return errs;
        }
    };
    let info = connector.info();
    let t = &spec.type_;
    let mut present: Vec<&str> = spec.blocks.keys().map(String::as_str).collect();
    if spec.config.is_some() {
        present.insert(0, "config");
    }
    for name in present {
        if info.takes(name) {
            continue;
        }
        let owners: Vec<&str> = connectors.iter().filter(|(_, c)| c.info().takes(name)).map(|(n, _)| n).collect();
        let path = format!("spec.{name}");
        if name == "config" {
            errs.push(FieldError::new(path, format!("tools of type `{t}` take no connection config")));
        } else if !owners.is_empty() {
            errs.push(FieldError::new(
                path,
                format!("only tools of type {} take this block, not `{t}`", owners.join(" or ")),
            ));
        } else {
            let mut candidates: Vec<&str> = COMMON_FIELDS.to_vec();
            candidates.extend(info.parts.iter().map(|p| p.name));
            let message = match closest(name, &candidates) {
                Some(c) => format!("unknown field; did you mean `{c}`?"),
                None => format!("unknown field; `{t}` tools take: {}", candidates.join(", ")),
            };
            errs.push(FieldError::new(path, message));
        }
    }
    errs
}

/// An error's text without its kind prefix, on one line.
fn one_line_error(e: &crate::Error) -> String {
    crate::error::one_line(&e.to_string())
}

/// The candidate closest to `name` (case-insensitive edit distance), if it is close enough to
/// be a likely misspelling: one edit per three characters, at least one.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .min()
        .filter(|(d, _)| *d <= (name.chars().count() / 3).max(1))
        .map(|(_, c)| c)
}

/// Case-insensitive Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
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

fn check_len(e: &mut Vec<FieldError>, path: &str, value: &str, min: usize, max: usize) {
    let n = value.chars().count();
    if n < min || value.trim().is_empty() {
        e.push(FieldError::new(path, "must not be empty"));
    } else if n > max {
        e.push(FieldError::new(path, format!("is {n} characters long; the limit is {max}")));
    }
}

/// Checks that `schema` is a valid JSON Schema (draft-07 or 2020-12, from `$schema`).
pub fn check_schema(e: &mut Vec<FieldError>, path: &str, schema: &Value, must_be_object: bool) {
    if !schema.is_object() {
        e.push(FieldError::new(path, "must be a JSON Schema object"));
        return;
    }
    if must_be_object {
        match schema.get("type") {
            Some(Value::String(s)) if s == "object" => {}
            None => {}
            _ => e.push(FieldError::new(format!("{path}.type"), "must be `object`: tool arguments are named")),
        }
    }
    if let Err(err) = jsonschema::meta::validate(schema) {
        let at = err.instance_path.to_string();
        let field = if at.is_empty() { path.to_owned() } else { format!("{path}{}", at.replace('/', ".")) };
        e.push(FieldError::new(field, format!("not a valid JSON Schema: {err}")));
        return;
    }
    if let Err(err) = jsonschema::validator_for(schema) {
        e.push(FieldError::new(path, format!("not a valid JSON Schema: {err}")));
    }
}

/// The argument names an input schema declares.
pub fn declared_properties(spec: &ToolSpec) -> Option<BTreeSet<String>> {
    let props = spec.input_schema.as_ref()?.get("properties")?.as_object()?;
    Some(props.keys().cloned().collect())
}

/// Checks that `u` is an absolute http(s) URL with a host.
pub fn check_http_url(path: &str, u: &str) -> Option<FieldError> {
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() => None,
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => {
            Some(FieldError::new(path, format!("`{u}` is not an http(s) URL (scheme `{}`)", parsed.scheme())))
        }
        Ok(_) => Some(FieldError::new(path, format!("`{u}` has no host"))),
        Err(err) => Some(FieldError::new(path, format!("`{u}` is not a valid URL: {err}"))),
    }
}

/// Checks that `name` is a valid HTTP header name.
pub fn check_header_name(path: &str, name: &str) -> Option<FieldError> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    (!ok).then(|| FieldError::new(path, format!("`{name}` is not a valid HTTP header name")))
}

/// A duration that must be longer than zero and at most `max_secs`.
pub fn check_duration_range(e: &mut Vec<FieldError>, path: &str, d: Option<crate::duration::Duration>, max_secs: u64) {
    let Some(d) = d else { return };
    if d.get().is_zero() {
        e.push(FieldError::new(path, "must be longer than 0s"));
    } else if d.get() > std::time::Duration::from_secs(max_secs) {
        let limit = crate::duration::Duration::from_secs(max_secs);
        e.push(FieldError::new(path, format!("{d} is too long; the limit is {limit}")));
    }
}

/// The most tools one `ToolRegistry` declares inline.
pub const MAX_REGISTRY_TOOLS: usize = 1000;

/// The longest prefix of imported tool names.
pub const MAX_PREFIX_LEN: usize = 64;

/// Checks the parts of a registry that need no connector: upstream names, prefixes, glob
/// patterns and the choice of `url` or `command`. The build's
/// [`UpstreamImporter`](crate::upstream::UpstreamImporter) checks the rest of each upstream's
/// connection.
pub fn validate_registry(spec: &ToolRegistrySpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let e = &mut errs;
    if spec.tools.len() > MAX_REGISTRY_TOOLS {
        e.push(FieldError::new(
            "spec.tools",
            format!(
                "{} tools; a registry declares at most {MAX_REGISTRY_TOOLS} (split it in several)",
                spec.tools.len()
            ),
        ));
    }
    if let Some(rl) = &spec.rate_limit {
        check_rate_limit(e, "spec.rateLimit", rl);
    }
    check_approval(e, "spec.approval", spec.approval.as_ref());
    let mut names = BTreeSet::new();
    for (i, up) in spec.upstreams.iter().enumerate() {
        let p = format!("spec.upstreams[{i}]");
        if let Some(rl) = &up.rate_limit {
            check_rate_limit(e, &format!("{p}.rateLimit"), rl);
        }
        check_approval(e, &format!("{p}.approval"), up.approval.as_ref());
        let label_ok = !up.name.is_empty()
            && up.name.len() <= 63
            && up.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !up.name.starts_with('-')
            && !up.name.ends_with('-');
        if !label_ok {
            e.push(FieldError::new(
                format!("{p}.name"),
                format!("`{}` is not a valid name: use 1-63 lowercase letters, digits and `-`", up.name),
            ));
        } else if !names.insert(up.name.as_str()) {
            e.push(FieldError::new(format!("{p}.name"), format!("`{}` is declared twice", up.name)));
        }
        if let Some(prefix) = &up.prefix {
            if prefix.len() > MAX_PREFIX_LEN {
                e.push(FieldError::new(
                    format!("{p}.prefix"),
                    format!("is {} characters long; the limit is {MAX_PREFIX_LEN}", prefix.len()),
                ));
            }
            if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                e.push(FieldError::new(
                    format!("{p}.prefix"),
                    format!("`{prefix}` may hold only letters, digits, `_`, `-` and `.` (MCP tool names)"),
                ));
            }
        }
        for (list, patterns) in [("allow", &up.allow), ("block", &up.block)] {
            for (j, pattern) in patterns.iter().enumerate() {
                if let Err(err) = glob::Pattern::new(pattern) {
                    e.push(FieldError::new(
                        format!("{p}.{list}[{j}]"),
                        format!("`{pattern}` is not a glob pattern: {}", err.msg),
                    ));
                }
            }
        }
        let sources = usize::from(up.mcp.url.is_some()) + usize::from(!up.mcp.command.is_empty());
        if sources != 1 {
            e.push(FieldError::new(format!("{p}.mcp"), "set exactly one of `url` or `command`"));
        }
    }
    errs
}

/// Checks a Kubernetes object name (RFC 1123 subdomain).
pub fn check_object_name(path: &str, name: &str) -> Option<FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| {
        FieldError::new(
            path,
            format!("`{name}` is not a valid name: use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use serde_json::json;

    #[test]
    fn shared_checks_name_their_fields() {
        let s = ToolSpec {
            type_: "x".into(),
            description: Some(" ".into()),
            input_schema: Some(json!({"type": "object", "properties": {"a": {"type": "strin"}}})),
            rate_limit: Some(RateLimit { requests_per_minute: 0, burst: None }),
            ..Default::default()
        };
        let paths: Vec<_> = validate_spec(&s).into_iter().map(|e| e.path).collect();
        assert_eq!(paths[0], "spec.description");
        assert_eq!(paths[1], "spec.rateLimit.requestsPerMinute");
        assert!(paths[2].starts_with("spec.inputSchema"), "{paths:?}");
        assert_eq!(validate_spec(&ToolSpec::default())[0].path, "spec.type");
    }

    #[test]
    fn urls_and_header_names() {
        assert!(check_http_url("p", "https://h/x").is_none());
        assert!(check_http_url("p", "ftp://h/x").unwrap().message.contains("not an http(s) URL"));
        assert!(check_header_name("p", "X-Token").is_none());
        assert!(check_header_name("p", "bad header").is_some());
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(closest("descripton", COMMON_FIELDS), Some("description"));
        assert_eq!(closest("zzzzzz", &["config"]), None);
    }

    #[test]
    fn registry_upstreams() {
        let up = |name: &str, prefix: Option<&str>, allow: &[&str]| RegistryUpstream {
            name: name.into(),
            mcp: McpServerSpec { command: vec!["srv".into()], ..Default::default() },
            prefix: prefix.map(Into::into),
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        let ok = ToolRegistrySpec { upstreams: vec![up("fs", None, &["read_*"])], ..Default::default() };
        assert!(validate_registry(&ok).is_empty());
        assert!(ok.upstreams[0].admits("read_file") && !ok.upstreams[0].admits("write_file"));
        assert_eq!(ok.upstreams[0].effective_prefix(), "fs_");

        let mut both = up("b", Some(""), &[]);
        both.mcp.url = Some("http://h/mcp".into());
        let bad = ToolRegistrySpec {
            upstreams: vec![up("Fs", None, &[]), up("a", Some("a b"), &["[x"]), up("a", None, &[]), both],
            ..Default::default()
        };
        let paths: Vec<String> = validate_registry(&bad).into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                "spec.upstreams[0].name",
                "spec.upstreams[1].prefix",
                "spec.upstreams[1].allow[0]",
                "spec.upstreams[2].name",
                "spec.upstreams[3].mcp"
            ]
        );
    }
}
