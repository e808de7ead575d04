//! The lazily made kube client of one tool, its token, and how kube errors map to error kinds.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::KubeConfig;

/// The client of one tool, made at first use with the token resolved then; dropped after an
/// auth failure so that a rotated token is picked up by the next call.
pub(crate) struct Connection {
    pub(crate) config: KubeConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    client: Mutex<Option<kube::Client>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("apiserver", &self.config.server())
            .field("namespace", &self.config.namespace)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(config: KubeConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, client: Mutex::new(None) }
    }

    /// The bearer token, resolved now.
    pub(crate) async fn token(&self) -> Result<Option<SecretString>> {
        match &self.config.token_ref {
            None => Ok(None),
            Some(sel) => {
                let ns = sel.namespace.as_deref().unwrap_or(&self.namespace);
                self.secrets.resolve(ns, sel).await.map(Some)
            }
        }
    }

    /// The shared client, made on first use.
    pub(crate) async fn client(&self) -> Result<kube::Client> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let token = self.token().await?;
        let config = self.config.client_config(token.as_ref())?;
        install_crypto_provider();
        let client = kube::Client::try_from(config).map_err(|e| {
            Error::new(ErrorKind::Config, format!("make the kubernetes client for {}", self.config.server()))
                .with_source(e)
        })?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Drops the client after an auth failure, so that the next call resolves the token anew.
    pub(crate) async fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth) {
            self.client.lock().await.take();
        }
        result
    }

    /// Sends `request` and reads a JSON answer, within `deadline`.
    pub(crate) async fn json(
        &self,
        request: http::Request<Vec<u8>>,
        deadline: Duration,
        action: &str,
    ) -> Result<Value> {
        let client = self.client().await?;
        let result = match tokio::time::timeout(deadline, client.request::<Value>(request)).await {
            Ok(r) => r.map_err(|e| self.classify(e, action)),
            Err(_) => Err(self.timeout(action, deadline)),
        };
        self.checked(result).await
    }

    /// Sends `request` and reads a text answer, within `deadline`.
    pub(crate) async fn text(
        &self,
        request: http::Request<Vec<u8>>,
        deadline: Duration,
        action: &str,
    ) -> Result<String> {
        let client = self.client().await?;
        let result = match tokio::time::timeout(deadline, client.request_text(request)).await {
            Ok(r) => r.map_err(|e| self.classify(e, action)),
            Err(_) => Err(self.timeout(action, deadline)),
        };
        self.checked(result).await
    }

    pub(crate) fn timeout(&self, action: &str, deadline: Duration) -> Error {
        Error::new(ErrorKind::Timeout, format!("{action} at {}", self.config.server()))
            .with_context("timeout", format!("{deadline:?}"))
    }

    /// Maps a kube error to a kind; the message names the API server, never the token.
    pub(crate) fn classify(&self, e: kube::Error, action: &str) -> Error {
        let at = format!("{action} at {}", self.config.server());
        match e {
            kube::Error::Api(resp) => {
                let kind = match resp.code {
                    401 => ErrorKind::Auth,
                    403 => ErrorKind::Denied,
                    404 | 400 | 422 => ErrorKind::InvalidInput,
                    408 | 504 => ErrorKind::Timeout,
                    _ => ErrorKind::Upstream,
                };
                let reason = if resp.message.is_empty() { resp.reason.clone() } else { resp.message.clone() };
                let reason = toolkit_core::error::one_line(&reason);
                let reason: String = reason.chars().take(300).collect();
                Error::new(kind, format!("{at}: the api server answered {} ({})", resp.code, reason.to_lowercase()))
            }
            kube::Error::Auth(e) => Error::new(ErrorKind::Auth, at).with_source(e),
            kube::Error::SerdeError(e) => {
                Error::new(ErrorKind::Upstream, format!("{at}: the answer is not the JSON expected")).with_source(e)
            }
            kube::Error::BuildRequest(e) => Error::new(ErrorKind::InvalidInput, at).with_source(e),
            other => {
                let kind = if timed_out(&other) { ErrorKind::Timeout } else { ErrorKind::Unreachable };
                Error::new(kind, at).with_source(other)
            }
        }
    }
}

/// Whether an I/O time-out is in the chain.
fn timed_out(e: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        if err.to_string().contains("timed out") || err.to_string().contains("deadline has elapsed") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// kube builds its rustls config with the process default provider; ring is the workspace's.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
