//! State: tool status and counters, probe history, audit records, sessions and pending
//! approvals, behind the [`StateBackend`] trait. [`StateStore`] is the cheap-to-clone handle the
//! runtime holds; [`StateStore::open`] gives the local-mode backend, [`SqliteState`]: one SQLite
//! database under the state directory, and [`StateStore::new`] takes any other.
//!
//! With SQLite, several CLI processes and a gateway may use the same directory at once: the database runs in
//! WAL mode with a busy timeout, counters are updated with single atomic statements, and audit
//! records are committed with `synchronous = FULL` before a call's reply is returned. Concurrent
//! calls share commits: one writer task gathers the records that arrive while a commit is under
//! way and writes them in the next transaction, so many calls cost one `fsync`. Nothing
//! here ever holds a secret value: callers hand over arguments and errors already redacted.

mod approvals;
mod audit;
mod backend;
mod decision;
mod sessions;
mod status;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use toolkit_core::{Error, ErrorKind, Result};

pub use approvals::{ApprovalRecord, ApprovalState, NewApproval};
pub use audit::{AuditFilter, AuditRecord, Outcome};
pub use backend::StateBackend;
pub use decision::{Decision, Refusal};
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

/// The state a runtime keeps, whatever holds it; cheap to clone. It dereferences to the
/// [`StateBackend`], so `state.audit(...)` calls the backend.
#[derive(Clone)]
pub struct StateStore {
    backend: Arc<dyn StateBackend>,
}

impl StateStore {
    /// The local-mode state: a SQLite database in `dir`, created when needed.
    pub async fn open(dir: &Path) -> Result<Self> {
        Ok(Self::new(SqliteState::open(dir).await?))
    }

    /// State kept by `backend`.
    pub fn new(backend: impl StateBackend + 'static) -> Self {
        Self { backend: Arc::new(backend) }
    }

    /// State kept by a backend already shared.
    pub fn from_arc(backend: Arc<dyn StateBackend>) -> Self {
        Self { backend }
    }
}

impl std::ops::Deref for StateStore {
    type Target = dyn StateBackend;

    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore").field("backend", &self.backend.describe()).finish()
    }
}

/// The local-mode backend: one SQLite database in the state directory; cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteState {
    pool: SqlitePool,
    dir: PathBuf,
    writer: writer::Writer,
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

/// Brings a database made by an earlier version up to date; each step is safe to repeat.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('audit')")
        .fetch_all(pool)
        .await
        .map_err(|e| db_error(e, "read the audit table's columns"))?;
    if !columns.iter().any(|c| c == "decision_detail") {
        sqlx::query("ALTER TABLE audit ADD COLUMN decision_detail TEXT")
            .execute(pool)
            .await
            .map_err(|e| db_error(e, "add the audit table's decision_detail column"))?;
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

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_default()
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
