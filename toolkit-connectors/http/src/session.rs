//! Sessions: the base URL and credential as env, and `METHOD PATH [BODY]` requests relative
//! to the origin.

use async_trait::async_trait;
use reqwest::Method;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, ErrorKind, Result};
use url::Url;

use crate::HttpTool;
use crate::request::{Body, Seen, Target};

/// A session against the tool's origin. Requests go through the tool's pooled client, with
/// credentials resolved per request.
struct HttpSession {
    tool: HttpTool,
    origin: Url,
    auth: Option<(String, SecretString)>,
}

/// Opens a session; the credential is resolved now for the env.
pub(crate) async fn open(tool: &HttpTool) -> Result<Box<dyn Session>> {
    let origin = tool
        .cfg
        .origin
        .clone()
        .ok_or_else(|| Error::unsupported("open a session: a URL placeholder decides the host"))?;
    let mut seen = Seen::new();
    let auth = tool.auth_header(&mut seen).await?.map(|(name, value)| (name.as_str().to_owned(), value));
    Ok(Box::new(HttpSession { tool: tool.clone(), origin, auth }))
}

#[async_trait]
impl Session for HttpSession {
    fn env(&self) -> Vec<EnvEntry> {
        let base = self.origin.as_str().trim_end_matches('/').to_owned();
        let mut env = vec![EnvEntry::plain("HTTP_BASE_URL", base)];
        if let Some((name, value)) = &self.auth {
            env.push(EnvEntry::plain("HTTP_AUTH_HEADER", name.clone()));
            env.push(EnvEntry::secret("HTTP_AUTHORIZATION", value.clone()));
        }
        env
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        // `["GET", "/x"]`, `["POST", "/x", "{...}"]`, or the same as one line.
        let words: Vec<String> = match command {
            [line] => line.splitn(3, char::is_whitespace).map(str::to_owned).collect(),
            _ => command.to_vec(),
        };
        let (method, path, body) = match words.as_slice() {
            [m, p] => (m, p, None),
            [m, p, b] => (m, p, Some(b.clone())),
            _ => return Err(Error::invalid_input("run a request: write `METHOD PATH [BODY]`, e.g. `GET /v1/items`")),
        };
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::invalid_input(format!("run a request: `{method}` is not an HTTP method")))?;
        if self.tool.read_only && !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Err(Error::new(ErrorKind::Denied, format!("run `{method}`: the tool is read-only")));
        }
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(Error::invalid_input(format!("run a request: `{path}` must be a path starting with one `/`")));
        }
        let url = self
            .origin
            .join(path)
            .map_err(|e| Error::invalid_input(format!("run a request: `{path}` does not make a URL")).with_source(e))?;
        if url.origin() != self.origin.origin() {
            return Err(Error::invalid_input(format!("run a request: `{path}` leaves the tool's origin")));
        }
        let body = body.map(|b| Body {
            content_type: if serde_json::from_str::<serde_json::Value>(&b).is_ok() {
                "application/json"
            } else {
                "text/plain"
            },
            bytes: b.into_bytes(),
        });
        let mut seen = Seen::new();
        self.tool.call(Target { method, url, body }, limits, &mut seen).await
    }
}
