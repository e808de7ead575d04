//! Building one request: the URL and body rendered from the arguments, referenced values
//! resolved at call time, headers checked for line breaks after resolution, then sent.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, StatusCode};
use serde_json::{Map, Value};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, ErrorKind, Result};
use url::Url;

use crate::HttpTool;
use crate::config::Source;
use crate::response::{Answer, SendError, classify};

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
        let rest = args.iter().filter(|(k, v)| !in_url.contains(k.as_str()) && !v.is_null());
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
                for (k, v) in rest {
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
                let object: Map<String, Value> = rest.map(|(k, v)| (k.clone(), v.clone())).collect();
                (!object.is_empty()).then(|| Body {
                    bytes: Value::Object(object).to_string().into_bytes(),
                    content_type: "application/json",
                })
            }
        };
        Ok(Target { method: cfg.method.clone(), url, body })
    }

    /// The configured headers and the credential, resolved now.
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

    /// Sends `request` once, allowing it `timeout`, and reads at most `cap` body bytes.
    pub(crate) async fn execute(
        &self,
        mut request: Request,
        timeout: Duration,
        cap: usize,
    ) -> Result<Answer, SendError> {
        *request.timeout_mut() = Some(timeout);
        let client = self.client().await.map_err(SendError::other)?;
        let resp = client.execute(request).await.map_err(|e| classify(e, "send the request"))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            // A revoked or rotated token: fetch a new one next time.
            self.forget_token().await;
        }
        Answer::read(resp, cap).await.map_err(SendError::other)
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
