//! Pure validation of tool specs: no I/O, no secrets, no network.
//!
//! Checks here apply to every type; each connector adds its own through
//! [`Connector::validate`](crate::Connector::validate). Every finding names the field path.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::model::{
    AuthType, BUILTINS, HttpRetry, HttpSpec, Parameter, ToolRegistrySpec, ToolSpec, ToolType, ValueFrom, ValueSource,
};
use crate::template::{BodyTemplate, FieldRef, UrlTemplate};

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

/// Checks the parts of a spec that every type shares.
pub fn validate_spec(spec: &ToolSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let e = &mut errs;
    let t = spec.type_;

    if let Some(d) = &spec.display_name {
        check_len(e, "spec.displayName", d, 1, 64);
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
        if !(1..=10_000).contains(&rl.requests_per_minute) {
            e.push(FieldError::new(
                "spec.rateLimit.requestsPerMinute",
                format!("{} is out of range; use 1 to 10000", rl.requests_per_minute),
            ));
        }
        if let Some(b) = rl.burst
            && !(1..=1000).contains(&b)
        {
            e.push(FieldError::new("spec.rateLimit.burst", format!("{b} is out of range; use 1 to 1000")));
        }
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

    // Blocks that belong to one type only.
    let owned: [(&str, bool, &[ToolType]); 5] = [
        ("spec.http", spec.http.is_some(), &[ToolType::Http]),
        ("spec.mcp", spec.mcp.is_some(), &[ToolType::Mcp]),
        ("spec.agent", spec.agent.is_some(), &[ToolType::Agent]),
        ("spec.builtin", spec.builtin.is_some(), &[ToolType::Builtin]),
        ("spec.command", spec.command.is_some(), &[ToolType::Kubectl, ToolType::Bash]),
    ];
    for (path, present, types) in owned {
        if present && !types.contains(&t) {
            let names: Vec<_> = types.iter().map(|t| t.as_str()).collect();
            e.push(FieldError::new(
                path,
                format!("only tools of type {} take this block, not `{t}`", names.join(" or ")),
            ));
        }
    }
    if spec.config.is_some() && t.is_invocable_only() {
        e.push(FieldError::new("spec.config", format!("tools of type `{t}` take no connection config")));
    }

    match t {
        ToolType::Unset => e.push(FieldError::new("spec.type", "is required")),
        ToolType::Http => match &spec.http {
            Some(http) => check_http(e, http, spec),
            None => e.push(FieldError::new("spec.http", "is required for type http (at least `url`)")),
        },
        ToolType::Mcp => match &spec.mcp {
            None => e.push(FieldError::new("spec.mcp", "is required for type mcp")),
            Some(mcp) => {
                if mcp.tool_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    e.push(FieldError::new("spec.mcp.toolName", "is required: name the upstream tool"));
                }
                let sources = [mcp.server_ref.is_some(), mcp.url.is_some(), !mcp.command.is_empty()];
                if sources.iter().filter(|s| **s).count() != 1 {
                    e.push(FieldError::new("spec.mcp", "set exactly one of `serverRef`, `url` or `command`"));
                }
                if let Some(u) = &mcp.url {
                    check_http_url(e, "spec.mcp.url", u);
                }
            }
        },
        ToolType::Agent => match &spec.agent {
            None => e.push(FieldError::new("spec.agent", "is required for type agent")),
            Some(a) => {
                if a.name.trim().is_empty() {
                    e.push(FieldError::new("spec.agent.name", "is required"));
                }
                if let Some(u) = &a.url {
                    check_http_url(e, "spec.agent.url", u);
                }
            }
        },
        ToolType::Builtin => match &spec.builtin {
            None => e.push(FieldError::new("spec.builtin", "is required for type builtin")),
            Some(b) if !BUILTINS.contains(&b.name.as_str()) => e.push(FieldError::new(
                "spec.builtin.name",
                format!("unknown builtin `{}`; known builtins: {}", b.name, BUILTINS.join(", ")),
            )),
            Some(_) => {}
        },
        _ => {}
    }

    if let Some(auth) = &spec.authentication {
        let p = "spec.authentication";
        let needs_secret = !matches!(auth.type_, AuthType::None);
        if needs_secret && auth.secret_ref.is_none() {
            e.push(FieldError::new(
                format!("{p}.secretRef"),
                format!("is required for `{:?}` authentication", auth.type_).to_lowercase(),
            ));
        }
        match auth.type_ {
            AuthType::Basic if auth.username.is_none() && auth.username_ref.is_none() => {
                e.push(FieldError::new(
                    format!("{p}.username"),
                    "basic authentication needs `username` or `usernameRef`",
                ));
            }
            AuthType::Oauth2 => {
                match &auth.token_url {
                    None => e.push(FieldError::new(format!("{p}.tokenUrl"), "is required for oauth2")),
                    Some(u) => check_http_url(e, &format!("{p}.tokenUrl"), u),
                }
                if auth.client_id.is_none() {
                    e.push(FieldError::new(format!("{p}.clientId"), "is required for oauth2"));
                }
            }
            _ => {}
        }
        if let Some(h) = &auth.header_name {
            check_header_name(e, &format!("{p}.headerName"), h);
        }
    }
    if spec.approval.as_ref().is_some_and(|a| a.timeout.is_some_and(|d| d.get().is_zero())) {
        e.push(FieldError::new("spec.approval.timeout", "must be longer than 0s"));
    }
    errs
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
fn check_schema(e: &mut Vec<FieldError>, path: &str, schema: &Value, must_be_object: bool) {
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

fn check_http_url(e: &mut Vec<FieldError>, path: &str, u: &str) {
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() => {}
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => {
            e.push(FieldError::new(path, format!("`{u}` is not an http(s) URL (scheme `{}`)", parsed.scheme())))
        }
        Ok(_) => e.push(FieldError::new(path, format!("`{u}` has no host"))),
        Err(err) => e.push(FieldError::new(path, format!("`{u}` is not a valid URL: {err}"))),
    }
}

fn check_header_name(e: &mut Vec<FieldError>, path: &str, name: &str) {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !ok {
        e.push(FieldError::new(path, format!("`{name}` is not a valid HTTP header name")));
    }
}

fn check_value_source(e: &mut Vec<FieldError>, path: &str, value: Option<&String>, from: Option<&ValueFrom>) {
    match (value, from) {
        (Some(_), None) => {}
        (None, Some(vf)) => {
            let n = usize::from(vf.secret_key_ref.is_some()) + usize::from(vf.config_map_key_ref.is_some());
            if n != 1 {
                e.push(FieldError::new(
                    format!("{path}.valueFrom"),
                    "set exactly one of `secretKeyRef` or `configMapKeyRef`",
                ));
            }
        }
        _ => e.push(FieldError::new(path, "set exactly one of `value` or `valueFrom`")),
    }
}

fn check_http(e: &mut Vec<FieldError>, http: &HttpSpec, spec: &ToolSpec) {
    let declared = declared_properties(spec).unwrap_or_default();
    match UrlTemplate::parse(&http.url) {
        Err(msg) => e.push(FieldError::new("spec.http.url", msg)),
        Ok(tpl) => {
            check_http_url(e, "spec.http.url", &tpl.sample());
            for p in tpl.params() {
                if !declared.contains(p) {
                    e.push(FieldError::new(
                        "spec.http.url",
                        format!("placeholder `{{{p}}}` is not declared in spec.inputSchema.properties"),
                    ));
                }
            }
        }
    }
    if let Some(m) = &http.method {
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
        if !METHODS.contains(&m.to_ascii_uppercase().as_str()) {
            e.push(FieldError::new(
                "spec.http.method",
                format!("unknown method `{m}`; use one of {}", METHODS.join(", ")),
            ));
        }
    }
    for (i, h) in http.headers.iter().enumerate() {
        let p = format!("spec.http.headers[{i}]");
        check_header_name(e, &format!("{p}.name"), &h.name);
        let ValueSource { value, value_from } = &h.value;
        if let Some(v) = value
            && v.contains(['\r', '\n'])
        {
            e.push(FieldError::new(format!("{p}.value.value"), "must not contain line breaks"));
        }
        check_value_source(e, &format!("{p}.value"), value.as_ref(), value_from.as_ref());
    }
    let mut params = BTreeSet::new();
    for (i, Parameter { name, value, value_from }) in http.body_parameters.iter().enumerate() {
        let p = format!("spec.http.bodyParameters[{i}]");
        if name.is_empty() || name == "input" {
            e.push(FieldError::new(format!("{p}.name"), "must be a name other than `input`"));
        }
        if !params.insert(name.as_str()) {
            e.push(FieldError::new(format!("{p}.name"), format!("`{name}` is declared twice")));
        }
        check_value_source(e, &p, value.as_ref(), value_from.as_ref());
    }
    if let Some(body) = &http.body {
        match BodyTemplate::parse(body) {
            Err(msg) => e.push(FieldError::new("spec.http.body", msg)),
            Ok(tpl) => {
                for f in tpl.fields() {
                    match f {
                        FieldRef::Input(n) if !declared.contains(n) => e.push(FieldError::new(
                            "spec.http.body",
                            format!("`{{{{.input.{n}}}}}` is not declared in spec.inputSchema.properties"),
                        )),
                        FieldRef::Param(n) if !params.contains(n) => e.push(FieldError::new(
                            "spec.http.body",
                            format!("`{{{{.{n}}}}}` is not declared in spec.http.bodyParameters"),
                        )),
                        _ => {}
                    }
                }
            }
        }
    }
    if http.max_response_bytes == Some(0) {
        e.push(FieldError::new("spec.http.maxResponseBytes", "must be at least 1"));
    }
    if let Some(r) = &http.retry {
        check_http_retry(e, r);
    }
    if let Some(b) = &http.circuit_breaker {
        if let Some(n) = b.failure_threshold
            && !(1..=1000).contains(&n)
        {
            e.push(FieldError::new(
                "spec.http.circuitBreaker.failureThreshold",
                format!("{n} is out of range; use 1 to 1000"),
            ));
        }
        check_duration_range(e, "spec.http.circuitBreaker.openFor", b.open_for, 3600);
    }
}

fn check_http_retry(e: &mut Vec<FieldError>, r: &HttpRetry) {
    if let Some(n) = r.max_attempts
        && !(1..=10).contains(&n)
    {
        e.push(FieldError::new("spec.http.retry.maxAttempts", format!("{n} is out of range; use 1 to 10")));
    }
    check_duration_range(e, "spec.http.retry.initialBackoff", r.initial_backoff, 60);
    check_duration_range(e, "spec.http.retry.maxBackoff", r.max_backoff, 300);
    if let (Some(initial), Some(max)) = (r.initial_backoff, r.max_backoff)
        && initial > max
    {
        e.push(FieldError::new("spec.http.retry.initialBackoff", format!("{initial} is longer than maxBackoff {max}")));
    }
}

/// A duration that must be longer than zero and at most `max_secs`.
fn check_duration_range(e: &mut Vec<FieldError>, path: &str, d: Option<crate::duration::Duration>, max_secs: u64) {
    let Some(d) = d else { return };
    if d.get().is_zero() {
        e.push(FieldError::new(path, "must be longer than 0s"));
    } else if d.get() > std::time::Duration::from_secs(max_secs) {
        let limit = crate::duration::Duration::from_secs(max_secs);
        e.push(FieldError::new(path, format!("{d} is too long; the limit is {limit}")));
    }
}

/// The longest prefix of imported tool names.
pub const MAX_PREFIX_LEN: usize = 64;

/// Checks the parts of a registry that need no connector: upstream names, prefixes, glob
/// patterns and the choice of `url` or `command`. The mcp connector checks the rest of each
/// upstream's connection (see [`crate::model::RegistryUpstream::tool_spec`]).
pub fn validate_registry(spec: &ToolRegistrySpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let e = &mut errs;
    let mut names = BTreeSet::new();
    for (i, up) in spec.upstreams.iter().enumerate() {
        let p = format!("spec.upstreams[{i}]");
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
        if let Some(u) = &up.mcp.url {
            check_http_url(e, &format!("{p}.mcp.url"), u);
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

    fn http_spec(url: &str, body: Option<&str>) -> ToolSpec {
        ToolSpec {
            type_: ToolType::Http,
            input_schema: Some(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
            http: Some(HttpSpec { url: url.into(), body: body.map(Into::into), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn http_placeholders_must_be_declared() {
        assert!(validate_spec(&http_spec("http://h/x?name={city}", None)).is_empty());
        let errs = validate_spec(&http_spec("http://h/x?name={town}", Some(r#"{"a":"{{.input.zip}}"}"#)));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].message.contains("`{town}`"));
        assert!(errs[1].message.contains("zip"));
    }

    #[test]
    fn rejects_bad_urls_and_schemas() {
        let errs = validate_spec(&http_spec("ftp://h/x", None));
        assert!(errs[0].message.contains("not an http(s) URL"), "{errs:?}");
        let mut s = http_spec("http://h", None);
        s.input_schema = Some(json!({"type": "object", "properties": {"a": {"type": "strin"}}}));
        let errs = validate_spec(&s);
        assert!(errs[0].path.starts_with("spec.inputSchema"), "{errs:?}");
    }

    #[test]
    fn http_retry_and_breaker_ranges() {
        let mut s = http_spec("http://h/x", None);
        let http = s.http.as_mut().unwrap();
        http.retry = Some(HttpRetry {
            max_attempts: Some(0),
            initial_backoff: Some("2s".parse().unwrap()),
            max_backoff: Some("1s".parse().unwrap()),
        });
        http.circuit_breaker =
            Some(HttpCircuitBreaker { failure_threshold: Some(5), open_for: Some("0s".parse().unwrap()) });
        let paths: Vec<_> = validate_spec(&s).into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            ["spec.http.retry.maxAttempts", "spec.http.retry.initialBackoff", "spec.http.circuitBreaker.openFor"]
        );
    }

    #[test]
    fn type_specific_blocks() {
        let s = ToolSpec {
            type_: ToolType::Mcp,
            mcp: Some(McpSpec { url: Some("http://h/mcp".into()), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(validate_spec(&s)[0].path, "spec.mcp.toolName");
        let s = ToolSpec {
            type_: ToolType::Builtin,
            builtin: Some(BuiltinSpec { name: "rm".into() }),
            ..Default::default()
        };
        assert!(validate_spec(&s)[0].message.contains("unknown builtin"));
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
