//! Driver options for a mysql connection, and MySQL's error numbers in toolkit error kinds; the
//! rest of connecting is shared (`toolkit_connector_sql::connect`).

use sqlx::error::DatabaseError;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlSslMode};
use toolkit_connector_sql::{Credentials, Phase};
use toolkit_core::model::SslMode;
use toolkit_core::{Error, ErrorKind};

use crate::config::MysqlConfig;

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
/// | I/O, TLS, pool | as `toolkit_connector_sql::connect::classify` |
pub(crate) fn classify(err: sqlx::Error, phase: Phase, what: impl Into<String>) -> Error {
    toolkit_connector_sql::connect::classify(err, phase, what, database_error)
}

fn database_error(db: Box<dyn DatabaseError>, what: String) -> Error {
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
}
