//! Connecting: credentials resolved at the moment of use, driver options, and the translation of
//! driver errors into toolkit error kinds.

use std::path::Path;

use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlSslMode};
use toolkit_core::model::SslMode;
use toolkit_core::{Error, ErrorKind, SecretString};

use crate::config::MysqlConfig;

/// The user and password to connect with; the password never prints.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: Option<SecretString>,
}

/// Driver options for `config` and `creds`. The password goes straight into the options, never
/// into a URL; the driver reads no environment variable or option file.
pub(crate) fn connect_options(config: &MysqlConfig, creds: &Credentials) -> MySqlConnectOptions {
    let mut opts = MySqlConnectOptions::new()
        .host(&config.hostname)
        .port(config.port)
        .username(&creds.username)
        .database(&config.database)
        .ssl_mode(ssl_mode(config.ssl_mode));
    if let Some(password) = &creds.password {
        opts = opts.password(password.expose());
    }
    if let Some(ca) = &config.ca_file {
        opts = opts.ssl_ca(ca);
    }
    opts
}

/// The libpq-style modes of manifests in MySQL's terms: `allow` and `prefer` both try TLS and
/// fall back, `verify-full` checks the host name too.
fn ssl_mode(mode: SslMode) -> MySqlSslMode {
    match mode {
        SslMode::Disable => MySqlSslMode::Disabled,
        SslMode::Allow | SslMode::Prefer => MySqlSslMode::Preferred,
        SslMode::Require => MySqlSslMode::Required,
        SslMode::VerifyCa => MySqlSslMode::VerifyCa,
        SslMode::VerifyFull => MySqlSslMode::VerifyIdentity,
    }
}

/// A CA file that cannot be read is a configuration problem, reported before any connection.
pub(crate) fn check_ca_file(config: &MysqlConfig) -> Result<(), Error> {
    let Some(ca) = &config.ca_file else { return Ok(()) };
    match std::fs::metadata(Path::new(ca)) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::config(format!("read caFile `{}`", ca.display())).with_source("not a file")),
        Err(e) => Err(Error::config(format!("read caFile `{}`", ca.display())).with_source(e)),
    }
}

/// Names the tool in `err`, once however many layers add it.
pub(crate) fn with_tool(err: Error, tool: &str) -> Error {
    if err.context_value("tool").is_some() { err } else { err.with_context("tool", tool) }
}

/// What was being done when a driver error happened; it decides how some errors read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Opening a connection; `tls` tells whether a TLS handshake was part of it.
    Connect {
        /// The mode asked for TLS.
        tls: bool,
    },
    /// Running statements on an open connection (or one the pool opens on the way).
    Query,
}

/// Translates a driver error into a toolkit error whose message is `what` (such as "connect to
/// mysql at db:3306 as user `app`") and whose source is the driver's own message.
///
/// | driver error | kind |
/// | --- | --- |
/// | 1045 (access denied: password), 1698 | auth |
/// | 1049 (no such database) | config |
/// | 3024, 1969 (statement time exceeded), 1205 (lock wait) | timeout |
/// | 1792 (read-only transaction), 1142, 1143, 1044, 1227, 1370 (privilege) | denied |
/// | 1040, 1152, 1158-1161, 2002, 2003, 2006, 2013 | unreachable |
/// | 1064 (syntax), 1054, 1146, 1292, 1366, 1406 (unknown name, bad value) | invalid input |
/// | other database errors | upstream (1213 deadlock retryable) |
/// | I/O, DNS, refused, pool timeout | unreachable |
/// | TLS handshake or certificate | unreachable, not retryable; config when the server has no TLS |
pub(crate) fn classify(err: sqlx::Error, phase: Phase, what: impl Into<String>) -> Error {
    let what = what.into();
    match err {
        sqlx::Error::Database(db) => {
            let number = db.try_downcast_ref::<MySqlDatabaseError>().map(MySqlDatabaseError::number);
            let mut e = Error::new(number.map_or(ErrorKind::Upstream, error_kind), what);
            if let Some(n) = number {
                e = e.with_context("code", n.to_string());
            }
            if let Some(state) = db.code() {
                e = e.with_context("sqlstate", state);
            }
            if matches!(number, Some(1213 | 1205)) {
                e = e.set_retryable(true);
            }
            e.with_source(db.message().replace('\n', " "))
        }
        sqlx::Error::Tls(source) => {
            let text = source.to_string();
            if text.contains("does not support TLS") || text.contains("not support SSL") {
                Error::config(what)
                    .with_context(
                        "hint",
                        "the server does not offer TLS; use sslMode prefer or disable, or enable TLS on the server",
                    )
                    .with_source(source)
            } else {
                tls_failed(what, source)
            }
        }
        sqlx::Error::Io(io) => {
            // rustls reports handshake and certificate failures as `InvalidData` I/O errors.
            if phase == (Phase::Connect { tls: true }) && io.kind() == std::io::ErrorKind::InvalidData {
                tls_failed(what, Box::new(io))
            } else {
                Error::new(ErrorKind::Unreachable, what).with_source(io)
            }
        }
        sqlx::Error::PoolTimedOut => Error::new(ErrorKind::Unreachable, what).with_source(
            "no connection could be opened or freed within connectTimeout; is the server up and reachable?",
        ),
        sqlx::Error::PoolClosed => {
            Error::new(ErrorKind::Unreachable, what).with_source("the tool was shut down").set_retryable(false)
        }
        sqlx::Error::Configuration(source) => Error::config(what).with_source(source),
        other @ sqlx::Error::WorkerCrashed => Error::internal(what).with_source(other),
        other => Error::new(ErrorKind::Upstream, what).with_source(other.to_string().replace('\n', " ")),
    }
}

fn tls_failed(what: String, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::new(ErrorKind::Unreachable, format!("{what}: TLS failed"))
        .with_context("hint", "check sslMode, caFile and the server certificate")
        .with_source(source)
        .set_retryable(false)
}

/// The kind of a MySQL/MariaDB server error number.
pub(crate) fn error_kind(number: u16) -> ErrorKind {
    match number {
        1045 | 1698 => ErrorKind::Auth,
        1049 => ErrorKind::Config,
        3024 | 1969 | 1205 => ErrorKind::Timeout,
        1792 | 1142 | 1143 | 1044 | 1227 | 1370 => ErrorKind::Denied,
        1040 | 1152 | 1158..=1161 | 2002 | 2003 | 2006 | 2013 => ErrorKind::Unreachable,
        1064 | 1054 | 1146 | 1292 | 1366 | 1406 | 1149 | 1295 => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_numbers() {
        assert_eq!(error_kind(1045), ErrorKind::Auth);
        assert_eq!(error_kind(2003), ErrorKind::Unreachable);
        assert_eq!(error_kind(1792), ErrorKind::Denied);
        assert_eq!(error_kind(1142), ErrorKind::Denied);
        assert_eq!(error_kind(1044), ErrorKind::Denied);
        assert_eq!(error_kind(1064), ErrorKind::InvalidInput);
        assert_eq!(error_kind(3024), ErrorKind::Timeout);
        assert_eq!(error_kind(1969), ErrorKind::Timeout);
        assert_eq!(error_kind(1062), ErrorKind::Upstream);
    }

    #[test]
    fn pool_timeout_is_unreachable_and_retryable() {
        let e = classify(sqlx::Error::PoolTimedOut, Phase::Query, "connect to mysql at db:3306 as user `app`");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.is_retryable());
    }

    #[test]
    fn tls_errors_are_not_retried() {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid peer certificate: UnknownIssuer");
        let e = classify(sqlx::Error::Io(io), Phase::Connect { tls: true }, "connect");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("TLS failed"), "{e}");
    }
}
