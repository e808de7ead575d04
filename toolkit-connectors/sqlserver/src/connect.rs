//! Connections: one per call, opened with tiberius over tokio (TLS by rustls), at most
//! `maxConnections` at once, and the classification of tiberius errors.

use std::sync::Arc;

use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};
use tokio::time::Instant;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{SqlServerConfig, Tls};

/// A live connection.
pub(crate) type Connection = Client<Compat<TcpStream>>;

/// Opens connections for one tool.
pub(crate) struct Connector {
    pub(crate) config: SqlServerConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    password: OnceCell<SecretString>,
    slots: Semaphore,
}

impl Connector {
    pub(crate) fn new(config: SqlServerConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        let slots = Semaphore::new(config.max_connections as usize);
        Self { config, namespace, secrets, password: OnceCell::new(), slots }
    }

    /// The password, resolved on first use.
    pub(crate) async fn password(&self) -> Result<&SecretString> {
        self.password.get_or_try_init(|| self.secrets.resolve(&self.namespace, &self.config.password_ref)).await
    }

    /// An error of `kind` about `action`, naming host, port and user.
    pub(crate) fn error(&self, kind: ErrorKind, action: &str) -> Error {
        Error::new(kind, action.to_owned())
            .with_context("host", &self.config.host)
            .with_context("port", self.config.port)
            .with_context("user", &self.config.username)
    }

    /// The tiberius settings; `read_only` asks for `ApplicationIntent=ReadOnly`.
    pub(crate) fn tiberius_config(&self, password: &SecretString, read_only: bool) -> Config {
        let c = &self.config;
        let mut config = Config::new();
        config.host(&c.host);
        config.port(c.port);
        if let Some(db) = &c.database {
            config.database(db);
        }
        config.application_name("toolkit");
        config.authentication(AuthMethod::sql_server(&c.username, password.expose()));
        config.readonly(read_only);
        match &c.tls {
            Tls::Disabled => config.encryption(EncryptionLevel::NotSupported),
            Tls::Unverified => {
                config.encryption(EncryptionLevel::Required);
                config.trust_cert();
            }
            Tls::Verified { ca_file } => {
                config.encryption(EncryptionLevel::Required);
                if let Some(path) = ca_file {
                    config.trust_cert_ca(path);
                }
            }
        }
        config
    }

    /// A slot and a logged-in connection, within `connectTimeout` (and `deadline`).
    pub(crate) async fn connect(
        &self,
        read_only: bool,
        deadline: Instant,
        action: &str,
    ) -> Result<(SemaphorePermit<'_>, Connection)> {
        let timeout = self.config.connect_timeout.min(deadline.saturating_duration_since(Instant::now()));
        let timed_out = || {
            self.error(ErrorKind::Timeout, action)
                .with_source(format!("no connection within connectTimeout ({:?})", self.config.connect_timeout))
        };
        let started = Instant::now();
        let permit = tokio::time::timeout(timeout, self.slots.acquire()).await.map_err(|_| {
            self.error(ErrorKind::Timeout, action).with_source("every connection (maxConnections) is in use")
        })?;
        let permit = permit.map_err(|_| Error::internal("the sqlserver connection slots were closed"))?;
        let password = self.password().await?;
        let config = self.tiberius_config(password, read_only);
        let remaining = timeout.saturating_sub(started.elapsed());
        // The driver asserts on some malformed answers (a server without TLS answering the
        // handshake with TDS, for one): in a task of its own such a panic is an error.
        let task = tokio::spawn(open(config));
        let abort = task.abort_handle();
        let joined = tokio::time::timeout(remaining, task).await.map_err(|_| {
            abort.abort();
            timed_out()
        })?;
        let client = match joined {
            Ok(result) => result.map_err(|e| classify(e, self, action))?,
            Err(_) => {
                let tls = !matches!(self.config.tls, Tls::Disabled);
                let action = if tls { format!("{action} (TLS)") } else { action.to_owned() };
                return Err(self
                    .error(ErrorKind::Unreachable, &action)
                    .with_source("the server answered in a way the driver could not read"));
            }
        };
        Ok((permit, client))
    }
}

async fn open(config: Config) -> tiberius::Result<Connection> {
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    match Client::connect(config.clone(), tcp.compat_write()).await {
        // Azure SQL and availability groups may send the client to another server, once.
        Err(tiberius::error::Error::Routing { host, port }) => {
            let mut config = config;
            config.host(&host);
            config.port(port);
            let tcp = TcpStream::connect(config.get_addr()).await?;
            tcp.set_nodelay(true)?;
            Client::connect(config, tcp.compat_write()).await
        }
        other => other,
    }
}

/// The kind of a SQL Server error number (`class` is its severity).
pub fn server_error_kind(code: u32, class: u8) -> ErrorKind {
    match code {
        // Login failed; cannot open the login's database; password expired or must change.
        18456 | 18452 | 18486 | 18487 | 18488 | 4060 => ErrorKind::Auth,
        // Permission denied on object, column, database or server; read-only database.
        229 | 230 | 262 | 297 | 300 | 916 | 3906 | 3908 => ErrorKind::Denied,
        // Syntax errors, unknown names, conversion failures.
        102 | 105 | 156 | 170 | 207 | 208 | 2812 | 8114 | 245 | 137 | 4104 | 8144 => ErrorKind::InvalidInput,
        // Lock request timeout.
        1222 => ErrorKind::Timeout,
        // Deadlock victim.
        1205 => ErrorKind::Upstream,
        _ if (11..=16).contains(&class) => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    }
}

/// Maps a tiberius error; `action` reads well after "failed to".
pub(crate) fn classify(e: tiberius::error::Error, connector: &Connector, action: &str) -> Error {
    use tiberius::error::Error as E;
    match e {
        E::Server(token) => {
            let code = token.code();
            let kind = server_error_kind(code, token.class());
            let message = toolkit_core::error::one_line(token.message());
            connector
                .error(kind, action)
                .with_source(format!("sql server error {code} (class {}): {message}", token.class()))
                // Deadlock victim; the same call may succeed.
                .set_retryable(code == 1205 || kind == ErrorKind::Timeout)
        }
        E::Io { kind: std::io::ErrorKind::TimedOut, message } => {
            connector.error(ErrorKind::Timeout, action).with_source(message)
        }
        E::Io { message, .. } => connector.error(ErrorKind::Unreachable, action).with_source(message),
        E::Tls(message) => connector.error(ErrorKind::Unreachable, &format!("{action} (TLS)")).with_source(message),
        other => connector.error(ErrorKind::Upstream, action).with_source(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_server_error_numbers() {
        assert_eq!(server_error_kind(18456, 14), ErrorKind::Auth);
        assert_eq!(server_error_kind(229, 14), ErrorKind::Denied);
        assert_eq!(server_error_kind(230, 14), ErrorKind::Denied);
        assert_eq!(server_error_kind(102, 15), ErrorKind::InvalidInput);
        assert_eq!(server_error_kind(156, 15), ErrorKind::InvalidInput);
        assert_eq!(server_error_kind(2627, 14), ErrorKind::InvalidInput);
        assert_eq!(server_error_kind(1205, 13), ErrorKind::Upstream);
        assert_eq!(server_error_kind(9002, 17), ErrorKind::Upstream);
    }
}
