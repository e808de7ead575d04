//! The local-mode backend: one SQLite database in a directory.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use toolkit_core::{Error, ErrorKind, Result};

use crate::audit::Values;
use crate::codec::now;
use crate::writer::{self, Entry, Sink};

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
    decision_detail TEXT,
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
    end_reason TEXT,
    last_active_at TEXT
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
    reason TEXT,
    call_hash TEXT
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals (state, id);
"#;

/// The file name of the database inside the state directory.
pub const DB_FILE: &str = "state.db";

/// The local-mode backend: one SQLite database in the state directory; cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteState {
    pub(crate) pool: SqlitePool,
    dir: PathBuf,
    pub(crate) writer: writer::Writer,
}

impl SqliteState {
    /// Opens (creating when needed) the state in `dir`.
    ///
    /// The state is private: a directory made here is readable by its owner only (0700), and
    /// the database file (and the journal files SQLite makes beside it, which take its mode) is
    /// 0600, tightened if an earlier version left it wider.
    pub async fn open(dir: &Path) -> Result<Self> {
        let hint = "pass --state DIR (or set TOOLKIT_STATE) to a writable directory";
        private_dir(dir).map_err(|e| {
            Error::config(format!("create state directory {}", dir.display())).with_source(e).with_context("hint", hint)
        })?;
        private_file(&dir.join(DB_FILE)).map_err(|e| {
            Error::config(format!("create the state database in {}", dir.display()))
                .with_source(e)
                .with_context("hint", hint)
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
        migrate(&pool).await?;
        let writer = writer::Writer::start(SqliteSink(pool.clone()));
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

/// Creates `dir` and its missing parents, each readable by its owner only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `file` if missing, with mode 0600, and narrows an existing one to 0600.
fn private_file(file: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let f = options.open(file)?;
        if f.metadata()?.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        for suffix in ["-wal", "-shm"] {
            let mut side = file.as_os_str().to_owned();
            side.push(suffix);
            if let Ok(m) = std::fs::metadata(&side)
                && m.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    options.open(file)?;
    Ok(())
}

/// Columns later versions added, as (table, column, type): a database made by an earlier
/// version gets those it lacks.
const ADDED_COLUMNS: &[(&str, &str, &str)] =
    &[("audit", "decision_detail", "TEXT"), ("sessions", "last_active_at", "TEXT"), ("approvals", "call_hash", "TEXT")];

/// Brings a database made by an earlier version up to date; each step is safe to repeat.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    for (table, column, kind) in ADDED_COLUMNS {
        let columns: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(pool)
            .await
            .map_err(|e| db_error(e, format!("read the {table} table's columns")))?;
        if !columns.iter().any(|c| c == column) {
            sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                .execute(pool)
                .await
                .map_err(|e| db_error(e, format!("add the {table} table's {column} column")))?;
        }
    }
    Ok(())
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

/// Writes audit batches to the SQLite database.
struct SqliteSink(SqlitePool);

impl Sink for SqliteSink {
    async fn write(&self, batch: &[Entry]) -> Result<Vec<i64>> {
        let mut tx = self.0.begin().await.map_err(|e| db_error(e, "write audit records"))?;
        for c in writer::counts(batch) {
            sqlx::query(
                "INSERT INTO tool_status (namespace, name, invocation_count, error_count, last_error, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (namespace, name) DO UPDATE SET
                   invocation_count = invocation_count + ?3,
                   error_count = error_count + ?4,
                   last_error = COALESCE(?5, last_error),
                   updated_at = ?6",
            )
            .bind(&c.tool.namespace)
            .bind(&c.tool.name)
            .bind(c.calls)
            .bind(c.errors)
            .bind(c.last_error)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "count call"))?;
        }
        let mut ids = Vec::with_capacity(batch.len());
        for entry in batch {
            let v = Values::of(&entry.record);
            let id = sqlx::query(
                "INSERT INTO audit (time, caller, namespace, name, operation, arguments, decision, decision_detail, duration_ms, outcome, error_kind, error)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(v.time)
            .bind(v.caller)
            .bind(v.namespace)
            .bind(v.name)
            .bind(v.operation)
            .bind(v.arguments)
            .bind(v.decision)
            .bind(v.decision_detail)
            .bind(v.duration_ms)
            .bind(v.outcome)
            .bind(v.error_kind)
            .bind(v.error)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "write audit record"))?
            .last_insert_rowid();
            ids.push(id);
        }
        tx.commit().await.map_err(|e| db_error(e, "commit audit records"))?;
        Ok(ids)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn state_is_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/state");
        let state = SqliteState::open(&dir).await.unwrap();
        state.close().await;
        assert_eq!((mode(&dir), mode(&root.path().join("a"))), (0o700, 0o700));
        assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
        // A database an earlier version left readable by all is narrowed.
        std::fs::set_permissions(dir.join(DB_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        let state = SqliteState::open(&dir).await.unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
        state.close().await;
    }
}

#[cfg(test)]
mod migration_tests {
    use toolkit_core::ToolRef;

    use super::*;

    /// A database of an earlier version, without the columns added since, is brought up to
    /// date when opened, and what it held stays.
    #[tokio::test]
    async fn an_earlier_database_gets_the_columns_added_since() {
        let dir = tempfile::tempdir().unwrap();
        let state = SqliteState::open(dir.path()).await.unwrap();
        let tool = ToolRef::new("default", "k");
        state.create_session("s1", &tool, "shell", 1, 60).await.unwrap();
        for (table, column, _) in ADDED_COLUMNS {
            sqlx::query(&format!("ALTER TABLE {table} DROP COLUMN {column}")).execute(&state.pool).await.unwrap();
        }
        state.close().await;
        let state = SqliteState::open(dir.path()).await.unwrap();
        let used = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        state.heartbeat("s1", true, used).await.unwrap();
        let sessions = state.sessions(false).await.unwrap();
        assert_eq!(sessions[0].last_active_at, used);
        // Opening an up-to-date database again changes nothing.
        state.close().await;
        SqliteState::open(dir.path()).await.unwrap().close().await;
    }
}
