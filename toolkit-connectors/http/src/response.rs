//! Answers: the body read as a stream and cut at the cap, the result JSON, and the mapping of
//! statuses and transport errors to [`ErrorKind`]s.

use std::error::Error as StdError;

use base64::Engine as _;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{Map, Value};
use toolkit_core::secret::Redactor;
use toolkit_core::{Error, ErrorKind, Result};

/// Characters of an error body quoted in an error message.
const EXCERPT_CHARS: usize = 200;

/// What the upstream answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) truncated: bool,
}

impl Answer {
    /// Reads `resp`, keeping at most `cap` body bytes.
    pub(crate) async fn read(mut resp: Response, cap: usize) -> Result<Self> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(classify(e, "read the response body").into()),
            }
        }
        Ok(Self { status, headers, body, truncated })
    }

    /// `{status, headers, body}`, with `secrets` redacted: from the whole body before it is
    /// decoded or encoded, including a secret the size cap cut in half.
    pub(crate) fn into_result(self, redactor: &Redactor) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            // Cookies are credentials of the tool's identity, not data for the agent.
            if name == SET_COOKIE {
                continue;
            }
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(&text);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(text));
                }
            }
        }
        let mut out = Map::new();
        out.insert("status".into(), Value::from(self.status.as_u16()));
        out.insert("headers".into(), Value::Object(headers));
        let body = redactor.bytes(&self.body, self.truncated);
        let (body, encoding) = body_value(&body, self.truncated, self.headers.get(CONTENT_TYPE));
        out.insert("body".into(), body);
        if let Some(e) = encoding {
            out.insert("bodyEncoding".into(), Value::String(e.into()));
        }
        let mut value = Value::Object(out);
        redactor.json(&mut value);
        value
    }

    /// The error for a status outside 2xx.
    pub(crate) fn status_error(&self, redactor: &Redactor) -> Error {
        let s = self.status;
        let kind = match s.as_u16() {
            401 | 403 => ErrorKind::Auth,
            408 | 504 => ErrorKind::Timeout,
            429 => ErrorKind::Denied,
            _ => ErrorKind::Upstream,
        };
        let reason = s.canonical_reason().map(|r| format!(" {r}")).unwrap_or_default();
        let mut err = Error::new(kind, format!("upstream answered {}{reason}", s.as_u16()));
        let excerpt = excerpt(&self.body, redactor);
        if !excerpt.is_empty() {
            err = err.with_context("body", excerpt);
        }
        if let Some(after) = self.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
            err = err.with_context("retry-after", after);
        }
        // Rate limits, overload and server faults pass; other refusals repeat.
        err.set_retryable(crate::retry::retryable_status(s))
    }
}

/// The body as JSON when it says it is and parses, as text when UTF-8, else as base64.
fn body_value(
    bytes: &[u8],
    truncated: bool,
    content_type: Option<&reqwest::header::HeaderValue>,
) -> (Value, Option<&'static str>) {
    let ct = content_type.and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let is_json = essence == "application/json" || essence.ends_with("+json");
    if is_json
        && !truncated
        && let Ok(v) = serde_json::from_slice::<Value>(bytes)
    {
        return (v, None);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Value::String(s.to_owned()), None),
        // A cut in the middle of a character is not binary data.
        Err(e) if truncated && e.error_len().is_none() => {
            (Value::String(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()), None)
        }
        Err(_) => (Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)), Some("base64")),
    }
}

/// A short, one-line piece of an error body, redacted before it is cut (and its cut end
/// redacted again, should it end in the start of a secret).
fn excerpt(body: &[u8], redactor: &Redactor) -> String {
    let text = redactor.text(&String::from_utf8_lossy(body));
    let short: String = text.chars().take(EXCERPT_CHARS).collect();
    let cut = text.chars().count() > EXCERPT_CHARS;
    let short = if cut { redactor.cut_text(&short) } else { short };
    let mut out = toolkit_core::error::one_line(&short);
    if cut {
        out.push_str("...");
    }
    out
}

/// A request that got no answer.
#[derive(Debug)]
pub(crate) struct SendError {
    /// What went wrong.
    pub(crate) error: Error,
    /// No connection could be made (so nothing was sent, and a retry may reach the server).
    pub(crate) connect: bool,
}

impl SendError {
    pub(crate) fn other(error: Error) -> Self {
        Self { error, connect: false }
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        e.error
    }
}

/// Maps a transport error; `action` reads well after "failed to".
pub(crate) fn classify(e: reqwest::Error, action: &str) -> SendError {
    // Without the URL: the text is searched, and the URL need not be repeated.
    let e = e.without_url();
    let tls = (e.is_connect() || e.is_request()) && is_tls(&e);
    let connect = e.is_connect() && !tls;
    let (kind, action) = if e.is_timeout() {
        (ErrorKind::Timeout, action.to_owned())
    } else if tls {
        (ErrorKind::Unreachable, format!("{action} (TLS)"))
    } else if e.is_connect() {
        (ErrorKind::Unreachable, action.to_owned())
    } else if e.is_builder() {
        (ErrorKind::InvalidInput, action.to_owned())
    } else if e.is_redirect() || e.is_decode() || e.is_status() {
        (ErrorKind::Upstream, action.to_owned())
    } else {
        // Resets and other failures while sending or receiving.
        (ErrorKind::Unreachable, action.to_owned())
    };
    SendError { error: Error::new(kind, action).with_source(e), connect }
}

/// Whether a rustls error (bare, or inside `io::Error`s as tokio-rustls wraps it) or a
/// certificate complaint is in the chain.
fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(s) = cur {
        let text = s.to_string().to_ascii_lowercase();
        if is_rustls(s) || text.contains("certificate") || text.contains("tls handshake") {
            return true;
        }
        cur = s.source();
    }
    false
}

fn is_rustls(e: &(dyn StdError + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
        Some(inner) => is_rustls(inner),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn bodies_by_content_type() {
        let json = HeaderValue::from_static("application/json; charset=utf-8");
        assert_eq!(body_value(br#"{"a":1}"#, false, Some(&json)).0["a"], 1);
        assert_eq!(body_value(br#"{"a":"#, true, Some(&json)).0, Value::String("{\"a\":".into()));
        assert_eq!(body_value(b"plain", false, None).0, Value::String("plain".into()));
        assert_eq!(body_value(&[0xff, 0xfe], false, None), (Value::String("//4=".into()), Some("base64")));
        let cut = "é".as_bytes();
        assert_eq!(body_value(&cut[..1], true, None).0, Value::String(String::new()));
    }

    #[test]
    fn statuses_map_to_kinds() {
        let answer = |code: u16, body: &str| Answer {
            status: StatusCode::from_u16(code).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        };
        let secrets = Redactor::new(&[toolkit_core::SecretString::new("s3cret-token")]);
        let none = Redactor::new(&[]);
        let e = answer(404, "no such item s3cret-token").status_error(&secrets);
        assert_eq!((e.kind(), e.message()), (ErrorKind::Upstream, "upstream answered 404 Not Found"));
        assert!(!e.to_string().contains("s3cret-token"));
        assert_eq!(answer(401, "").status_error(&none).kind(), ErrorKind::Auth);
        let e = answer(429, "").status_error(&none);
        assert!(e.kind() == ErrorKind::Denied && e.is_retryable());
        assert!(answer(500, "").status_error(&none).is_retryable());
        assert!(!answer(501, "").status_error(&none).is_retryable());
    }
}
