//! Driver options for a postgres connection, and SQLSTATEs in toolkit error kinds; the rest of
//! connecting is shared (`toolkit_connector_sql::connect`).

use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgSslMode};
use toolkit_connector_sql::{Credentials, Phase};
use toolkit_core::model::SslMode;
use toolkit_core::{Error, ErrorKind, SecretString};

use crate::config::PgConfig;

/// The `application_name` the server sees.
const APPLICATION_NAME: &str = "toolkit";

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
/// | I/O, TLS, pool | as `toolkit_connector_sql::connect::classify` |
pub(crate) fn classify(err: sqlx::Error, phase: Phase, what: impl Into<String>) -> Error {
    toolkit_connector_sql::connect::classify(err, phase, what, database_error)
}

fn database_error(db: Box<dyn DatabaseError>, what: String) -> Error {
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
}
