//! The typed settings of an http tool: templates parsed once, header names checked, every
//! referenced value kept as a reference. Pure: no I/O, no secrets.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use toolkit_core::model::{AuthType, Authentication, ConfigMapKeySelector, SecretKeySelector, ToolSpec, ValueFrom};
use toolkit_core::validate::FieldError;
use url::Url;

use crate::spec::{ExtraArguments, HttpCircuitBreaker, HttpRetry, HttpSettings, HttpSpec, Redirects, check_http};
use crate::template::{BodyTemplate, UrlTemplate};

/// Response bytes read when `spec.http.maxResponseBytes` is not set.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Time allowed for a request when `spec.timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed to connect when `spec.config.connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Header of an API key when `headerName` is not set.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";
/// Attempts of an idempotent request when `spec.http.retry.maxAttempts` is not set.
pub const DEFAULT_IDEMPOTENT_ATTEMPTS: u32 = 3;
/// Wait before the first retry when `spec.http.retry.initialBackoff` is not set.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between attempts when `spec.http.retry.maxBackoff` is not set.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Failed requests in a row that open the circuit when `failureThreshold` is not set.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;
/// How long an open circuit stays open when `openFor` is not set.
pub const DEFAULT_OPEN_FOR: Duration = Duration::from_secs(30);

/// Where a header or body parameter value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Written in the manifest.
    Literal(String),
    /// A Secret key, resolved at call time.
    Secret(SecretKeySelector),
    /// A ConfigMap key, read at call time.
    ConfigMap(ConfigMapKeySelector),
}

/// A request header.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderSpec {
    /// Its name.
    pub name: HeaderName,
    /// Its value.
    pub value: Source,
}

/// How requests authenticate; every secret is a reference resolved at call time.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthConfig {
    /// `<header>: Bearer <token>`.
    Bearer {
        /// The token.
        token: SecretKeySelector,
        /// `Authorization` unless `headerName` says otherwise.
        header: HeaderName,
    },
    /// `<header>: Basic base64(user:password)`.
    Basic {
        /// The user name.
        username: Source,
        /// The password.
        password: SecretKeySelector,
        /// `Authorization` unless `headerName` says otherwise.
        header: HeaderName,
    },
    /// `<header>: <key>`.
    ApiKey {
        /// The key.
        key: SecretKeySelector,
        /// `X-API-Key` unless `headerName` says otherwise.
        header: HeaderName,
    },
    /// The caller's access token exchanged (RFC 8693) for one the upstream accepts, sent as a
    /// bearer token.
    TokenExchange {
        /// The endpoint, client and what is asked for.
        exchange: toolkit_core::token::TokenExchange,
        /// `Authorization` unless `headerName` says otherwise.
        header: HeaderName,
    },
    /// OAuth2 client credentials; the token is sent as a bearer token.
    OAuth2 {
        /// The token endpoint.
        token_url: Url,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretKeySelector,
        /// Scopes requested.
        scopes: Vec<String>,
        /// `Authorization` unless `headerName` says otherwise.
        header: HeaderName,
    },
}

impl AuthConfig {
    /// The header the credential goes in.
    pub fn header(&self) -> &HeaderName {
        match self {
            AuthConfig::Bearer { header, .. }
            | AuthConfig::Basic { header, .. }
            | AuthConfig::ApiKey { header, .. }
            | AuthConfig::OAuth2 { header, .. }
            | AuthConfig::TokenExchange { header, .. } => header,
        }
    }
}

/// When and how often a failed request is sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all; 1 means no retry.
    pub max_attempts: u32,
    /// Wait before the first retry, doubled for each next one.
    pub initial_backoff: Duration,
    /// Longest wait between attempts, and longest `Retry-After` honoured.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The policy of `spec.http.retry` for requests of `method`: without `maxAttempts`, only
    /// methods that are safe to repeat are retried.
    pub fn new(spec: Option<&HttpRetry>, method: &Method) -> Self {
        let idempotent = matches!(*method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        let default_attempts = if idempotent { DEFAULT_IDEMPOTENT_ATTEMPTS } else { 1 };
        Self {
            max_attempts: spec.and_then(|r| r.max_attempts).unwrap_or(default_attempts).max(1),
            initial_backoff: spec.and_then(|r| r.initial_backoff).map_or(DEFAULT_INITIAL_BACKOFF, |d| d.get()),
            max_backoff: spec.and_then(|r| r.max_backoff).map_or(DEFAULT_MAX_BACKOFF, |d| d.get()),
        }
    }
}

/// When the circuit opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failed requests in a row that open the circuit.
    pub failure_threshold: u32,
    /// How long it stays open before a trial request.
    pub open_for: Duration,
}

impl BreakerPolicy {
    /// The policy of `spec.http.circuitBreaker`, with defaults.
    pub fn new(spec: Option<&HttpCircuitBreaker>) -> Self {
        Self {
            failure_threshold: spec.and_then(|b| b.failure_threshold).unwrap_or(DEFAULT_FAILURE_THRESHOLD).max(1),
            open_for: spec.and_then(|b| b.open_for).map_or(DEFAULT_OPEN_FOR, |d| d.get()),
        }
    }
}

/// An http tool's request, validated and parsed.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// URL template.
    pub url: UrlTemplate,
    /// Scheme, host and port, when no placeholder is part of them.
    pub origin: Option<Url>,
    /// Method.
    pub method: Method,
    /// Headers.
    pub headers: Vec<HeaderSpec>,
    /// Body template.
    pub body: Option<BodyTemplate>,
    /// Named values for the body template.
    pub body_parameters: Vec<(String, Source)>,
    /// Response bytes read at most.
    pub max_response_bytes: usize,
    /// Credentials.
    pub auth: Option<AuthConfig>,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// PEM file of extra trusted CAs.
    pub ca_file: Option<String>,
    /// Path the probe requests instead of `/`.
    pub probe_path: Option<String>,
    /// Retries of agent calls.
    pub retry: RetryPolicy,
    /// The circuit breaker.
    pub breaker: BreakerPolicy,
    /// Which arguments the templates do not use are sent.
    pub extra_arguments: ExtraArguments,
    /// The arguments `spec.inputSchema.properties` declares.
    pub declared: std::collections::BTreeSet<String>,
    /// Which redirects are followed.
    pub redirects: Redirects,
}

/// Without `extraArguments`, an input schema that allows more properties in so many words
/// (`additionalProperties` other than `false`) passes every argument on; any other, only those
/// it declares.
fn extra_by_default(spec: &ToolSpec) -> ExtraArguments {
    let extra = spec.input_schema.as_ref().and_then(|s| s.get("additionalProperties"));
    match extra {
        Some(v) if v != &serde_json::Value::Bool(false) => ExtraArguments::All,
        _ => ExtraArguments::Declared,
    }
}

/// The blocks of an http tool as written: `spec.http`, `spec.config` and `spec.authentication`,
/// each read as far as it can be, and every problem found.
pub(crate) struct Blocks {
    pub http: Option<HttpSpec>,
    pub settings: HttpSettings,
    pub authentication: Option<Authentication>,
}

impl Blocks {
    pub(crate) fn read(spec: &ToolSpec, errs: &mut Vec<FieldError>) -> Self {
        let at = errs.len();
        let settings = spec.read_config::<HttpSettings>(errs).unwrap_or_default();
        for e in &mut errs[at..] {
            match e.path.as_str() {
                "spec.config.url" => e.message.push_str("; the URL goes in spec.http.url"),
                "spec.config.credentialsRef" | "spec.config.token" | "spec.config.username" => {
                    e.message.push_str("; credentials go in spec.authentication")
                }
                _ => {}
            }
        }
        let http = spec.read_block::<HttpSpec>("http", errs);
        let authentication = spec.read_block::<Authentication>("authentication", errs);
        Self { http, settings, authentication }
    }
}

impl HttpConfig {
    /// Checks every block of an http tool; pure.
    pub fn check(spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let blocks = Blocks::read(spec, &mut errs);
        match &blocks.http {
            Some(http) => check_http(&mut errs, http, spec),
            None if !spec.blocks.contains_key("http") => {
                errs.push(FieldError::new("spec.http", "is required for type http (at least `url`)"))
            }
            None => {}
        }
        if let Some(a) = &blocks.authentication {
            errs.extend(a.check("spec.authentication"));
        }
        if let Some(path) = probe_path(spec)
            && (!path.starts_with('/') || path.starts_with("//"))
        {
            errs.push(FieldError::new("spec.probe.path", format!("`{path}` must be a path starting with one `/`")));
        }
        if blocks.settings.connect_timeout.is_some_and(|d| d.get().is_zero()) {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        for (i, p) in blocks.http.iter().flat_map(|h| h.body_parameters.iter()).enumerate() {
            if p.name.contains('.') || p.name.is_empty() {
                errs.push(FieldError::new(
                    format!("spec.http.bodyParameters[{i}].name"),
                    "must be a name of letters, digits, `_` or `-`",
                ));
            }
        }
        errs
    }

    /// Reads the whole request; any problem (including those the shared validation reports)
    /// is returned with its field path.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Self::check(spec);
        let blocks = Blocks::read(spec, &mut Vec::new());
        let Some(http) = &blocks.http else {
            return Err(errs);
        };
        let url = UrlTemplate::parse(&http.url).map_err(|m| FieldError::new("spec.http.url", m));
        let origin = url.as_ref().ok().and_then(origin_of);
        let method = match &http.method {
            None => Ok(Method::GET),
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| FieldError::new("spec.http.method", format!("`{m}` is not an HTTP method"))),
        };
        let mut headers = Vec::new();
        for (i, h) in http.headers.iter().enumerate() {
            let path = format!("spec.http.headers[{i}]");
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| FieldError::new(format!("{path}.name"), format!("`{}` is not a header name", h.name)));
            let value = source(&format!("{path}.value"), h.value.value.as_ref(), h.value.value_from.as_ref());
            if let Ok(Source::Literal(v)) = &value
                && HeaderValue::from_str(v).is_err()
            {
                errs.push(FieldError::new(format!("{path}.value.value"), "is not a valid header value"));
            }
            match (name, value) {
                (Ok(name), Ok(value)) => headers.push(HeaderSpec { name, value }),
                (n, v) => errs.extend(n.err().into_iter().chain(v.err())),
            }
        }
        let body = http
            .body
            .as_deref()
            .map(|b| BodyTemplate::parse(b).map_err(|m| FieldError::new("spec.http.body", m)))
            .transpose();
        let mut body_parameters = Vec::new();
        for (i, p) in http.body_parameters.iter().enumerate() {
            match source(&format!("spec.http.bodyParameters[{i}]"), p.value.as_ref(), p.value_from.as_ref()) {
                Ok(s) => body_parameters.push((p.name.clone(), s)),
                Err(e) => errs.push(e),
            }
        }
        let auth = match &blocks.authentication {
            None => Ok(None),
            Some(a) => auth(a),
        };
        let max_response_bytes = match http.max_response_bytes {
            None => DEFAULT_MAX_RESPONSE_BYTES,
            Some(0) => {
                errs.push(FieldError::new("spec.http.maxResponseBytes", "must be at least 1"));
                0
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let config = &blocks.settings;
        match (url, method, body, auth) {
            (Ok(url), Ok(method), Ok(body), Ok(auth)) if errs.is_empty() => Ok(Self {
                retry: RetryPolicy::new(http.retry.as_ref(), &method),
                breaker: BreakerPolicy::new(http.circuit_breaker.as_ref()),
                extra_arguments: http.extra_arguments.unwrap_or_else(|| extra_by_default(spec)),
                declared: toolkit_core::validate::declared_properties(spec).unwrap_or_default(),
                redirects: http.redirects.unwrap_or_default(),
                url,
                origin,
                method,
                headers,
                body,
                body_parameters,
                max_response_bytes,
                auth,
                timeout: spec.timeout.map_or(DEFAULT_TIMEOUT, |d| d.get()),
                connect_timeout: config.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
                ca_file: config.ca_file.clone(),
                probe_path: probe_path(spec).map(str::to_owned),
            }),
            (url, method, body, auth) => {
                errs.extend(url.err());
                errs.extend(method.err());
                errs.extend(body.err());
                errs.extend(auth.err().into_iter().flatten());
                Err(errs)
            }
        }
    }
}

fn probe_path(spec: &ToolSpec) -> Option<&str> {
    match &spec.probe {
        Some(toolkit_core::model::ProbeSetting::Detailed(p)) => p.path.as_deref(),
        _ => None,
    }
}

/// The origin of the URL, unless a placeholder decides part of it.
fn origin_of(tpl: &UrlTemplate) -> Option<Url> {
    let with = |fill: &str| {
        let args = tpl.params().map(|p| (p.to_owned(), serde_json::Value::String(fill.to_owned()))).collect();
        let text = tpl.render(&args).ok()?;
        let mut u = Url::parse(&text).ok()?;
        u.set_path("/");
        u.set_query(None);
        u.set_fragment(None);
        // Credentials written into the URL stay out of the probe target and session env.
        u.set_username("").ok()?;
        u.set_password(None).ok()?;
        Some(u)
    };
    let a = with("x")?;
    (Some(&a) == with("y").as_ref() && a.host_str().is_some()).then_some(a)
}

fn source(path: &str, value: Option<&String>, from: Option<&ValueFrom>) -> Result<Source, FieldError> {
    match (value, from) {
        (Some(v), None) => Ok(Source::Literal(v.clone())),
        (None, Some(ValueFrom { secret_key_ref: Some(s), config_map_key_ref: None })) => Ok(Source::Secret(s.clone())),
        (None, Some(ValueFrom { secret_key_ref: None, config_map_key_ref: Some(c) })) => {
            Ok(Source::ConfigMap(c.clone()))
        }
        _ => Err(FieldError::new(
            path,
            "set exactly one of `value`, `valueFrom.secretKeyRef` or `valueFrom.configMapKeyRef`",
        )),
    }
}

/// `tokenUrl` (an http(s) URL) and `clientId` of a scheme that asks a token endpoint; each
/// missing or wrong one is reported.
fn token_endpoint(a: &Authentication, scheme: &str, errs: &mut Vec<FieldError>) -> Option<(Url, String)> {
    const P: &str = "spec.authentication";
    let token_url = match a.token_url.as_deref().map(Url::parse) {
        Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            errs.push(FieldError::new(format!("{P}.tokenUrl"), "must be an http(s) URL"));
            None
        }
    };
    let client_id = a.client_id.clone().or_else(|| {
        errs.push(FieldError::new(format!("{P}.clientId"), format!("is required for {scheme}")));
        None
    });
    token_url.zip(client_id)
}

fn auth(a: &Authentication) -> Result<Option<AuthConfig>, Vec<FieldError>> {
    const P: &str = "spec.authentication";
    let mut errs = Vec::new();
    let header = |default: HeaderName, errs: &mut Vec<FieldError>| match &a.header_name {
        None => default,
        Some(h) => HeaderName::from_bytes(h.as_bytes()).unwrap_or_else(|_| {
            errs.push(FieldError::new(format!("{P}.headerName"), format!("`{h}` is not a header name")));
            default
        }),
    };
    let secret = |errs: &mut Vec<FieldError>| {
        a.secret_ref.clone().ok_or(()).map_err(|()| {
            errs.push(FieldError::new(format!("{P}.secretRef"), "is required for this authentication type"));
        })
    };
    let out = match a.type_ {
        AuthType::None => None,
        AuthType::Bearer => {
            let header = header(AUTHORIZATION, &mut errs);
            secret(&mut errs).ok().map(|token| AuthConfig::Bearer { token, header })
        }
        AuthType::ApiKey => {
            let header = header(HeaderName::from_static(DEFAULT_API_KEY_HEADER), &mut errs);
            secret(&mut errs).ok().map(|key| AuthConfig::ApiKey { key, header })
        }
        AuthType::Basic => {
            let header = header(AUTHORIZATION, &mut errs);
            let username = match (&a.username, &a.username_ref) {
                (Some(u), None) => Some(Source::Literal(u.clone())),
                (None, Some(r)) => Some(Source::Secret(r.clone())),
                _ => {
                    errs.push(FieldError::new(
                        format!("{P}.username"),
                        "set exactly one of `username` or `usernameRef`",
                    ));
                    None
                }
            };
            let password = secret(&mut errs).ok();
            username.zip(password).map(|(username, password)| AuthConfig::Basic { username, password, header })
        }
        AuthType::TokenExchange => {
            let header = header(AUTHORIZATION, &mut errs);
            let checked = token_endpoint(a, "tokenExchange", &mut errs);
            let exchange = checked.and_then(|_| toolkit_core::token::TokenExchange::from_authentication(a));
            exchange.map(|exchange| AuthConfig::TokenExchange { exchange, header })
        }
        AuthType::Oauth2 => {
            let header = header(AUTHORIZATION, &mut errs);
            let endpoint = token_endpoint(a, "oauth2", &mut errs);
            let (token_url, client_id) = endpoint.map_or((None, None), |(u, c)| (Some(u), Some(c)));
            let client_secret = secret(&mut errs).ok();
            match (token_url, client_id, client_secret) {
                (Some(token_url), Some(client_id), Some(client_secret)) => {
                    Some(AuthConfig::OAuth2 { token_url, client_id, client_secret, scopes: a.scopes.clone(), header })
                }
                _ => None,
            }
        }
    };
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec(v: serde_json::Value) -> ToolSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn parses_a_full_request() {
        let s = spec(json!({
            "type": "http",
            "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}},
            "http": {"url": "https://api.example.com/v1/items/{id}", "method": "post",
                     "headers": [{"name": "X-Org", "value": {"valueFrom": {"configMapKeyRef": {"name": "c", "key": "org"}}}}],
                     "body": "{\"a\": \"{{.input.id}}\"}"},
            "authentication": {"type": "apiKey", "secretRef": {"name": "s", "key": "k"}}
        }));
        let cfg = HttpConfig::from_spec(&s).unwrap();
        assert_eq!(cfg.method, Method::POST);
        assert_eq!(cfg.origin.unwrap().as_str(), "https://api.example.com/");
        assert_eq!(cfg.auth.unwrap().header().as_str(), "x-api-key");
        assert!(matches!(cfg.headers[0].value, Source::ConfigMap(_)));
    }

    #[test]
    fn retries_default_to_idempotent_methods_only() {
        let attempts = |method: &str, retry: Value| {
            let s = spec(json!({"type": "http", "http": {"url": "http://h/", "method": method, "retry": retry}}));
            HttpConfig::from_spec(&s).unwrap().retry.max_attempts
        };
        assert_eq!(attempts("GET", Value::Null), 3);
        assert_eq!(attempts("DELETE", Value::Null), 3);
        assert_eq!(attempts("POST", Value::Null), 1);
        assert_eq!(attempts("PATCH", json!({"initialBackoff": "1s"})), 1);
        assert_eq!(attempts("POST", json!({"maxAttempts": 4})), 4);
        let s = spec(json!({"type": "http", "http": {"url": "http://h/", "circuitBreaker": {"openFor": "1m"}}}));
        let b = HttpConfig::from_spec(&s).unwrap().breaker;
        assert_eq!((b.failure_threshold, b.open_for), (DEFAULT_FAILURE_THRESHOLD, Duration::from_secs(60)));
    }

    #[test]
    fn origin_is_unknown_when_a_placeholder_decides_it() {
        let tpl = UrlTemplate::parse("https://{region}.example.com/x").unwrap();
        assert_eq!(origin_of(&tpl), None);
    }

    #[test]
    fn refuses_unused_keys_and_bad_probe_paths() {
        let s = spec(json!({
            "type": "http", "http": {"url": "http://h/"},
            "config": {"hostname": "h", "connectTimeout": "2s"},
            "probe": {"path": "health"}
        }));
        let errs = HttpConfig::check(&s);
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.hostname", "spec.probe.path"]);
    }
}
