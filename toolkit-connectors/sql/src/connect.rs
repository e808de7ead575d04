//! Connecting: the credentials of a connection, opening one within a deadline, and the
//! translation of the sqlx errors every engine shares (I/O, TLS, pool) into toolkit error kinds.
//! Database errors are the engine's own: each connector passes its table of codes to [`classify`].

use std::path::Path;
use std::time::Duration;

use sqlx::error::DatabaseError;
use toolkit_core::{Error, ErrorKind, Result, SecretString};

/// The user and password to connect with; the password never prints.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password, when the tool declares one.
    pub password: Option<SecretString>,
}

/// "connect to ENGINE at HOST:PORT as user `USER`".
pub fn connect_message(engine: &str, address: &str, username: &str) -> String {
    format!("connect to {engine} at {address} as user `{username}`")
}

/// A CA file that cannot be read is a configuration problem, reported before any connection.
pub fn check_ca_file(ca_file: Option<&Path>) -> Result<(), Error> {
    let Some(ca) = ca_file else { return Ok(()) };
    match std::fs::metadata(ca) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::config(format!("read caFile `{}`", ca.display())).with_source("not a file")),
        Err(e) => Err(Error::config(format!("read caFile `{}`", ca.display())).with_source(e)),
    }
}

/// Names the tool in `err`, once however many layers add it.
pub fn with_tool(err: Error, tool: &str) -> Error {
    if err.context_value("tool").is_some() { err } else { err.with_context("tool", tool) }
}

/// `err` with the engine's phrase `run_query` ("run query on postgres") naming `engine`
/// instead, for the engines that share another's driver (cockroachdb and redshift on
/// postgres's): an error names the tool's own type.
pub fn on_engine(err: Error, run_query: &str, engine: &str) -> Error {
    let Some((verb, _)) = run_query.rsplit_once(" on ") else { return err };
    let own = format!("{verb} on {engine}");
    if own == run_query { err } else { err.map_text(|text| text.replace(run_query, &own)) }
}

/// Opens one connection with `options`, giving up after `limit`. A driver error goes through
/// `classify`; running out of time is `Timeout` with `what` as the message.
pub async fn connect_within<C: sqlx::Connection>(
    options: &<C as sqlx::Connection>::Options,
    limit: Duration,
    what: &str,
    classify: impl FnOnce(sqlx::Error) -> Error,
) -> Result<C> {
    match tokio::time::timeout(limit, C::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(classify(e)),
        Err(_) => {
            Err(Error::new(ErrorKind::Timeout, what)
                .with_source(format!("no answer within connectTimeout ({limit:?})")))
        }
    }
}

/// What was being done when a driver error happened; it decides how some errors read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Opening a connection; `tls` tells whether a TLS handshake was part of it.
    Connect {
        /// The mode asked for TLS.
        tls: bool,
    },
    /// Running statements on an open connection (or one the pool opens on the way).
    Query,
}

/// Translates a driver error into a toolkit error whose message is `what` (such as "connect to
/// mysql at db:3306 as user `app`"). Database errors go to `database` (the engine's codes); the
/// rest read the same for every engine:
///
/// | driver error | kind |
/// | --- | --- |
/// | I/O, DNS, refused, pool timeout | unreachable |
/// | TLS handshake or certificate | unreachable, not retryable; config when the server has no TLS |
/// | configuration | config |
/// | other | upstream |
pub fn classify(
    err: sqlx::Error,
    phase: Phase,
    what: impl Into<String>,
    database: impl FnOnce(Box<dyn DatabaseError>, String) -> Error,
) -> Error {
    let what = what.into();
    match err {
        sqlx::Error::Database(db) => database(db, what),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn no_database(_: Box<dyn DatabaseError>, what: String) -> Error {
        Error::internal(what)
    }

    #[test]
    fn pool_timeout_is_unreachable_and_retryable() {
        let what = "connect to postgres at db:5432 as user `app`";
        let e = classify(sqlx::Error::PoolTimedOut, Phase::Query, what, no_database);
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.is_retryable());
        assert!(e.to_string().starts_with("connect to postgres at db:5432 as user `app`: "));
    }

    #[test]
    fn tls_errors_are_not_retried() {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid peer certificate: UnknownIssuer");
        let e = classify(sqlx::Error::Io(io), Phase::Connect { tls: true }, "connect", no_database);
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("TLS failed"), "{e}");
        let no_tls = sqlx::Error::Tls("server does not support TLS".into());
        let e = classify(no_tls, Phase::Connect { tls: true }, "connect", no_database);
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn missing_ca_file_is_a_config_error() {
        assert!(check_ca_file(None).is_ok());
        let e = check_ca_file(Some(Path::new("/nonexistent/ca.pem"))).expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
