//! Connections of one tool: a [`ConnectionManager`] made on first use, dedicated connections
//! for sessions, and the mapping of driver errors to [`ErrorKind`]s.
//!
//! The password is resolved from the secret store each time a client is made and handed to the
//! driver in a [`redis::ConnectionInfo`] struct, never in a URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, ProtocolVersion, RedisConnectionInfo};
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::RedisConfig;

/// The lazily connected handle of one tool.
pub(crate) struct Connection {
    pub(crate) config: RedisConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    /// Made on first use; dropped when the server refuses the credentials, so that the next
    /// call resolves the (perhaps rotated) password again.
    manager: Mutex<Option<ConnectionManager>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("url", &self.config.public_url()).finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(config: RedisConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, manager: Mutex::new(None) }
    }

    /// The password, resolved now.
    pub(crate) async fn password(&self) -> Result<Option<SecretString>> {
        match &self.config.password_ref {
            Some(sel) => Ok(Some(self.secrets.resolve(&self.namespace, sel).await?)),
            None => Ok(None),
        }
    }

    async fn client(&self, password: Option<&SecretString>) -> Result<redis::Client> {
        let c = &self.config;
        let addr = if c.tls {
            ensure_crypto_provider();
            ConnectionAddr::TcpTls { host: c.host.clone(), port: c.port, insecure: false, tls_params: None }
        } else {
            ConnectionAddr::Tcp(c.host.clone(), c.port)
        };
        let info = ConnectionInfo {
            addr,
            redis: RedisConnectionInfo {
                db: c.db,
                username: c.username.clone(),
                password: password.map(|p| p.expose().to_owned()),
                // RESP3 keeps the shape of replies: maps, sets, doubles and booleans.
                protocol: ProtocolVersion::RESP3,
            },
        };
        let built = match &c.ca_file {
            Some(path) => {
                let pem = tokio::fs::read(path)
                    .await
                    .map_err(|e| Error::config(format!("read the CA file {path}")).with_source(e))?;
                redis::Client::build_with_tls(info, redis::TlsCertificates { client_tls: None, root_cert: Some(pem) })
            }
            None => redis::Client::open(info),
        };
        built.map_err(|e| classify(e, "set up the redis client"))
    }

    /// The shared, reconnecting connection; connects on first use.
    pub(crate) async fn manager(&self) -> Result<ConnectionManager> {
        // Held while connecting, so concurrent first calls share one connection attempt.
        let mut slot = self.manager.lock().await;
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let timeout = self.config.connect_timeout;
        let password = self.password().await?;
        let client = self.client(password.as_ref()).await?;
        // No retries inside the manager: a failed connect is reported at once, and the next
        // call (or the manager's own reconnect after an I/O error) tries again.
        let config = ConnectionManagerConfig::new().set_connection_timeout(timeout).set_number_of_retries(0);
        let connecting = ConnectionManager::new_with_config(client, config);
        let manager = match tokio::time::timeout(timeout + Duration::from_secs(1), connecting).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(self.connect_error(e)),
            Err(_) => return Err(self.connect_timeout()),
        };
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Passes `result` through; an auth failure drops the shared connection first.
    pub(crate) async fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth) {
            self.manager.lock().await.take();
        }
        result
    }

    /// A connection of its own (for a session), with the password used to open it.
    pub(crate) async fn dedicated(&self) -> Result<(MultiplexedConnection, Option<SecretString>)> {
        let password = self.password().await?;
        let client = self.client(password.as_ref()).await?;
        let config = AsyncConnectionConfig::new().set_connection_timeout(self.config.connect_timeout);
        let connecting = client.get_multiplexed_async_connection_with_config(&config);
        match tokio::time::timeout(self.config.connect_timeout + Duration::from_secs(1), connecting).await {
            Ok(Ok(conn)) => Ok((conn, password)),
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => Err(self.connect_timeout()),
        }
    }

    fn connect_error(&self, e: redis::RedisError) -> Error {
        classify(e, "connect to redis").with_context("server", self.config.public_url())
    }

    fn connect_timeout(&self) -> Error {
        Error::new(ErrorKind::Timeout, "connect to redis")
            .with_context("server", self.config.public_url())
            .with_context("timeout", format!("{:?}", self.config.connect_timeout))
    }
}

/// Installs ring as the process's rustls provider unless one is installed already.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: some provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Maps a driver error to the toolkit's kinds. `action` reads well after "failed to".
pub(crate) fn classify(e: redis::RedisError, action: &str) -> Error {
    use redis::ErrorKind as K;
    let code = e.code().unwrap_or_default().to_owned();
    let detail = e.detail().unwrap_or_default().to_ascii_lowercase();
    let kind = if e.kind() == K::AuthenticationFailed || matches!(code.as_str(), "WRONGPASS" | "NOAUTH") {
        ErrorKind::Auth
    } else if code == "NOPERM" {
        ErrorKind::Denied
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_io_error() {
        ErrorKind::Unreachable
    } else if e.kind() == K::InvalidClientConfig {
        ErrorKind::Config
    } else if code == "WRONGTYPE"
        || (code == "ERR"
            && ["unknown command", "unknown subcommand", "wrong number of arguments", "syntax error"]
                .iter()
                .any(|p| detail.starts_with(p)))
    {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Upstream
    };
    let mut err = Error::new(kind, action.to_owned()).with_source(e);
    if kind == ErrorKind::Upstream && matches!(code.as_str(), "LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN") {
        err = err.set_retryable(true);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_server_errors() {
        let ext = |code: &str| redis::make_extension_error(code.to_owned(), Some("detail".into()));
        assert_eq!(classify(ext("WRONGPASS"), "x").kind(), ErrorKind::Auth);
        assert_eq!(classify(ext("NOPERM"), "x").kind(), ErrorKind::Denied);
        assert_eq!(classify(ext("OTHER"), "x").kind(), ErrorKind::Upstream);
        let unknown =
            redis::RedisError::from((redis::ErrorKind::ResponseError, "server", "unknown command 'nope'".to_owned()));
        assert_eq!(classify(unknown, "x").kind(), ErrorKind::InvalidInput);
        let io = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(io, "x").kind(), ErrorKind::Unreachable);
    }
}
