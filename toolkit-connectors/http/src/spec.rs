//! The blocks an http tool owns, as written in a manifest: `spec.http` (the request),
//! `spec.config` (connection settings) and `spec.authentication` (the core's shared
//! [`Authentication`](toolkit_core::model::Authentication)), with the checks that need no I/O.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toolkit_core::ToolSpec;
use toolkit_core::duration::Duration;
use toolkit_core::model::{Reference, ValueFrom, ValueSource, check_value_source};
use toolkit_core::validate::{
    FieldError, check_duration_range, check_header_name, check_http_url, declared_properties,
};

use crate::template::{BodyTemplate, FieldRef, UrlTemplate};

/// `spec.config` of an http tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSettings {
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Duration>,
    /// PEM file of CAs trusted besides the system's; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// The request of an `http` tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSpec {
    /// URL with optional `{param}` placeholders filled from the arguments.
    pub url: String,
    /// HTTP method; GET when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeader>,
    /// Body template with `{{.input.x}}` and `{{.param}}` fields; values are JSON-escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Named values for the body template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_parameters: Vec<Parameter>,
    /// Response bytes read at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// Retries of requests that failed in a way a retry may fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<HttpRetry>,
    /// When to stop sending requests to an upstream that keeps failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<HttpCircuitBreaker>,
    /// Which arguments the templates do not use are sent too: as query parameters (GET, HEAD,
    /// DELETE, OPTIONS) or as the JSON body (POST, PUT, PATCH without a body template).
    /// `declared`: those declared in `spec.inputSchema.properties`, and any other is refused;
    /// `all`: every one; `none`: none, and any is refused. The default is `declared`, or `all`
    /// when the input schema sets `additionalProperties` to anything but `false`. An argument
    /// never replaces a query parameter the URL fixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_arguments: Option<ExtraArguments>,
    /// Which redirects are followed: `sameOrigin` (the default: same scheme, host and port),
    /// `any` (another origin gets no credential the tool injects) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects: Option<Redirects>,
}

/// Which arguments not used by the templates a request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExtraArguments {
    /// Those declared in the input schema; others are refused.
    #[default]
    Declared,
    /// Every one.
    All,
    /// None; any is refused.
    None,
}

/// Which redirects an http tool follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Redirects {
    /// Only to the same scheme, host and port.
    #[default]
    SameOrigin,
    /// To any origin; on a hop to another origin every credential the tool injects is dropped.
    Any,
    /// None: a redirect is the answer.
    None,
}

/// Retries of an `http` tool's requests: on 408, 429, 500, 502, 503, 504 and failures to
/// connect, with exponential backoff and jitter, honouring `Retry-After`, never past the call's
/// timeout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRetry {
    /// Attempts in all, 1-10 (1: no retry). Default 3 for GET, HEAD, PUT, DELETE and OPTIONS,
    /// 1 for POST and PATCH, which may not be safe to repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Wait before the first retry, doubled for each next one; default 100ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff: Option<Duration>,
    /// Longest wait between attempts, and longest `Retry-After` honoured; default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<Duration>,
}

/// The circuit breaker of an `http` tool: after `failureThreshold` requests in a row fail
/// (connection failures, timeouts, 408, 500, 502, 503, 504), calls fail at once for `openFor`;
/// then one trial request decides whether it closes again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpCircuitBreaker {
    /// Failed requests in a row that open the circuit, 1-1000; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// How long the circuit stays open before a trial request; default 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<Duration>,
}

/// One request header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: ValueSource,
}

/// A named value for a body template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parameter {
    /// Name used in the template as `{{.name}}`.
    pub name: String,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A value from a Secret or ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

impl HttpSpec {
    /// The Secrets and ConfigMaps the headers and body parameters reference.
    pub fn references(&self) -> Vec<Reference> {
        let headers = self.headers.iter().enumerate().flat_map(|(i, h)| {
            Reference::value_from(&format!("spec.http.headers[{i}].value"), h.value.value_from.as_ref())
        });
        let params =
            self.body_parameters.iter().enumerate().flat_map(|(i, p)| {
                Reference::value_from(&format!("spec.http.bodyParameters[{i}]"), p.value_from.as_ref())
            });
        headers.chain(params).collect()
    }
}

/// The checks of `spec.http`: templates against the declared arguments, method, headers,
/// body parameters, caps, retries and the circuit breaker.
pub(crate) fn check_http(e: &mut Vec<FieldError>, http: &HttpSpec, spec: &ToolSpec) {
    let declared = declared_properties(spec).unwrap_or_default();
    match UrlTemplate::parse(&http.url) {
        Err(msg) => e.push(FieldError::new("spec.http.url", msg)),
        Ok(tpl) => {
            e.extend(check_http_url("spec.http.url", &tpl.sample()));
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
        e.extend(check_header_name(&format!("{p}.name"), &h.name));
        let ValueSource { value, value_from } = &h.value;
        if let Some(v) = value
            && v.contains(['\r', '\n'])
        {
            e.push(FieldError::new(format!("{p}.value.value"), "must not contain line breaks"));
        }
        e.extend(check_value_source(&format!("{p}.value"), value.as_ref(), value_from.as_ref()));
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
        e.extend(check_value_source(&p, value.as_ref(), value_from.as_ref()));
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
