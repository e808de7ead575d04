//! Building one request: the URL and body rendered from the arguments, referenced values
//! resolved at call time, headers checked for line breaks after resolution, then sent.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, StatusCode};
use serde_json::{Map, Value};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, ErrorKind, Result};
use tracing::Instrument as _;
use url::Url;

use crate::HttpTool;
use crate::config::Source;
use crate::response::{Answer, SendError, classify};
use crate::spec::{ExtraArguments, Redirects};

/// A request body and its type.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: &'static str,
}

/// What one request needs besides its headers.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<Body>,
}

/// Secret values resolved for one call, kept to redact what comes back.
pub(crate) type Seen = Vec<SecretString>;

impl HttpTool {
    /// The value of `src` now. Secret values are added to `seen`.
    pub(crate) async fn value(&self, src: &Source, seen: &mut Seen) -> Result<SecretString> {
        match src {
            Source::Literal(v) => Ok(SecretString::new(v.clone())),
            Source::Secret(sel) => {
                let v = self.secrets.resolve(&self.namespace, sel).await?;
                seen.push(v.clone());
                Ok(v)
            }
            Source::ConfigMap(sel) => {
                Ok(SecretString::new(self.config_maps.get(&self.namespace, &sel.name, &sel.key)?.to_owned()))
            }
        }
    }

    /// The request of one call.
    pub(crate) async fn target(&self, args: &Map<String, Value>, seen: &mut Seen) -> Result<Target> {
        let cfg = &self.cfg;
        let text = cfg.url.render(args).map_err(|m| Error::invalid_input(format!("render the URL: {m}")))?;
        let mut url = Url::parse(&text)
            .map_err(|e| Error::invalid_input("render the URL: the result is not a valid URL").with_source(e))?;
        let in_url: BTreeSet<&str> = cfg.url.params().collect();
        let in_body: BTreeSet<&str> = cfg.body.as_ref().map(|b| b.inputs().collect()).unwrap_or_default();
        let rest: Vec<(&String, &Value)> = args
            .iter()
            .filter(|(k, v)| !in_url.contains(k.as_str()) && !in_body.contains(k.as_str()) && !v.is_null())
            .collect();
        if cfg.body.is_none() {
            self.check_extra(&rest, &url)?;
        }
        let body = match &cfg.body {
            Some(tpl) => {
                let mut params = Map::new();
                for (name, src) in &cfg.body_parameters {
                    let v = self.value(src, seen).await?;
                    params.insert(name.clone(), Value::String(v.expose().to_owned()));
                }
                Some(Body { bytes: tpl.render(args, &params).into_bytes(), content_type: "application/json" })
            }
            None if sends_query(&cfg.method) => {
                let mut pairs = Vec::new();
                for (k, v) in rest.iter().copied() {
                    match v {
                        Value::Array(items) => pairs.extend(items.iter().map(|i| (k.clone(), scalar_text(i)))),
                        other => pairs.push((k.clone(), scalar_text(other))),
                    }
                }
                if !pairs.is_empty() {
                    url.query_pairs_mut().extend_pairs(pairs);
                }
                None
            }
            None => {
                let object: Map<String, Value> = rest.iter().map(|(k, v)| ((*k).clone(), (*v).clone())).collect();
                (!object.is_empty()).then(|| Body {
                    bytes: Value::Object(object).to_string().into_bytes(),
                    content_type: "application/json",
                })
            }
        };
        Ok(Target { method: cfg.method.clone(), url, body })
    }

    /// Refuses arguments the templates do not use that the tool does not pass on, and any that
    /// would replace a query parameter the URL fixes.
    fn check_extra(&self, rest: &[(&String, &Value)], url: &Url) -> Result<()> {
        let fixed: BTreeSet<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        for (name, _) in rest {
            if fixed.contains(name.as_str()) {
                return Err(Error::invalid_input(format!(
                    "argument `{name}` would replace the query parameter the tool's URL fixes"
                )));
            }
            let passed = match self.cfg.extra_arguments {
                ExtraArguments::All => true,
                ExtraArguments::Declared => self.cfg.declared.contains(name.as_str()),
                ExtraArguments::None => false,
            };
            if !passed {
                return Err(Error::invalid_input(format!(
                    "argument `{name}` is not one the tool sends: declare it in spec.inputSchema, or set spec.http.extraArguments"
                )));
            }
        }
        Ok(())
    }

    /// The configured headers and the credential, resolved now. Headers whose value comes
    /// from a Secret, and the credential's, are marked sensitive: they never cross to another
    /// origin.
    pub(crate) async fn headers(&self, seen: &mut Seen) -> Result<HeaderMap> {
        let mut map = HeaderMap::new();
        for h in &self.cfg.headers {
            let secret = matches!(h.value, Source::Secret(_));
            let v = self.value(&h.value, seen).await?;
            map.append(h.name.clone(), header_value(&h.name, v.expose(), secret)?);
        }
        if let Some((name, value)) = self.auth_header(seen).await? {
            map.insert(name.clone(), header_value(&name, value.expose(), true)?);
        }
        Ok(map)
    }

    /// The request of `target` with the tool's headers and credentials; `timeout` overrides
    /// the tool's own.
    pub(crate) async fn build(&self, target: Target, timeout: Option<Duration>, seen: &mut Seen) -> Result<Request> {
        let client = self.client().await?;
        let mut headers = self.headers(seen).await?;
        if let Some(b) = &target.body
            && !headers.contains_key(CONTENT_TYPE)
        {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(b.content_type));
        }
        let mut req = client.request(target.method, target.url).headers(headers);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(b) = target.body {
            req = req.body(b.bytes);
        }
        req.build().map_err(|e| classify(e, "build the request").error)
    }

    /// Sends `request` once, allowing it `timeout`, follows the redirects the tool allows, and
    /// reads at most `cap` body bytes.
    pub(crate) async fn execute(
        &self,
        mut request: Request,
        timeout: Duration,
        cap: usize,
    ) -> Result<Answer, SendError> {
        *request.timeout_mut() = Some(timeout);
        let client = self.client().await.map_err(SendError::other)?;
        let origin = request.url().origin();
        let mut hops = 0;
        loop {
            let span = client_span(&request, self.cfg.origin.as_ref());
            toolkit_core::trace::inject(&span, &mut |name, value| {
                if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
                    request.headers_mut().insert(name, value);
                }
            });
            let again = request.try_clone();
            let resp = client.execute(request).instrument(span.clone()).await;
            let resp = match resp {
                Ok(r) => {
                    span.record("http.response.status_code", r.status().as_u16());
                    if r.status().is_server_error() {
                        span.record("error.type", r.status().as_str());
                    }
                    r
                }
                Err(e) => {
                    let e = classify(e, "send the request");
                    span.record("error.type", e.error.kind().as_str());
                    return Err(e);
                }
            };
            if resp.status() == StatusCode::UNAUTHORIZED {
                // A revoked or rotated token: fetch a new one next time.
                self.forget_token().await;
            }
            let next = match (again, redirect_location(&resp)) {
                (Some(again), Some(location)) if self.cfg.redirects != Redirects::None => (again, location),
                _ => return Answer::read(resp, cap).await.map_err(SendError::other),
            };
            hops += 1;
            let secret_body = self.cfg.body_parameters.iter().any(|(_, s)| matches!(s, Source::Secret(_)));
            let hop = Hop { status: resp.status(), next: &next.1, origin: &origin, secret_body, hops };
            request = follow(next.0, &hop, self.cfg.redirects).map_err(SendError::other)?;
        }
    }

    /// Sends `target` once with the tool's headers; `timeout` overrides the tool's own.
    pub(crate) async fn send(
        &self,
        target: Target,
        timeout: Option<Duration>,
        cap: usize,
        seen: &mut Seen,
    ) -> Result<Answer> {
        let request = self.build(target, timeout, seen).await?;
        let timeout = timeout.unwrap_or(self.cfg.timeout);
        self.execute(request, timeout, cap).await.map_err(|e| e.error)
    }
}

/// The CLIENT span of one request upstream: method, and the server when the tool fixes its
/// origin (a templated host, path or query may hold an argument or a secret). Disabled (and
/// free) unless a subscriber wants `debug` spans.
fn client_span(request: &Request, origin: Option<&Url>) -> tracing::Span {
    tracing::debug_span!(
        "http.client",
        otel.name = %request.method(),
        otel.kind = "client",
        "http.request.method" = %request.method(),
        "server.address" = origin.and_then(Url::host_str).unwrap_or_default(),
        "server.port" = origin.and_then(Url::port_or_known_default).unwrap_or_default(),
        "http.response.status_code" = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
    )
}

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

/// Where a redirect points, resolved against the request's URL.
fn redirect_location(resp: &reqwest::Response) -> Option<Url> {
    if !resp.status().is_redirection() || resp.status() == StatusCode::NOT_MODIFIED {
        return None;
    }
    let location = resp.headers().get(reqwest::header::LOCATION)?.to_str().ok()?;
    resp.url().join(location).ok()
}

/// One redirect: the status that asked for it, where it points, the first request's origin,
/// whether the request's body holds a value from a Secret, and how many hops so far.
struct Hop<'a> {
    status: StatusCode,
    next: &'a Url,
    origin: &'a url::Origin,
    secret_body: bool,
    hops: usize,
}

/// The request of one redirect hop from `previous`. Within the first request's origin it is the
/// same request; to another origin (only with `redirects: any`) it carries no credential the
/// tool injects: sensitive headers and cookies are dropped, and a body with a secret in it is
/// not sent again.
fn follow(previous: Request, hop: &Hop<'_>, redirects: Redirects) -> Result<Request> {
    let Hop { status, next, origin, secret_body, hops } = *hop;
    if hops > MAX_REDIRECTS {
        return Err(Error::new(ErrorKind::Upstream, format!("follow redirects: more than {MAX_REDIRECTS}")));
    }
    let same = next.origin() == *origin;
    if !same && redirects != Redirects::Any {
        return Err(Error::new(
            ErrorKind::Denied,
            format!(
                "follow a redirect to another origin ({}): the tool follows redirects within its origin only",
                next.origin().ascii_serialization()
            ),
        )
        .with_context("hint", "set spec.http.redirects: any to follow it without the tool's credentials"));
    }
    if matches!(origin, url::Origin::Tuple(scheme, ..) if scheme == "https") && next.scheme() != "https" {
        return Err(Error::new(ErrorKind::Denied, "follow a redirect from https to http"));
    }
    let keep_body = matches!(status, StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT);
    let method = if keep_body || *previous.method() == Method::HEAD { previous.method().clone() } else { Method::GET };
    let mut request = Request::new(method, next.clone());
    *request.timeout_mut() = previous.timeout().copied();
    let mut headers = previous.headers().clone();
    if !same {
        let sensitive: Vec<HeaderName> =
            headers.iter().filter(|(_, v)| v.is_sensitive()).map(|(k, _)| k.clone()).collect();
        for name in sensitive {
            headers.remove(&name);
        }
        headers.remove(reqwest::header::COOKIE);
    }
    if !keep_body {
        headers.remove(CONTENT_TYPE);
        headers.remove(reqwest::header::CONTENT_LENGTH);
    }
    *request.headers_mut() = headers;
    if keep_body && let Some(body) = previous.body() {
        if !same && secret_body {
            return Err(Error::new(
                ErrorKind::Denied,
                "follow a redirect to another origin: the request's body holds a value from a Secret",
            ));
        }
        let bytes = body.as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        *request.body_mut() = Some(bytes.into());
    }
    Ok(request)
}

/// Methods whose arguments travel in the query string when there is no body template.
fn sends_query(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::DELETE | Method::HEAD | Method::OPTIONS)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A header value, refused when it holds a line break or other control characters. The value
/// itself never appears in the error.
pub(crate) fn header_value(name: &HeaderName, value: &str, secret: bool) -> Result<HeaderValue> {
    let from = if secret { "the referenced secret" } else { "the value" };
    if value.contains(['\r', '\n']) {
        let mut err = Error::new(ErrorKind::InvalidInput, format!("set header `{name}`: {from} contains a line break"));
        if secret {
            err = err.with_context("hint", "secrets made from files often end in a newline");
        }
        return Err(err);
    }
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| Error::invalid_input(format!("set header `{name}`: {from} is not a valid header value")))?;
    v.set_sensitive(secret);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_refuse_line_breaks_without_echoing() {
        let name = HeaderName::from_static("x-token");
        let err = header_value(&name, "abc\r\nX-Admin: true", true).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.to_string().contains("X-Admin"));
        assert!(header_value(&name, "abc\0", false).is_err());
        assert!(header_value(&name, "fine value", false).unwrap().to_str().is_ok());
    }
}
