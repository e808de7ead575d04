//! Connecting: credentials resolved at the moment of use, driver options, and the translation of
//! driver errors into toolkit error kinds.

use std::path::Path;

use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgSslMode};
use toolkit_core::model::SslMode;
use toolkit_core::{Error, ErrorKind, SecretString};

use crate::config::PgConfig;

/// The `application_name` the server sees.
const APPLICATION_NAME: &str = "toolkit";

/// The user and password to connect with; the password never prints.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: Option<SecretString>,
}

/// Driver options for `config` and `creds`.
///
/// The password goes straight into the options, never into a URL. Starting from
/// `new_without_pgpass` keeps `~/.pgpass` out; the password is always set (empty when the tool
/// declares none) so a `PGPASSWORD` in the process environment is never sent on a tool's behalf.
pub(crate) fn connect_options(config: &PgConfig, creds: &Credentials) -> PgConnectOptions {
    let mut opts = PgConnectOptions::new_without_pgpass()
        .host(&config.hostname)
        .port(config.port)
        .username(&creds.username)
        .password(creds.password.as_ref().map_or("", SecretString::expose))
        .database(&config.database)
        .ssl_mode(ssl_mode(config.ssl_mode))
        .application_name(APPLICATION_NAME);
    if let Some(ca) = &config.ca_file {
        opts = opts.ssl_root_cert(ca);
    }
    opts
}

fn ssl_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow => PgSslMode::Allow,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

/// A CA file that cannot be read is a configuration problem, reported before any connection.
pub(crate) fn check_ca_file(config: &PgConfig) -> Result<(), Error> {
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
/// postgres at db:5432 as user `app`") and whose source is the driver's own message.
///
/// | driver error | kind |
/// | --- | --- |
/// | SQLSTATE 28P01, 28000 (password, pg_hba) | auth |
/// | SQLSTATE 3D000 (no such database) | config |
/// | SQLSTATE 57014 (statement timeout) | timeout |
/// | SQLSTATE 25006 (read-only transaction), 42501 (privilege) | denied |
/// | SQLSTATE 08xxx, 53300, 57P01-57P03 | unreachable |
/// | other SQLSTATE 42xxx, 22xxx, 25001, 2201x | invalid input |
/// | other database errors | upstream (40001 and 40P01 retryable) |
/// | I/O, DNS, refused, pool timeout | unreachable |
/// | TLS handshake or certificate | unreachable, not retryable; config when the server has no TLS |
pub(crate) fn classify(err: sqlx::Error, phase: Phase, what: impl Into<String>) -> Error {
    let what = what.into();
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let kind = sqlstate_kind(&code);
            let mut e = Error::new(kind, what);
            if !code.is_empty() {
                e = e.with_context("sqlstate", &code);
            }
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                if let Some(d) = pg.detail() {
                    e = e.with_context("detail", d);
                }
                if let Some(h) = pg.hint() {
                    e = e.with_context("hint", h);
                }
            }
            if matches!(code.as_str(), "40001" | "40P01") {
                e = e.set_retryable(true);
            }
            e.with_source(db.message().to_owned())
        }
        sqlx::Error::Tls(source) => {
            if source.to_string().contains("does not support TLS") {
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
        other => Error::new(ErrorKind::Upstream, what).with_source(other),
    }
}

fn tls_failed(what: String, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::new(ErrorKind::Unreachable, format!("{what}: TLS failed"))
        .with_context("hint", "check sslMode, caFile and the server certificate")
        .with_source(source)
        .set_retryable(false)
}

fn sqlstate_kind(code: &str) -> ErrorKind {
    match code {
        "28P01" | "28000" => ErrorKind::Auth,
        "3D000" => ErrorKind::Config,
        "57014" => ErrorKind::Timeout,
        "25006" | "42501" => ErrorKind::Denied,
        "53300" | "57P01" | "57P02" | "57P03" => ErrorKind::Unreachable,
        "25001" => ErrorKind::InvalidInput,
        c if c.starts_with("08") => ErrorKind::Unreachable,
        c if c.starts_with("42") || c.starts_with("22") => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates() {
        assert_eq!(sqlstate_kind("28P01"), ErrorKind::Auth);
        assert_eq!(sqlstate_kind("42601"), ErrorKind::InvalidInput);
        assert_eq!(sqlstate_kind("42501"), ErrorKind::Denied);
        assert_eq!(sqlstate_kind("25006"), ErrorKind::Denied);
        assert_eq!(sqlstate_kind("57014"), ErrorKind::Timeout);
        assert_eq!(sqlstate_kind("08006"), ErrorKind::Unreachable);
        assert_eq!(sqlstate_kind("23505"), ErrorKind::Upstream);
    }

    #[test]
    fn pool_timeout_is_unreachable_and_retryable() {
        let e = classify(sqlx::Error::PoolTimedOut, Phase::Query, "connect to postgres at db:5432 as user `app`");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.is_retryable());
        assert!(e.to_string().starts_with("connect to postgres at db:5432 as user `app`: "));
    }

    #[test]
    fn tls_errors_are_not_retried() {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid peer certificate: UnknownIssuer");
        let e = classify(sqlx::Error::Io(io), Phase::Connect { tls: true }, "connect");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("TLS failed"), "{e}");
        let e =
            classify(sqlx::Error::Tls("server does not support TLS".into()), Phase::Connect { tls: true }, "connect");
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
