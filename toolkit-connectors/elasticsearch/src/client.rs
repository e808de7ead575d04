//! Requests to the cluster: one pooled reqwest client per tool, made on first use, credentials
//! resolved for each request (so a rotated Secret is picked up), and the mapping of failures to
//! [`ErrorKind`]s.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::OnceCell;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{Auth, EsConfig};

/// Response bodies read at most: far above any capped result, a guard against runaway bodies.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The client of one tool.
pub(crate) struct Client {
    pub(crate) config: EsConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    http: OnceCell<reqwest::Client>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.config.display_url())
            .field("user", &self.config.username())
            .finish_non_exhaustive()
    }
}

/// A response: status and JSON body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Client {
    pub(crate) fn new(config: EsConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, http: OnceCell::new() }
    }

    async fn http(&self) -> Result<&reqwest::Client> {
        self.http
            .get_or_try_init(|| async {
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(self.config.connect_timeout)
                    // The cluster's URL is fixed; a redirect elsewhere would carry the credentials.
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(path) = &self.config.ca_file {
                    let pem = tokio::fs::read(path)
                        .await
                        .map_err(|e| Error::config(format!("read the CA file {path}")).with_source(e))?;
                    let certs = reqwest::Certificate::from_pem_bundle(&pem)
                        .map_err(|e| Error::config(format!("read the CA file {path}")).with_source(e))?;
                    for c in certs {
                        builder = builder.add_root_certificate(c);
                    }
                }
                if self.config.insecure_skip_tls_verify {
                    builder = builder.danger_accept_invalid_certs(true);
                }
                builder.build().map_err(|e| Error::config("set up the elasticsearch client").with_source(e))
            })
            .await
    }

    /// The password or API key, resolved now; `None` without credentials.
    pub(crate) async fn credential(&self) -> Result<Option<SecretString>> {
        match &self.config.auth {
            Auth::None => Ok(None),
            Auth::Basic { password: sel, .. } | Auth::ApiKey(sel) => {
                Ok(Some(self.secrets.resolve(&self.namespace, sel).await?))
            }
        }
    }

    /// The `Authorization` header, resolved now; marked sensitive so it is never printed.
    pub(crate) async fn authorization(&self) -> Result<Option<HeaderValue>> {
        let text = match &self.config.auth {
            Auth::None => return Ok(None),
            Auth::Basic { username, password } => {
                let password = self.secrets.resolve(&self.namespace, password).await?;
                let raw = format!("{username}:{}", password.expose());
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()))
            }
            Auth::ApiKey(key) => format!("ApiKey {}", self.secrets.resolve(&self.namespace, key).await?.expose()),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::config("build the authorization header: the credential has characters a header cannot carry")
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Sends one request to `path` (already encoded, starting with `/`) and reads the JSON reply
    /// of any status; transport failures and `timeout` are errors. `action` reads well after
    /// "failed to".
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
        action: &str,
    ) -> Result<Reply> {
        let http = self.http().await?;
        let url = format!("{}{path}", self.config.display_url());
        let mut req = http.request(method, url).timeout(timeout);
        if let Some(auth) = self.authorization().await? {
            req = req.header(AUTHORIZATION, auth);
        }
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b.to_string());
        }
        let sent = async {
            let resp = req.send().await?;
            let status = resp.status();
            let mut resp = resp;
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(timeout, sent).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(self.context(classify(e, action))),
            Err(_) => return Err(self.context(Error::new(ErrorKind::Timeout, action.to_owned()))),
        };
        if bytes.len() > MAX_BODY {
            return Err(self.context(Error::new(ErrorKind::Upstream, format!("{action}: the reply is over 64 MiB"))));
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Reply { status, body })
    }

    /// An error reply as the toolkit's error.
    pub(crate) fn status_error(&self, reply: &Reply, action: &str) -> Error {
        let kind = match reply.status {
            StatusCode::UNAUTHORIZED => ErrorKind::Auth,
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => ErrorKind::Denied,
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::METHOD_NOT_ALLOWED => {
                ErrorKind::InvalidInput
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
            _ => ErrorKind::Upstream,
        };
        let mut err = Error::new(kind, format!("{action}: status {} ({})", reply.status.as_u16(), reason(&reply.body)));
        if matches!(reply.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
            err = err.set_retryable(true);
        }
        self.context(err)
    }

    fn context(&self, err: Error) -> Error {
        let err = err.with_context("url", self.config.display_url());
        match self.config.username() {
            Some(u) => err.with_context("user", u),
            None => err,
        }
    }
}

/// `type: reason` of an Elasticsearch error body, its root cause's when there is one.
pub(crate) fn reason(body: &Value) -> String {
    let err = &body["error"];
    if let Some(s) = err.as_str() {
        return one_line_cut(s);
    }
    let cause = err["root_cause"].get(0).filter(|c| c.is_object()).unwrap_or(err);
    let (ty, why) = (cause["type"].as_str().unwrap_or_default(), cause["reason"].as_str().unwrap_or_default());
    match (ty, why) {
        ("", "") => match body {
            Value::String(s) => one_line_cut(s),
            _ => "no reason given".to_owned(),
        },
        (t, "") => t.to_owned(),
        ("", r) => one_line_cut(r),
        (t, r) => one_line_cut(&format!("{t}: {r}")),
    }
}

fn one_line_cut(s: &str) -> String {
    let line = toolkit_core::error::one_line(s);
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line,
    }
}

/// Maps a transport error; `action` reads well after "failed to".
fn classify(e: reqwest::Error, action: &str) -> Error {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::Config
    } else if e.is_decode() {
        ErrorKind::Upstream
    } else {
        // Refused, reset, DNS, TLS: the cluster could not be reached.
        ErrorKind::Unreachable
    };
    let tls = kind == ErrorKind::Unreachable && is_tls(&e);
    let action = if tls { format!("{action} (TLS)") } else { action.to_owned() };
    Error::new(kind, action).with_source(e)
}

fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(s) = cur {
        let text = s.to_string().to_ascii_lowercase();
        if ["certificate", "tls", "handshake", "invalidcontenttype", "corrupt message"].iter().any(|p| text.contains(p))
        {
            return true;
        }
        cur = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_error_reasons() {
        let body = json!({"error": {"type": "x", "reason": "outer", "root_cause": [{"type": "parsing_exception", "reason": "unknown query [bogus]"}]}, "status": 400});
        assert_eq!(reason(&body), "parsing_exception: unknown query [bogus]");
        assert_eq!(reason(&json!({"error": "no handler found"})), "no handler found");
        assert_eq!(reason(&json!("plain\ntext")), "plain; text");
    }
}
