//! The Snowflake SQL API v2: submit a statement, poll it while it runs, fetch the partitions of
//! its result, cancel it when the call's time is up, and classify what goes wrong.
//!
//! Every request carries a deadline: the call's timeout for calls, `connectTimeout` for the
//! probe. A statement that is still running when the deadline passes is cancelled.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use toolkit_core::secret::SecretResolver;
use toolkit_core::{Error, ErrorKind, Result};

use crate::auth::Credential;
use crate::config::SnowflakeConfig;

const TOKEN_TYPE: HeaderName = HeaderName::from_static("x-snowflake-authorization-token-type");

/// Longest pause between two polls of a running statement.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// One column of `resultSetMetaData.rowType`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) type_: String,
    #[serde(default)]
    pub(crate) scale: Option<i64>,
}

/// One entry of `resultSetMetaData.partitionInfo`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Partition {
    #[serde(default)]
    pub(crate) row_count: u64,
}

/// `resultSetMetaData`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    #[serde(default)]
    pub(crate) num_rows: u64,
    #[serde(default)]
    pub(crate) row_type: Vec<Column>,
    #[serde(default)]
    pub(crate) partition_info: Vec<Partition>,
}

/// A response body of the statements endpoint (a result, a pending statement, or an error).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body {
    #[serde(default)]
    pub(crate) result_set_meta_data: Option<Metadata>,
    #[serde(default)]
    pub(crate) data: Vec<Vec<Option<String>>>,
    #[serde(default)]
    pub(crate) statement_handle: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) sql_state: Option<String>,
}

/// What one response says.
#[derive(Debug)]
pub(crate) enum Step {
    /// The statement finished; the body holds the first partition.
    Done(Body),
    /// The statement is still running.
    Running(String),
}

/// The client of one tool: the HTTP client and the credential, both made on first use.
pub(crate) struct Api {
    pub(crate) config: SnowflakeConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    client: OnceCell<reqwest::Client>,
    credential: OnceCell<Credential>,
}

impl Api {
    pub(crate) fn new(config: SnowflakeConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, client: OnceCell::new(), credential: OnceCell::new() }
    }

    async fn client(&self) -> Result<&reqwest::Client> {
        self.client
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .connect_timeout(self.config.connect_timeout)
                    .user_agent(concat!("toolkit/", env!("CARGO_PKG_VERSION")))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| Error::internal("set up the snowflake http client").with_source(e))
            })
            .await
    }

    /// The credential, resolved on first use.
    pub(crate) async fn credential(&self) -> Result<&Credential> {
        self.credential
            .get_or_try_init(|| async {
                let secret = self.secrets.resolve(&self.namespace, &self.config.credentials_ref).await?;
                Credential::from_secret(secret, &self.config.account, &self.config.username)
            })
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/statements{path}", self.config.base_url.as_str().trim_end_matches('/'))
    }

    /// An error of `kind` about `action`, naming the endpoint and the user.
    pub(crate) fn error(&self, kind: ErrorKind, action: &str) -> Error {
        Error::new(kind, action.to_owned())
            .with_context("endpoint", self.config.endpoint())
            .with_context("user", &self.config.username)
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        deadline: Instant,
        action: &str,
    ) -> Result<(StatusCode, Vec<u8>)> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.error(ErrorKind::Timeout, action).with_source("the deadline passed"));
        }
        let (authorization, token_type) = self.credential().await?.authorization()?;
        let mut request = self
            .client()
            .await?
            .request(method, url)
            .timeout(remaining)
            .header(AUTHORIZATION, authorization)
            .header(TOKEN_TYPE, token_type)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let fail = |e: reqwest::Error| {
            let e = e.without_url();
            let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable };
            self.error(kind, action).with_source(e)
        };
        let response = request.send().await.map_err(fail)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(fail)?;
        Ok((status, bytes.to_vec()))
    }

    /// Submits `statement` and waits for it to finish, polling while it runs.
    pub(crate) async fn execute(&self, request: &Value, deadline: Instant, action: &str) -> Result<Body> {
        let url = format!("{}?requestId={}", self.url(""), uuid::Uuid::new_v4());
        let (status, bytes) = self.send(Method::POST, url, Some(request), deadline, action).await?;
        let mut step = self.step(status, &bytes, action)?;
        let mut pause = Duration::from_millis(50);
        loop {
            let handle = match step {
                Step::Done(body) => return Ok(body),
                Step::Running(handle) => handle,
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining <= pause {
                tokio::time::sleep(remaining).await;
                self.cancel(&handle).await;
                return Err(self
                    .error(ErrorKind::Timeout, action)
                    .with_context("statement", &handle)
                    .with_source("the statement was still running when the call's time was up; it was cancelled"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL_INTERVAL);
            let polled = self.send(Method::GET, self.url(&format!("/{handle}")), None, deadline, action).await;
            let (status, bytes) = match polled {
                Ok(answer) => answer,
                Err(e) => {
                    if e.kind() == ErrorKind::Timeout {
                        self.cancel(&handle).await;
                    }
                    return Err(e.with_context("statement", &handle));
                }
            };
            step = self.step(status, &bytes, action)?;
        }
    }

    /// The rows of partition `n` (1 and up) of a finished statement.
    pub(crate) async fn partition(
        &self,
        handle: &str,
        n: usize,
        deadline: Instant,
        action: &str,
    ) -> Result<Vec<Vec<Option<String>>>> {
        let url = self.url(&format!("/{handle}?partition={n}"));
        let (status, bytes) = self.send(Method::GET, url, None, deadline, action).await?;
        match self.step(status, &bytes, action)? {
            Step::Done(body) => Ok(body.data),
            Step::Running(_) => Err(self.error(ErrorKind::Upstream, action).with_source("a partition was not ready")),
        }
    }

    /// Asks the server to stop a statement; best effort, bounded by `connectTimeout`.
    async fn cancel(&self, handle: &str) {
        let deadline = Instant::now() + self.config.connect_timeout;
        let url = self.url(&format!("/{handle}/cancel"));
        let _ = self.send(Method::POST, url, None, deadline, "cancel the snowflake statement").await;
    }

    /// Reads one response.
    pub(crate) fn step(&self, status: StatusCode, bytes: &[u8], action: &str) -> Result<Step> {
        let body: Option<Body> = serde_json::from_slice(bytes).ok();
        match (status, body) {
            (StatusCode::OK, Some(body)) => Ok(Step::Done(body)),
            (StatusCode::ACCEPTED, Some(Body { statement_handle: Some(handle), .. })) => {
                if handle.is_empty() || !handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    return Err(self
                        .error(ErrorKind::Upstream, action)
                        .with_source("the server answered with a malformed statement handle"));
                }
                Ok(Step::Running(handle))
            }
            (status, body) => Err(self.classify(status, body.unwrap_or_default(), action)),
        }
    }

    /// The error for a response that is neither a result nor a running statement.
    fn classify(&self, status: StatusCode, body: Body, action: &str) -> Error {
        let code = body.code.unwrap_or_default();
        let state = body.sql_state.unwrap_or_default();
        let kind = error_kind(status, &code, &state);
        let mut detail = format!("http {}", status.as_u16());
        if !code.is_empty() {
            detail.push_str(&format!(", snowflake error {code}"));
        }
        if !state.is_empty() {
            detail.push_str(&format!(", sqlstate {state}"));
        }
        if let Some(message) = body.message.filter(|m| !m.trim().is_empty()) {
            let message = toolkit_core::error::one_line(&message);
            let short: String = message.chars().take(400).collect();
            detail.push_str(&format!(": {short}"));
        }
        let retryable = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        ) || kind == ErrorKind::Timeout;
        let mut err = self.error(kind, action).with_source(detail).set_retryable(retryable);
        if let Some(handle) = body.statement_handle {
            err = err.with_context("statement", handle);
        }
        err
    }
}

/// The kind of an error answer, from the HTTP status, the Snowflake error code and the SQLSTATE.
pub(crate) fn error_kind(status: StatusCode, code: &str, sql_state: &str) -> ErrorKind {
    // 390xxx are login and token errors (390144 invalid JWT, 390303 invalid OAuth token,
    // 390318 expired OAuth token, 390100 wrong user or password).
    if status == StatusCode::UNAUTHORIZED || code.starts_with("390") {
        return ErrorKind::Auth;
    }
    if status == StatusCode::FORBIDDEN || code == "003001" || sql_state == "42501" {
        return ErrorKind::Denied;
    }
    // 000604: cancelled; 000630: stopped by the statement timeout.
    if status == StatusCode::REQUEST_TIMEOUT || code == "000630" || code == "000604" {
        return ErrorKind::Timeout;
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return ErrorKind::Upstream;
    }
    // SQLSTATE class 42 is syntax or access rule (unknown object, compilation error), 22 data,
    // 07 dynamic SQL (wrong bindings).
    if sql_state.starts_with("42") || sql_state.starts_with("22") || sql_state.starts_with("07") {
        return ErrorKind::InvalidInput;
    }
    if status == StatusCode::BAD_REQUEST {
        return ErrorKind::InvalidInput;
    }
    ErrorKind::Upstream
}

/// The request body of one statement.
pub(crate) fn statement_request(
    config: &SnowflakeConfig,
    sql: &str,
    bindings: Option<Map<String, Value>>,
    timeout: Duration,
) -> Value {
    let mut body = Map::new();
    body.insert("statement".into(), Value::from(sql));
    // The server stops the statement too; whole seconds, at least one.
    body.insert("timeout".into(), Value::from(timeout.as_secs_f64().ceil().max(1.0) as u64));
    for (key, value) in [
        ("database", &config.database),
        ("schema", &config.schema),
        ("warehouse", &config.warehouse),
        ("role", &config.role),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), Value::from(v.as_str()));
        }
    }
    if let Some(b) = bindings.filter(|b| !b.is_empty()) {
        body.insert("bindings".into(), Value::Object(b));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors() {
        assert_eq!(error_kind(StatusCode::UNAUTHORIZED, "", ""), ErrorKind::Auth);
        assert_eq!(error_kind(StatusCode::UNPROCESSABLE_ENTITY, "390318", ""), ErrorKind::Auth);
        assert_eq!(error_kind(StatusCode::UNPROCESSABLE_ENTITY, "003001", "42501"), ErrorKind::Denied);
        assert_eq!(error_kind(StatusCode::UNPROCESSABLE_ENTITY, "001003", "42000"), ErrorKind::InvalidInput);
        assert_eq!(error_kind(StatusCode::UNPROCESSABLE_ENTITY, "000630", "57014"), ErrorKind::Timeout);
        assert_eq!(error_kind(StatusCode::TOO_MANY_REQUESTS, "", ""), ErrorKind::Upstream);
        assert_eq!(error_kind(StatusCode::SERVICE_UNAVAILABLE, "", ""), ErrorKind::Upstream);
    }
}
