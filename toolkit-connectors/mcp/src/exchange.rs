//! Servers reached with the caller's identity: the caller's access token is exchanged (RFC 8693)
//! at the tool's token endpoint, and each caller gets a connection of its own that sends the
//! exchanged token, kept until 30 seconds before that token expires. The caller's token goes to
//! the token endpoint only, never to the server.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use toolkit_core::secret::{SecretString, redact_text};
use toolkit_core::token::{IssuedToken, RESPONSE_CAP, SubjectCache, TokenExchange};
use toolkit_core::{Error, ErrorKind, Result};

use crate::client::{McpClient, client_with};

/// Callers with a connection kept at most, per tool.
const MAX_CALLERS: usize = 256;

/// Time a token endpoint gets to answer.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

/// One tool's exchange and the connections of its callers.
pub(crate) struct Exchanger {
    exchange: TokenExchange,
    callers: SubjectCache<Arc<McpClient>>,
    http: reqwest::Client,
}

impl Exchanger {
    pub(crate) fn new(exchange: TokenExchange) -> Result<Self> {
        Ok(Self { exchange, callers: SubjectCache::new(MAX_CALLERS), http: client_with(HeaderMap::new())? })
    }

    /// Closes every caller's connection.
    pub(crate) async fn close_all(&self) {
        for client in self.callers.drain() {
            client.close().await;
        }
    }

    /// The token endpoint, for messages.
    pub(crate) fn token_url(&self) -> &url::Url {
        &self.exchange.token_url
    }

    /// The connection of the caller whose token is `subject`, made from `shared`'s server after
    /// an exchange when the caller has none or its token is due for renewal.
    pub(crate) async fn client_for(
        &self,
        shared: &McpClient,
        subject: Option<&SecretString>,
    ) -> Result<Arc<McpClient>> {
        let subject = subject.ok_or_else(|| {
            Error::new(ErrorKind::Auth, "exchange the caller's token: the caller presented no OAuth access token")
                .with_context("hint", "call this tool through the gateway with an access token of its --oauth-issuer")
        })?;
        if let Some(client) = self.callers.get(subject) {
            return Ok(client);
        }
        let issued = self.exchange(shared, subject).await?;
        let client = Arc::new(shared.with_bearer(issued.token));
        // Connections that made room close when their last call ends.
        drop(self.callers.insert(subject, client.clone(), issued.renew_at));
        Ok(client)
    }

    async fn exchange(&self, shared: &McpClient, subject: &SecretString) -> Result<IssuedToken> {
        const ACTION: &str = "exchange the caller's token";
        let url = &self.exchange.token_url;
        let mut secrets = vec![subject.clone()];
        let secret = match &self.exchange.client_secret {
            Some(sel) => Some(shared.resolver().secret(sel, &mut secrets).await?),
            None => None,
        };
        let mut request = self
            .http
            .post(url.clone())
            .timeout(TOKEN_TIMEOUT)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(self.exchange.form(subject).expose().to_owned());
        if let Some(secret) = &secret {
            request = request.basic_auth(&self.exchange.client_id, Some(secret.expose()));
        }
        let unreachable = |e: reqwest::Error| {
            let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable };
            Error::new(kind, ACTION).with_context("token_url", url.as_str()).with_source(e.without_url())
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            body.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_CAP - body.len())]);
            if body.len() >= RESPONSE_CAP {
                break;
            }
        }
        if !status.is_success() {
            let kind = if matches!(status.as_u16(), 400 | 401 | 403) { ErrorKind::Auth } else { ErrorKind::Upstream };
            let mut err = Error::new(kind, format!("{ACTION}: the token endpoint answered {status}"))
                .with_context("token_url", url.as_str());
            // The RFC 6749 error code, never the rest of the body.
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
            if let Some(code) = code.filter(|c| c.len() <= 64) {
                err = err.with_context("error", redact_text(&code, &secrets));
            }
            return Err(err);
        }
        IssuedToken::read(&body).ok_or_else(|| {
            Error::new(ErrorKind::Upstream, format!("{ACTION}: the answer has no `access_token`"))
                .with_context("token_url", url.as_str())
        })
    }
}
