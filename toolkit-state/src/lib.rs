//! Local state: tool status and counters, probe history, audit records, sessions and pending
//! approvals, in one SQLite database under the state directory.
//!
//! Several CLI processes and a gateway may use the same directory at once: the database runs in
//! WAL mode with a busy timeout, counters are updated with single atomic statements, and audit
//! records are committed with `synchronous = FULL` before a call's reply is returned. Concurrent
//! calls share commits: one writer task gathers the records that arrive while a commit is under
//! way and writes them in the next transaction, so many calls cost one `fsync`. Nothing
//! here ever holds a secret value: callers hand over arguments and errors already redacted.

mod approvals;
mod audit;
mod sessions;
mod status;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use toolkit_core::{Error, ErrorKind, Result};

pub use approvals::{ApprovalRecord, ApprovalState, NewApproval};
pub use audit::{AuditFilter, AuditRecord, Outcome};
pub use sessions::{SessionRecord, SessionState};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tool_status (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT 'Pending',
    last_probe TEXT,
    invocation_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS probes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    time TEXT NOT NULL,
    ok INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    server_version TEXT,
    error_kind TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS probes_tool ON probes (namespace, name, id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    caller TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    operation TEXT NOT NULL,
    arguments TEXT,
    decision TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    error_kind TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS audit_tool ON audit (namespace, name, id);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    pid INTEGER,
    started_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    idle_timeout_secs INTEGER NOT NULL,
    state TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_state ON sessions (state);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    caller TEXT NOT NULL,
    arguments TEXT NOT NULL,
    class TEXT NOT NULL,
    reasons TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals (state, id);
"#;

/// The file name of the database inside the state directory.
pub const DB_FILE: &str = "state.db";

/// Handle to the state database; cheap to clone.
#[derive(Clone, Debug)]
pub struct StateStore {
    pool: SqlitePool,
    dir: PathBuf,
    writer: writer::Writer,
}

impl StateStore {
    /// Opens (creating when needed) the state in `dir`.
    pub async fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::config(format!("create state directory {}", dir.display()))
                .with_source(e)
                .with_context("hint", "pass --state DIR (or set TOOLKIT_STATE) to a writable directory")
        })?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| Error::internal("build sqlite options").with_source(e))?
            .filename(dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| db_error(e, format!("open state database in {}", dir.display())))?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.map_err(|e| db_error(e, "create state tables"))?;
        let writer = writer::Writer::start(pool.clone());
        Ok(Self { pool, dir: dir.to_owned(), writer })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn db_error(e: sqlx::Error, what: impl Into<String>) -> Error {
    let kind = match &e {
        sqlx::Error::Database(d) if d.message().contains("locked") || d.message().contains("busy") => {
            ErrorKind::Timeout
        }
        sqlx::Error::PoolTimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, what).with_source(e)
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_default()
}
