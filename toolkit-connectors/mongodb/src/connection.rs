//! The client of one tool, made on first use, and the mapping of driver errors to [`ErrorKind`]s.
//!
//! The password is resolved from the secret store when the client is made and handed to the
//! driver in its [`Credential`], never written into a connection string.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mongodb::error::{ErrorKind as K, WriteFailure};
use mongodb::options::{ClientOptions, ConnectionString, ServerAddress, Tls, TlsOptions};
use mongodb::{Client, Database};
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{MongoConfig, Target};

/// The lazily made client of one tool.
pub(crate) struct Connection {
    pub(crate) config: MongoConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    /// Made on first use; dropped when the server refuses the credentials, so that the next
    /// call resolves the (perhaps rotated) password again.
    client: Mutex<Option<(Client, Option<SecretString>)>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("servers", &self.config.display_target())
            .field("user", &self.config.username)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(config: MongoConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, client: Mutex::new(None) }
    }

    /// The client and the password it was made with; made (and the password resolved) on
    /// first use. Making it resolves SRV records but does not connect: the first operation does.
    pub(crate) async fn client(&self) -> Result<(Client, Option<SecretString>)> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let password = match &self.config.password_ref {
            Some(sel) => Some(self.secrets.resolve(&self.namespace, sel).await?),
            None => None,
        };
        let options = self.options(password.as_ref()).await?;
        let client = Client::with_options(options).map_err(|e| self.error(e, "set up the mongodb client"))?;
        *slot = Some((client.clone(), password.clone()));
        Ok((client, password))
    }

    /// A database handle of the tool's client.
    pub(crate) async fn database(&self, name: &str) -> Result<Database> {
        Ok(self.client().await?.0.database(name))
    }

    async fn options(&self, password: Option<&SecretString>) -> Result<ClientOptions> {
        let c = &self.config;
        let mut options = match &c.target {
            Target::Uri(uri) => {
                let parsed = ConnectionString::parse(uri).map_err(|e| self.error(e, "read the connection string"))?;
                let parsing = ClientOptions::parse(parsed);
                match tokio::time::timeout(c.connect_timeout, parsing).await {
                    Ok(r) => r.map_err(|e| self.error(e, "resolve the connection string"))?,
                    Err(_) => return Err(self.timeout("resolve the connection string")),
                }
            }
            Target::Host { host, port } => {
                let mut o = ClientOptions::default();
                o.hosts = vec![ServerAddress::Tcp { host: host.clone(), port: Some(*port) }];
                o
            }
        };
        if let Some(user) = &c.username {
            let mut cred = options.credential.take().unwrap_or_default();
            cred.username = Some(user.clone());
            cred.source.get_or_insert_with(|| c.auth_source.clone());
            cred.password = password.map(|p| p.expose().to_owned());
            options.credential = Some(cred);
        }
        options.connect_timeout = Some(c.connect_timeout);
        // A server that is down or never answers is reported after the connect timeout, not
        // after the driver's default 30 s of server selection.
        options.server_selection_timeout = Some(c.connect_timeout);
        options.app_name.get_or_insert_with(|| "toolkit".to_owned());
        if let Some(n) = c.max_connections {
            options.max_pool_size = Some(n);
        }
        if c.tls {
            let mut tls = match options.tls.take() {
                Some(Tls::Enabled(t)) => t,
                _ => TlsOptions::default(),
            };
            if let Some(ca) = &c.ca_file {
                tls.ca_file_path = Some(ca.into());
            }
            if c.insecure_skip_tls_verify {
                tls.allow_invalid_certificates = Some(true);
            }
            options.tls = Some(Tls::Enabled(tls));
        }
        Ok(options)
    }

    /// Passes `result` through; an auth failure drops the client first.
    pub(crate) async fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth) {
            self.client.lock().await.take();
        }
        result
    }

    /// A driver error as the toolkit's, naming the servers and the user.
    pub(crate) fn error(&self, e: mongodb::error::Error, action: &str) -> Error {
        let mut err = classify(e, action).with_context("servers", self.config.display_target());
        if let Some(u) = &self.config.username {
            err = err.with_context("user", u);
        }
        err
    }

    /// A deadline that passed.
    pub(crate) fn timeout(&self, action: &str) -> Error {
        Error::new(ErrorKind::Timeout, action.to_owned()).with_context("servers", self.config.display_target())
    }

    /// Runs `fut` within `limit`.
    pub(crate) async fn within<T>(
        &self,
        limit: Duration,
        action: &str,
        fut: impl IntoFuture<Output = std::result::Result<T, mongodb::error::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(limit, fut.into_future()).await {
            Ok(r) => r.map_err(|e| self.error(e, action)),
            Err(_) => Err(self.timeout(action).with_context("timeout", format!("{limit:?}"))),
        }
    }
}

/// Server error codes that mean the caller's input was wrong.
const INPUT_CODES: &[i32] = &[
    2,     // BadValue
    9,     // FailedToParse
    14,    // TypeMismatch
    15,    // Overflow
    17,    // CannotCreateIndex... and other bad requests
    40,    // ConflictingUpdateOperators
    52,    // DollarPrefixedFieldName
    56,    // EmptyFieldName
    57,    // DottedFieldName
    66,    // ImmutableField
    72,    // InvalidOptions
    73,    // InvalidNamespace
    168,   // InvalidPipelineOperator
    11000, // DuplicateKey
    16410, // FieldPath cannot begin with '$'
    31253, // projection mixes inclusion and exclusion
    40323, // a pipeline stage must have exactly one field
    40324, // unrecognized pipeline stage name
    40352, // FieldPath cannot be constructed with empty string
];

fn code_kind(code: i32) -> ErrorKind {
    match code {
        18 => ErrorKind::Auth,
        13 | 8000 => ErrorKind::Denied, // Unauthorized; Atlas's AtlasError for permissions
        50 => ErrorKind::Timeout,       // MaxTimeMSExpired
        c if INPUT_CODES.contains(&c) => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    }
}

/// What failed server selection: the last error the monitor saw, or silence (a timeout).
fn selection_kind(message: &str) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    if m.contains("authentication") {
        ErrorKind::Auth
    } else if ["refused", "reset", "dns", "resolve", "tls", "certificate", "handshake", "unreachable", "broken pipe"]
        .iter()
        .any(|p| m.contains(p))
    {
        ErrorKind::Unreachable
    } else if m.contains("timed out") || !m.contains("error:") {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unreachable
    }
}

/// Maps a driver error to the toolkit's kinds. `action` reads well after "failed to".
pub(crate) fn classify(e: mongodb::error::Error, action: &str) -> Error {
    let kind = match e.kind.as_ref() {
        K::Authentication { .. } => ErrorKind::Auth,
        K::Command(c) => code_kind(c.code),
        K::Write(WriteFailure::WriteError(w)) => code_kind(w.code),
        K::Write(WriteFailure::WriteConcernError(w)) => code_kind(w.code),
        K::InsertMany(m) => {
            m.write_errors.as_ref().and_then(|w| w.first()).map_or(ErrorKind::Upstream, |w| code_kind(w.code))
        }
        K::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
        K::Io(_) | K::ConnectionPoolCleared { .. } | K::DnsResolve { .. } => ErrorKind::Unreachable,
        K::ServerSelection { message, .. } => selection_kind(message),
        K::InvalidArgument { .. } | K::BsonSerialization(_) => ErrorKind::InvalidInput,
        K::InvalidTlsConfig { .. } => ErrorKind::Config,
        K::IncompatibleServer { .. } => ErrorKind::Unsupported,
        _ => ErrorKind::Upstream,
    };
    Error::new(kind, action.to_owned()).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes_and_selection_failures() {
        assert_eq!(code_kind(13), ErrorKind::Denied);
        assert_eq!(code_kind(18), ErrorKind::Auth);
        assert_eq!(code_kind(40324), ErrorKind::InvalidInput);
        assert_eq!(code_kind(1), ErrorKind::Upstream);
        let refused = "Server selection timeout: No available servers. Topology: { Type: Unknown, Servers: [ { \
                       Address: 127.0.0.1:1, Type: Unknown, Error: Kind: I/O error: Connection refused (os error \
                       111), labels: {} } ] }";
        assert_eq!(selection_kind(refused), ErrorKind::Unreachable);
        let silent = "Server selection timeout: No available servers. Topology: { Type: Unknown, Servers: [ { \
                      Address: 127.0.0.1:1, Type: Unknown } ] }";
        assert_eq!(selection_kind(silent), ErrorKind::Timeout);
    }
}
