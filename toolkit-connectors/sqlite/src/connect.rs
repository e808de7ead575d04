//! Opening the database file, and the translation of driver errors into toolkit error kinds.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use toolkit_core::{Error, ErrorKind};

/// Driver options: an existing file only, read-only twice over when `read_only` (the file is
/// opened read-only and `PRAGMA query_only` is on, so even a statement that turns the pragma off
/// cannot write).
pub(crate) fn connect_options(path: &Path, read_only: bool, busy_timeout: Duration) -> SqliteConnectOptions {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(busy_timeout);
    if read_only { opts.pragma("query_only", "ON") } else { opts }
}

/// "open sqlite database `PATH`".
pub(crate) fn open_message(path: &Path) -> String {
    format!("open sqlite database `{}`", path.display())
}

/// Refuses a path that is not an existing file before SQLite gets to say "unable to open".
pub(crate) async fn check_file(path: &Path) -> Result<(), Error> {
    match tokio::fs::metadata(path).await {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::config(open_message(path)).with_source("the path is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found(open_message(path))
            .with_context("hint", "sqlite tools open existing databases only; create the file first")
            .with_source(e)),
        Err(e) => Err(Error::config(open_message(path)).with_source(e)),
    }
}

/// Translates a driver error; `what` is the message ("run query on sqlite", ...).
///
/// | SQLite result | kind |
/// | --- | --- |
/// | READONLY, PERM, AUTH | denied |
/// | INTERRUPT (the call's time ran out) | timeout |
/// | BUSY, LOCKED (another writer holds the lock) | timeout (retryable) |
/// | ERROR (syntax, no such table), MISMATCH, RANGE, TOOBIG | invalid input |
/// | CANTOPEN | not found |
/// | NOTADB | config |
/// | other database errors | upstream |
/// | I/O, pool timeout | unreachable |
pub(crate) fn classify(err: sqlx::Error, what: impl Into<String>) -> Error {
    let what = what.into();
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            let kind = result_kind(code);
            Error::new(kind, what).with_context("sqlite code", code).with_source(db.message().to_owned())
        }
        sqlx::Error::PoolTimedOut => {
            Error::new(ErrorKind::Unreachable, what).with_source("no connection was free within connectTimeout")
        }
        sqlx::Error::PoolClosed => {
            Error::new(ErrorKind::Unreachable, what).with_source("the tool was shut down").set_retryable(false)
        }
        sqlx::Error::Io(io) => Error::new(ErrorKind::Unreachable, what).with_source(io),
        sqlx::Error::Configuration(source) => Error::config(what).with_source(source),
        other @ sqlx::Error::WorkerCrashed => Error::internal(what).with_source(other),
        other => Error::new(ErrorKind::Upstream, what).with_source(other),
    }
}

/// The kind of an (extended) SQLite result code, by its primary code.
fn result_kind(code: i32) -> ErrorKind {
    match code & 0xff {
        3 | 8 | 23 => ErrorKind::Denied,
        9 | 5 | 6 => ErrorKind::Timeout,
        1 | 18 | 20 | 25 => ErrorKind::InvalidInput,
        14 => ErrorKind::NotFound,
        26 => ErrorKind::Config,
        _ => ErrorKind::Upstream,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes() {
        assert_eq!(result_kind(8), ErrorKind::Denied);
        assert_eq!(result_kind(8 | (1 << 8)), ErrorKind::Denied);
        assert_eq!(result_kind(9), ErrorKind::Timeout);
        assert_eq!(result_kind(1), ErrorKind::InvalidInput);
        assert_eq!(result_kind(2067), ErrorKind::Upstream);
    }
}
