//! Connections of one tool: the shared AMQP connection made on first use, dedicated ones for
//! sessions, the transport (TCP or rustls) they run on, and the mapping of driver errors to
//! [`ErrorKind`]s.
//!
//! The password never goes into a URI: the driver gets an address without it and a SASL PLAIN
//! provider that holds it as a [`SecretString`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lapin::auth::AuthProvider;
use lapin::types::{LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{AsyncTcpStream, Channel, ConnectionProperties};
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{GUEST, RabbitConfig};
use crate::tls;

/// The lazily connected handle of one tool.
pub(crate) struct Connection {
    pub(crate) config: RabbitConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    shared: Mutex<Option<Arc<lapin::Connection>>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("url", &self.config.public_url()).finish_non_exhaustive()
    }
}

/// Where an error happened: while connecting, `ACCESS_REFUSED` means the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Connect,
    Operate,
}

impl Connection {
    pub(crate) fn new(config: RabbitConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, shared: Mutex::new(None) }
    }

    /// The password, resolved now.
    pub(crate) async fn password(&self) -> Result<SecretString> {
        match &self.config.password_ref {
            Some(sel) => self.secrets.resolve(&self.namespace, sel).await,
            None => Ok(SecretString::new(GUEST)),
        }
    }

    /// A channel on the shared connection, which is made (again) when missing or closed.
    pub(crate) async fn channel(&self) -> Result<Channel> {
        let conn = {
            let mut slot = self.shared.lock().await;
            match slot.as_ref() {
                Some(c) if c.status().connected() => c.clone(),
                _ => {
                    slot.take();
                    let conn = Arc::new(self.dedicated(&self.password().await?).await?);
                    *slot = Some(conn.clone());
                    conn
                }
            }
        };
        conn.create_channel().await.map_err(|e| self.error(e, "open a channel", Phase::Operate))
    }

    /// A connection of its own (sessions, probes), authenticated with `password`.
    pub(crate) async fn dedicated(&self, password: &SecretString) -> Result<lapin::Connection> {
        let c = &self.config;
        let connector = if c.tls { Some(tls::connector(c).await?) } else { None };
        let runtime =
            lapin::runtime::default_runtime().map_err(|e| Error::internal("start the amqp runtime").with_source(e))?;
        let props = ConnectionProperties::default()
            .with_connection_name("toolkit".into())
            .with_auth_provider(PlainAuth { username: c.username.clone(), password: password.clone() });
        let host = c.host.clone();
        let port = c.port;
        let transport = async move |_uri: AMQPUri, runtime| {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port)).await?.collect();
            let stream = AsyncTcpStream::connect(&runtime, addrs).await?;
            match &connector {
                Some(tls) => Ok(stream.into_rustls(tls, &host).await?),
                None => Ok(stream),
            }
        };
        let connecting = lapin::Connection::connector(self.uri(), runtime, transport, props);
        match tokio::time::timeout(c.connect_timeout, connecting).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.error(e, "connect to rabbitmq", Phase::Connect)),
            Err(_) => Err(self.timeout("connect to rabbitmq", c.connect_timeout)),
        }
    }

    /// Reads the server's `Connection.Start` on a connection of its own and closes it before
    /// authenticating: the product, version and cluster name the server announces.
    pub(crate) async fn server_properties(&self) -> Result<lapin::types::FieldTable> {
        let c = &self.config;
        let reading = crate::hello::read_start(c);
        match tokio::time::timeout(c.connect_timeout, reading).await {
            Ok(Ok(props)) => Ok(props),
            Ok(Err(e)) => {
                Err(classify_io(&e, "connect to rabbitmq").with_source(e).with_context("server", c.public_url()))
            }
            Err(_) => Err(self.timeout("connect to rabbitmq", c.connect_timeout)),
        }
    }

    /// Drops the shared connection (after an auth failure, so a rotated password is read
    /// again).
    pub(crate) async fn reset(&self) {
        if let Some(conn) = self.shared.lock().await.take() {
            let _ = conn.close(200, "bye".into()).await;
        }
    }

    fn uri(&self) -> AMQPUri {
        let c = &self.config;
        AMQPUri {
            scheme: if c.tls { AMQPScheme::AMQPS } else { AMQPScheme::AMQP },
            authority: AMQPAuthority {
                // The password travels only through the auth provider.
                userinfo: AMQPUserInfo { username: c.username.clone(), password: String::new() },
                host: c.host.clone(),
                port: c.port,
            },
            vhost: c.vhost.clone(),
            query: AMQPQueryString {
                connection_timeout: Some(u64::try_from(c.connect_timeout.as_millis()).unwrap_or(u64::MAX)),
                ..AMQPQueryString::default()
            },
        }
    }

    /// A driver error with the server (no password) as context.
    pub(crate) fn error(&self, e: lapin::Error, action: &str, phase: Phase) -> Error {
        classify(e, action, phase)
            .with_context("server", self.config.public_url())
            .with_context("user", &self.config.username)
    }

    pub(crate) fn timeout(&self, action: &str, after: Duration) -> Error {
        Error::new(ErrorKind::Timeout, action.to_owned())
            .with_context("server", self.config.public_url())
            .with_context("timeout", format!("{after:?}"))
    }
}

/// SASL PLAIN with the password held as a secret.
struct PlainAuth {
    username: String,
    password: SecretString,
}

impl AuthProvider for PlainAuth {
    fn mechanism(&self) -> ShortString {
        "PLAIN".into()
    }

    fn auth_starter(&self) -> std::result::Result<LongString, String> {
        let mut response = Vec::with_capacity(self.username.len() + self.password.expose().len() + 2);
        response.push(0);
        response.extend_from_slice(self.username.as_bytes());
        response.push(0);
        response.extend_from_slice(self.password.expose().as_bytes());
        Ok(LongString::from(response))
    }
}

/// Maps an I/O failure (refused, reset, TLS) to its kind.
pub(crate) fn classify_io(e: &std::io::Error, action: &str) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::TimedOut { ErrorKind::Timeout } else { ErrorKind::Unreachable };
    Error::new(kind, action.to_owned())
}

/// Maps a driver error to the toolkit's kinds. `action` reads well after "failed to".
pub(crate) fn classify(e: lapin::Error, action: &str, phase: Phase) -> Error {
    use lapin::ErrorKind as K;
    let kind = match e.kind() {
        K::IOError(io) | K::RuntimeShutdownError(io) => classify_io(io, action).kind(),
        K::ProtocolError(amqp) => match (amqp.get_id(), phase) {
            // ACCESS_REFUSED while connecting is a refused login; later, a missing permission.
            (403, Phase::Connect) => ErrorKind::Auth,
            (403, Phase::Operate) | (530, _) => ErrorKind::Denied,
            // NOT_FOUND, PRECONDITION_FAILED, CONTENT_TOO_LARGE, NO_ROUTE, COMMAND_INVALID.
            (404 | 406 | 311 | 312 | 503, _) => ErrorKind::InvalidInput,
            (320, _) => ErrorKind::Unreachable,
            _ => ErrorKind::Upstream,
        },
        K::InvalidConnectionState(_) | K::MissingHeartbeatError | K::ParsingError(_) => ErrorKind::Unreachable,
        K::InvalidProtocolVersion(_) => ErrorKind::Upstream,
        K::AuthProviderError(_) => ErrorKind::Config,
        _ => ErrorKind::Upstream,
    };
    let mut err = Error::new(kind, action.to_owned());
    if let K::ProtocolError(amqp) = e.kind() {
        // The server's reply text, e.g. "NOT_FOUND - no queue 'x' in vhost '/'".
        err = err.with_context("reply", amqp.get_message());
    }
    err.with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::protocol::{AMQPError, AMQPErrorKind, AMQPHardError, AMQPSoftError};

    fn amqp(kind: AMQPErrorKind) -> lapin::Error {
        lapin::ErrorKind::ProtocolError(AMQPError::new(kind, "text".into())).into()
    }

    #[test]
    fn access_refused_is_auth_only_while_connecting() {
        let refused = || amqp(AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED));
        assert_eq!(classify(refused(), "x", Phase::Connect).kind(), ErrorKind::Auth);
        assert_eq!(classify(refused(), "x", Phase::Operate).kind(), ErrorKind::Denied);
        let not_found = amqp(AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND));
        assert_eq!(classify(not_found, "x", Phase::Operate).kind(), ErrorKind::InvalidInput);
        let vhost = amqp(AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED));
        assert_eq!(classify(vhost, "x", Phase::Connect).kind(), ErrorKind::Denied);
        let io: lapin::Error = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert_eq!(classify(io, "x", Phase::Connect).kind(), ErrorKind::Unreachable);
    }

    #[test]
    fn plain_response_carries_user_and_password() {
        let auth = PlainAuth { username: "app".into(), password: SecretString::new("pw") };
        assert_eq!(auth.auth_starter().unwrap().as_bytes(), b"\0app\0pw");
    }
}
