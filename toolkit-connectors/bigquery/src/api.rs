//! The BigQuery REST API v2: the token exchange, dry runs (`jobs.insert` with `dryRun`),
//! `jobs.query`, `jobs.getQueryResults` (long polls and pages), cancelling, and the
//! classification of Google's error bodies.
//!
//! Every request carries a deadline: the call's timeout for calls, `connectTimeout` for the
//! probe. A job still running when the deadline passes is cancelled.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};
use url::Url;

use crate::auth::ServiceAccount;
use crate::config::BigQueryConfig;

/// A token is renewed when it has less than this left.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Longest server-side wait of one `getQueryResults` long poll.
const MAX_LONG_POLL: Duration = Duration::from_secs(10);

/// One field of a result's schema.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub(crate) struct Field {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) type_: String,
    #[serde(default)]
    pub(crate) mode: Option<String>,
    #[serde(default)]
    pub(crate) fields: Vec<Field>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub(crate) struct Schema {
    #[serde(default)]
    pub(crate) fields: Vec<Field>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobReference {
    pub(crate) job_id: String,
    #[serde(default)]
    pub(crate) location: Option<String>,
}

/// The body of `jobs.query` and `jobs.getQueryResults`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryResponse {
    #[serde(default)]
    pub(crate) schema: Option<Schema>,
    #[serde(default)]
    pub(crate) job_reference: Option<JobReference>,
    #[serde(default)]
    pub(crate) total_rows: Option<String>,
    #[serde(default)]
    pub(crate) page_token: Option<String>,
    #[serde(default)]
    pub(crate) rows: Vec<Value>,
    #[serde(default)]
    pub(crate) job_complete: Option<bool>,
    #[serde(default)]
    pub(crate) num_dml_affected_rows: Option<String>,
    #[serde(default)]
    pub(crate) total_bytes_processed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DryRunJob {
    #[serde(default)]
    statistics: Option<JobStatistics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobStatistics {
    #[serde(default)]
    query: Option<QueryStatistics>,
    #[serde(default)]
    total_bytes_processed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryStatistics {
    #[serde(default)]
    statement_type: Option<String>,
}

/// What a dry run says about a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DryRun {
    /// `SELECT`, `INSERT`, `CREATE_TABLE`, `SCRIPT`...
    pub(crate) statement_type: String,
    /// Bytes the statement would read.
    pub(crate) total_bytes_processed: Option<String>,
}

/// The client of one tool: the HTTP client, the key and the cached access token.
pub(crate) struct Api {
    pub(crate) config: BigQueryConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    client: OnceCell<reqwest::Client>,
    account: OnceCell<ServiceAccount>,
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl Api {
    pub(crate) fn new(config: BigQueryConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, client: OnceCell::new(), account: OnceCell::new(), token: Mutex::new(None) }
    }

    async fn client(&self) -> Result<&reqwest::Client> {
        self.client
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .connect_timeout(self.config.connect_timeout)
                    .user_agent(concat!("toolkit/", env!("CARGO_PKG_VERSION")))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| Error::internal("set up the bigquery http client").with_source(e))
            })
            .await
    }

    /// The service account, read from its Secret on first use.
    pub(crate) async fn account(&self) -> Result<&ServiceAccount> {
        self.account
            .get_or_try_init(|| async {
                let secret = self.secrets.resolve(&self.namespace, &self.config.credentials_ref).await?;
                ServiceAccount::from_secret(secret)
            })
            .await
    }

    /// An error of `kind` about `action`, naming the endpoint and the project.
    pub(crate) fn error(&self, kind: ErrorKind, action: &str) -> Error {
        Error::new(kind, action.to_owned())
            .with_context("endpoint", self.config.endpoint())
            .with_context("project", &self.config.project)
    }

    fn transport(&self, e: reqwest::Error, action: &str) -> Error {
        let e = e.without_url();
        let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable };
        self.error(kind, action).with_source(e)
    }

    fn remaining(&self, deadline: Instant, action: &str) -> Result<Duration> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.error(ErrorKind::Timeout, action).with_source("the deadline passed"));
        }
        Ok(remaining)
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn access_token(&self, deadline: Instant, action: &str) -> Result<SecretString> {
        let mut cached = self.token.lock().await;
        if let Some((token, expiry)) = cached.as_ref()
            && *expiry > Instant::now() + TOKEN_MARGIN
        {
            return Ok(token.clone());
        }
        let account = self.account().await?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &account.assertion()?)
            .finish();
        let endpoint = Url::parse(&account.token_uri)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(443))))
            .unwrap_or_default();
        let fail = |kind, e: Option<reqwest::Error>| {
            let err = Error::new(kind, format!("{action}: exchange the service-account key for a token"))
                .with_context("token endpoint", &endpoint)
                .with_context("account", &account.email);
            match e {
                Some(e) => err.with_source(e.without_url()),
                None => err,
            }
        };
        let response = self
            .client()
            .await?
            .post(&account.token_uri)
            .timeout(self.remaining(deadline, action)?)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| fail(if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable }, Some(e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| fail(if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable }, Some(e)))?;
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: Option<String>,
            expires_in: Option<u64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let answer: Option<TokenAnswer> = serde_json::from_slice(&bytes).ok();
        match (status.is_success(), answer) {
            (true, Some(TokenAnswer { access_token: Some(token), expires_in, .. })) => {
                let token = SecretString::new(token);
                let expiry = Instant::now() + Duration::from_secs(expires_in.unwrap_or(3600));
                *cached = Some((token.clone(), expiry));
                Ok(token)
            }
            (_, answer) => {
                let kind = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    ErrorKind::Upstream
                } else {
                    ErrorKind::Auth
                };
                let mut detail = format!("http {}", status.as_u16());
                if let Some(a) = answer {
                    for part in [a.error, a.error_description].into_iter().flatten() {
                        detail.push_str(": ");
                        detail.push_str(&toolkit_core::error::one_line(&part));
                    }
                }
                Err(fail(kind, None).with_source(detail))
            }
        }
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let base = self.config.base_url.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/bigquery/v2/projects/{}{path}", self.config.project))
            .map_err(|e| Error::internal("build a bigquery url").with_source(e))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Instant,
        action: &str,
    ) -> Result<Vec<u8>> {
        let token = self.access_token(deadline, action).await?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| self.error(ErrorKind::Auth, action).with_source("the access token is not a valid header"))?;
        authorization.set_sensitive(true);
        let mut request = self
            .client()
            .await?
            .request(method, url)
            .timeout(self.remaining(deadline, action)?)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let response = request.send().await.map_err(|e| self.transport(e, action))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.transport(e, action))?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            if status == StatusCode::UNAUTHORIZED {
                // The token may have been revoked: the next request gets a new one.
                *self.token.lock().await = None;
            }
            Err(self.classify(status, &bytes, action))
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, bytes: &[u8], action: &str) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| {
            self.error(ErrorKind::Upstream, action)
                .with_source(format!("the answer is not what the API documents: {e}"))
        })
    }

    /// Dry-runs `sql` (`jobs.insert` with `dryRun`): BigQuery parses and plans it, and says
    /// what kind of statement it is.
    pub(crate) async fn dry_run(
        &self,
        sql: &str,
        params: Option<&[Value]>,
        deadline: Instant,
        action: &str,
    ) -> Result<DryRun> {
        let mut body = json!({"configuration": {"dryRun": true, "query": {"query": sql, "useLegacySql": false}}});
        if let Some(p) = params {
            body["configuration"]["query"]["parameterMode"] = json!("POSITIONAL");
            body["configuration"]["query"]["queryParameters"] = Value::from(p.to_vec());
        }
        let bytes = self.send(Method::POST, self.url("/jobs", &[])?, Some(&body), deadline, action).await?;
        let job: DryRunJob = self.parse(&bytes, action)?;
        let stats = job.statistics.unwrap_or_default();
        let statement_type = stats.query.and_then(|q| q.statement_type).ok_or_else(|| {
            self.error(ErrorKind::Upstream, action).with_source("the dry run did not report a statement type")
        })?;
        Ok(DryRun { statement_type, total_bytes_processed: stats.total_bytes_processed })
    }

    /// Runs `request` (a `jobs.query` body) and waits, with long polls, until the job is done.
    pub(crate) async fn query(
        &self,
        request: &Value,
        page_size: usize,
        deadline: Instant,
        action: &str,
    ) -> Result<QueryResponse> {
        let bytes = self.send(Method::POST, self.url("/queries", &[])?, Some(request), deadline, action).await?;
        let mut response: QueryResponse = self.parse(&bytes, action)?;
        while response.job_complete == Some(false) {
            let job = response.job_reference.clone().ok_or_else(|| {
                self.error(ErrorKind::Upstream, action).with_source("an unfinished job came without a job reference")
            })?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_millis(200) {
                self.cancel(&job).await;
                return Err(self
                    .error(ErrorKind::Timeout, action)
                    .with_context("job", &job.job_id)
                    .with_source("the job was still running when the call's time was up; it was cancelled"));
            }
            let wait = (remaining - Duration::from_millis(100)).min(MAX_LONG_POLL);
            match self.results(&job, None, page_size, wait, deadline, action).await {
                Ok(next) => response = next,
                Err(e) => {
                    if e.kind() == ErrorKind::Timeout {
                        self.cancel(&job).await;
                    }
                    return Err(e.with_context("job", &job.job_id));
                }
            }
        }
        Ok(response)
    }

    /// `jobs.getQueryResults`: a page of a finished job, or a long poll of a running one.
    pub(crate) async fn results(
        &self,
        job: &JobReference,
        page_token: Option<&str>,
        page_size: usize,
        wait: Duration,
        deadline: Instant,
        action: &str,
    ) -> Result<QueryResponse> {
        let job_id = checked_id(&job.job_id).ok_or_else(|| {
            self.error(ErrorKind::Upstream, action).with_source("the server answered with a malformed job id")
        })?;
        let mut query = vec![
            ("maxResults", page_size.to_string()),
            ("timeoutMs", wait.as_millis().to_string()),
            ("formatOptions.useInt64Timestamp", "true".to_owned()),
        ];
        if let Some(location) = &job.location {
            query.push(("location", location.clone()));
        }
        if let Some(token) = page_token {
            query.push(("pageToken", token.to_owned()));
        }
        let url = self.url(&format!("/queries/{job_id}"), &query)?;
        let bytes = self.send(Method::GET, url, None, deadline, action).await?;
        self.parse(&bytes, action)
    }

    /// Asks BigQuery to stop a job; best effort, bounded by `connectTimeout`.
    async fn cancel(&self, job: &JobReference) {
        let Some(job_id) = checked_id(&job.job_id) else { return };
        let query: Vec<(&str, String)> = job.location.iter().map(|l| ("location", l.clone())).collect();
        let Ok(url) = self.url(&format!("/jobs/{job_id}/cancel"), &query) else { return };
        let deadline = Instant::now() + self.config.connect_timeout;
        let _ = self.send(Method::POST, url, None, deadline, "cancel the bigquery job").await;
    }

    /// The error for a non-2xx answer of the BigQuery API.
    fn classify(&self, status: StatusCode, bytes: &[u8], action: &str) -> Error {
        #[derive(Deserialize, Default)]
        struct Envelope {
            #[serde(default)]
            error: GoogleError,
        }
        #[derive(Deserialize, Default)]
        struct GoogleError {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            errors: Vec<Reason>,
        }
        #[derive(Deserialize, Default)]
        struct Reason {
            #[serde(default)]
            reason: Option<String>,
        }
        let body: Envelope = serde_json::from_slice(bytes).unwrap_or_default();
        let reason = body.error.errors.iter().find_map(|r| r.reason.clone()).unwrap_or_default();
        let kind = error_kind(status, &reason);
        let mut detail = format!("http {}", status.as_u16());
        if !reason.is_empty() {
            detail.push_str(&format!(", reason {reason}"));
        } else if let Some(s) = &body.error.status {
            detail.push_str(&format!(", {s}"));
        }
        if let Some(message) = body.error.message.filter(|m| !m.trim().is_empty()) {
            let message: String = toolkit_core::error::one_line(&message).chars().take(400).collect();
            detail.push_str(&format!(": {message}"));
        }
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || matches!(reason.as_str(), "rateLimitExceeded" | "backendError" | "internalError");
        self.error(kind, action).with_source(detail).set_retryable(retryable)
    }
}

/// The kind of an error answer, from the HTTP status and the first `errors[].reason`.
pub(crate) fn error_kind(status: StatusCode, reason: &str) -> ErrorKind {
    match (status.as_u16(), reason) {
        (401, _) => ErrorKind::Auth,
        (_, "timeout" | "stopped") | (408, _) => ErrorKind::Timeout,
        (_, "accessDenied" | "rateLimitExceeded" | "quotaExceeded" | "billingNotEnabled") | (403, _) => {
            ErrorKind::Denied
        }
        (429, _) | (500..=599, _) => ErrorKind::Upstream,
        (_, "invalidQuery" | "invalid" | "notFound" | "duplicate") | (400 | 404, _) => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    }
}

/// A job id that is safe in a URL path (letters, digits, `_` and `-`, as BigQuery makes them).
fn checked_id(id: &str) -> Option<&str> {
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_google_errors() {
        assert_eq!(error_kind(StatusCode::UNAUTHORIZED, ""), ErrorKind::Auth);
        assert_eq!(error_kind(StatusCode::FORBIDDEN, "accessDenied"), ErrorKind::Denied);
        assert_eq!(error_kind(StatusCode::BAD_REQUEST, "invalidQuery"), ErrorKind::InvalidInput);
        assert_eq!(error_kind(StatusCode::NOT_FOUND, "notFound"), ErrorKind::InvalidInput);
        assert_eq!(error_kind(StatusCode::BAD_REQUEST, "timeout"), ErrorKind::Timeout);
        assert_eq!(error_kind(StatusCode::SERVICE_UNAVAILABLE, "backendError"), ErrorKind::Upstream);
        assert_eq!(checked_id("job_a-1"), Some("job_a-1"));
        assert_eq!(checked_id("../x"), None);
    }
}
