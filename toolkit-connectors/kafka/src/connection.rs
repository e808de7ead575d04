//! The client of one tool: an rskafka [`Client`] made on first use (it reads the cluster
//! metadata and reconnects to brokers by itself), and the mapping of its errors to
//! [`ErrorKind`]s.
//!
//! The SASL password is resolved from its Secret when the client is made and handed to rskafka
//! as a value; it is never formatted into anything. rskafka's own `Debug` of its SASL settings
//! would show it, so no rskafka configuration is ever printed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig};
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{KafkaConfig, SaslMechanism};
use crate::tls;

/// The lazily made client of one tool.
pub(crate) struct Connection {
    pub(crate) config: KafkaConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    shared: Mutex<Option<Arc<Client>>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("brokers", &self.config.brokers).finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(config: KafkaConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, shared: Mutex::new(None) }
    }

    /// The SASL password, resolved now.
    pub(crate) async fn password(&self) -> Result<Option<SecretString>> {
        match &self.config.sasl {
            Some(s) => Ok(Some(self.secrets.resolve(&self.namespace, &s.password_ref).await?)),
            None => Ok(None),
        }
    }

    /// The shared client; made on first use.
    pub(crate) async fn client(&self) -> Result<Arc<Client>> {
        let mut slot = self.shared.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let client = Arc::new(self.dedicated(self.password().await?.as_ref()).await?);
        *slot = Some(client.clone());
        Ok(client)
    }

    /// A client of its own (sessions), authenticated with `password`.
    pub(crate) async fn dedicated(&self, password: Option<&SecretString>) -> Result<Client> {
        let c = &self.config;
        // Retries of failed requests stop after half the connect timeout, so that a refused
        // connection is reported as such before the timeout below calls it a timeout.
        let backoff = BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
            deadline: Some(c.connect_timeout / 2),
        };
        let mut builder = ClientBuilder::new(c.brokers.clone()).client_id("toolkit").backoff_config(backoff);
        if c.tls {
            builder = builder.tls_config(tls::connector(c).await?);
        }
        if let (Some(sasl), Some(password)) = (&c.sasl, password) {
            let credentials = Credentials::new(sasl.username.clone(), password.expose().to_owned());
            builder = builder.sasl_config(match sasl.mechanism {
                SaslMechanism::Plain => SaslConfig::Plain(credentials),
                SaslMechanism::ScramSha256 => SaslConfig::ScramSha256(credentials),
                SaslMechanism::ScramSha512 => SaslConfig::ScramSha512(credentials),
            });
        }
        match tokio::time::timeout(c.connect_timeout, builder.build()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(self.error(e, "connect to kafka")),
            Err(_) => Err(self.timeout("connect to kafka", c.connect_timeout)),
        }
    }

    /// Drops the shared client (after an auth failure, so a rotated password is read again).
    pub(crate) async fn reset(&self) {
        self.shared.lock().await.take();
    }

    /// A client error with the brokers and user as context.
    pub(crate) fn error(&self, e: ClientError, action: &str) -> Error {
        let mut err = classify(e, action).with_context("brokers", self.config.bootstrap());
        if let Some(s) = &self.config.sasl {
            err = err.with_context("user", &s.username);
        }
        err
    }

    pub(crate) fn timeout(&self, action: &str, after: Duration) -> Error {
        Error::new(ErrorKind::Timeout, action.to_owned())
            .with_context("brokers", self.config.bootstrap())
            .with_context("timeout", format!("{after:?}"))
    }
}

/// Maps a client error to the toolkit's kinds by the first cause that decides it.
/// `action` reads well after "failed to".
pub(crate) fn classify(e: ClientError, action: &str) -> Error {
    let kind = kind_of(&e);
    Error::new(kind, action.to_owned()).with_source(e)
}

fn kind_of(e: &(dyn std::error::Error + 'static)) -> ErrorKind {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(sasl) = err.downcast_ref::<rskafka::SaslError>() {
            return match sasl {
                rskafka::SaslError::InvalidSaslMechanism(_)
                | rskafka::SaslError::UnsupportedSaslMechanism
                | rskafka::SaslError::InvalidConfig(_) => ErrorKind::Config,
                // Brokers that refuse a login may hang up instead of answering (older
                // brokers, and Tansu for mechanisms it lacks): the connection was up until
                // authentication, so it is the login that failed.
                _ => ErrorKind::Auth,
            };
        }
        if let Some(ClientError::ServerError { protocol_error, .. }) = err.downcast_ref::<ClientError>() {
            return protocol_kind(*protocol_error);
        }
        match err.downcast_ref::<ClientError>() {
            Some(ClientError::Timeout) => return ErrorKind::Timeout,
            // rskafka's words for a partition the topic does not have.
            Some(ClientError::InvalidResponse(m)) if m.starts_with("Could not find metadata for partition") => {
                return ErrorKind::InvalidInput;
            }
            _ => {}
        }
        // The retry error does not expose its cause as a source; its inner error does.
        if let Some(rskafka::ConnectionError::RetryFailed(inner)) = err.downcast_ref::<rskafka::ConnectionError>() {
            cur = Some(inner);
            continue;
        }
        if let Some(p) = err.downcast_ref::<ProtocolError>() {
            return protocol_kind(*p);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return if io.kind() == std::io::ErrorKind::TimedOut { ErrorKind::Timeout } else { ErrorKind::Unreachable };
        }
        if err.is::<rustls::Error>() {
            return ErrorKind::Unreachable;
        }
        // Errors rskafka retried reach here as text only.
        let text = err.to_string();
        if let Some(sasl) = text.strip_prefix("Sasl handshake failed: ") {
            return if sasl.starts_with("unsupported sasl mechanism") || sasl.starts_with("Invalid sasl mechanism") {
                ErrorKind::Config
            } else {
                ErrorKind::Auth
            };
        }
        cur = err.source();
    }
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Connection(_)) => ErrorKind::Unreachable,
        _ => ErrorKind::Upstream,
    }
}

fn protocol_kind(p: ProtocolError) -> ErrorKind {
    use ProtocolError as P;
    match p {
        P::SaslAuthenticationFailed | P::IllegalSaslState => ErrorKind::Auth,
        P::TopicAuthorizationFailed
        | P::GroupAuthorizationFailed
        | P::ClusterAuthorizationFailed
        | P::TransactionalIdAuthorizationFailed
        | P::PolicyViolation => ErrorKind::Denied,
        P::UnknownTopicOrPartition
        | P::UnknownTopicId
        | P::InvalidTopicException
        | P::OffsetOutOfRange
        | P::MessageTooLarge
        | P::RecordListTooLarge
        | P::InvalidPartitions
        | P::InvalidRecord
        | P::InvalidTimestamp
        | P::InvalidRequest
        | P::TopicAlreadyExists => ErrorKind::InvalidInput,
        P::UnsupportedSaslMechanism => ErrorKind::Config,
        P::RequestTimedOut => ErrorKind::Timeout,
        P::BrokerNotAvailable | P::NetworkException | P::LeaderNotAvailable | P::NotLeaderOrFollower => {
            ErrorKind::Unreachable
        }
        _ => ErrorKind::Upstream,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_server_errors() {
        let server = |p| ClientError::ServerError {
            protocol_error: p,
            error_message: None,
            request: rskafka::client::error::RequestContext::Topic("t".into()),
            response: None,
            is_virtual: false,
        };
        assert_eq!(classify(server(ProtocolError::UnknownTopicOrPartition), "x").kind(), ErrorKind::InvalidInput);
        assert_eq!(classify(server(ProtocolError::TopicAuthorizationFailed), "x").kind(), ErrorKind::Denied);
        assert_eq!(classify(server(ProtocolError::SaslAuthenticationFailed), "x").kind(), ErrorKind::Auth);
        assert_eq!(classify(ClientError::Timeout, "x").kind(), ErrorKind::Timeout);
        assert_eq!(classify(ClientError::InvalidResponse("?".into()), "x").kind(), ErrorKind::Upstream);
    }
}
