//! A state shared by several processes: one PostgreSQL database.
//!
//! The schema is created by numbered migrations, recorded in `toolkit_state_migrations` and
//! applied in one transaction under an advisory lock, so that processes starting together do
//! not race. Times and JSON are kept as the same text as in SQLite. Counters are updated by
//! single `INSERT ... ON CONFLICT DO UPDATE` statements, a decision is one conditional `UPDATE`,
//! and audit records are group-committed by the writer task shared with SQLite.
//!
//! Every operation gives up within [`PostgresState::OPERATION_TIMEOUT`]; a server that cannot be
//! reached fails it with [`ErrorKind::Unreachable`] after [`PostgresState::ACQUIRE_TIMEOUT`], and
//! the pool connects again once the server is back. The URL (and its password) is held as a [`SecretString`]; messages
//! name the store by [`StateBackend::describe`], which leaves the password out.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use toolkit_core::model::{LastProbe, ToolPhase, ToolStatus};
use toolkit_core::secret::REDACTED;
use toolkit_core::{Error, ErrorKind, Result, SecretString, ToolRef};

use crate::StateBackend;
use crate::approvals::{self, ApprovalRecord, ApprovalState, NewApproval};
use crate::audit::{self, AuditFilter, AuditRecord, Values};
use crate::codec::{now, time_text};
use crate::sessions::{self, SessionRecord, SessionState};
use crate::status::{self, PROBE_COLUMNS, STATUS_COLUMNS};
use crate::writer::{self, Entry, Sink, Writer};

/// How long an operation waits for a connection (opening one included) before the store counts
/// as unreachable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an operation may take in all before it fails with [`ErrorKind::Timeout`].
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections one process keeps at most.
const MAX_CONNECTIONS: u32 = 8;

/// The advisory lock that serializes migrations (`toolkit_state` as a number).
const MIGRATION_LOCK: i64 = 0x746b_5f73_7461_7465;

/// The migrations, by version; a database records the versions applied to it.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, SCHEMA_V1),
    (2, "ALTER TABLE approvals ADD COLUMN IF NOT EXISTS call_hash TEXT"),
    (3, r#"ALTER TABLE sessions ADD COLUMN IF NOT EXISTS last_active_at TEXT COLLATE "C""#),
];

/// Times are text in the SQLite format, compared as text: `COLLATE "C"` keeps text order time
/// order whatever the database's collation.
const SCHEMA_V1: &str = r#"
CREATE TABLE tool_status (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT 'Pending',
    last_probe TEXT,
    invocation_count BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE probes (
    id BIGSERIAL PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    time TEXT COLLATE "C" NOT NULL,
    ok BOOLEAN NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    server_version TEXT,
    error_kind TEXT,
    error TEXT
);
CREATE INDEX probes_tool ON probes (namespace, name, id);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    time TEXT COLLATE "C" NOT NULL,
    caller TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    operation TEXT NOT NULL,
    arguments TEXT,
    decision TEXT NOT NULL,
    decision_detail TEXT,
    duration_ms DOUBLE PRECISION NOT NULL,
    outcome TEXT NOT NULL,
    error_kind TEXT,
    error TEXT
);
CREATE INDEX audit_tool ON audit (namespace, name, id);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    pid BIGINT,
    started_at TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    idle_timeout_secs BIGINT NOT NULL,
    state TEXT NOT NULL,
    ended_at TEXT COLLATE "C",
    end_reason TEXT
);
CREATE INDEX sessions_state ON sessions (state);
CREATE TABLE approvals (
    id BIGSERIAL PRIMARY KEY,
    time TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    caller TEXT NOT NULL,
    arguments TEXT NOT NULL,
    class TEXT NOT NULL,
    reasons TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT COLLATE "C",
    reason TEXT
);
CREATE INDEX approvals_state ON approvals (state, id);
"#;

/// Adds calls to a tool's counters: `$3` calls, `$4` of them failed, `$5` the last error.
const COUNT: &str = "INSERT INTO tool_status (namespace, name, invocation_count, error_count, last_error, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (namespace, name) DO UPDATE SET
       invocation_count = tool_status.invocation_count + EXCLUDED.invocation_count,
       error_count = tool_status.error_count + EXCLUDED.error_count,
       last_error = COALESCE(EXCLUDED.last_error, tool_status.last_error),
       updated_at = EXCLUDED.updated_at";

/// State kept in a PostgreSQL database that several gateways and CLIs may share; cheap to
/// clone.
#[derive(Clone)]
pub struct PostgresState {
    pool: PgPool,
    store: Arc<Store>,
    writer: Writer,
}

/// What errors say about the store, and what they must not.
struct Store {
    /// `postgres://user@host:port/db`.
    name: String,
    /// The URL's password, as written and decoded, to be kept out of every message.
    passwords: Vec<SecretString>,
}

impl Store {
    /// The error of an operation `what` that failed with `e`.
    fn fail(&self, e: sqlx::Error, what: &str) -> Error {
        let message = format!("{what} in {}", self.name);
        let error = match e {
            sqlx::Error::PoolTimedOut => Error::new(ErrorKind::Unreachable, message).with_source(format!(
                "no connection could be opened within {}s; is PostgreSQL up and reachable?",
                ACQUIRE_TIMEOUT.as_secs()
            )),
            e => Error::new(kind(&e), message).with_source(e),
        };
        self.redact(error)
    }

    /// The error of an operation `what` that did not finish in time.
    fn timed_out(&self, what: &str) -> Error {
        Error::new(ErrorKind::Timeout, format!("{what} in {}", self.name))
            .with_source(format!("no answer within {}s", OPERATION_TIMEOUT.as_secs()))
    }

    /// `e` with the password replaced, should a driver message ever quote it.
    fn redact(&self, e: Error) -> Error {
        if self.passwords.is_empty() {
            return e;
        }
        e.map_text(|text| self.passwords.iter().fold(text.to_owned(), |text, p| text.replace(p.expose(), REDACTED)))
    }

    /// Runs `op` (the operation `what`) within [`OPERATION_TIMEOUT`].
    async fn run<T>(&self, what: &str, op: impl Future<Output = sqlx::Result<T>>) -> Result<T> {
        match tokio::time::timeout(OPERATION_TIMEOUT, op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.fail(e, what)),
            Err(_) => Err(self.timed_out(what)),
        }
    }
}

/// The kind of a driver error: the server out of reach, credentials refused, a wrong URL or
/// database, contention, or else internal.
fn kind(e: &sqlx::Error) -> ErrorKind {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            ErrorKind::Unreachable
        }
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        sqlx::Error::Database(d) => match d.code().as_deref() {
            // connection exceptions, the server shutting down or starting
            Some(c) if c.starts_with("08") || c.starts_with("57P") => ErrorKind::Unreachable,
            // invalid authorization, invalid password
            Some(c) if c.starts_with("28") => ErrorKind::Auth,
            // no such database
            Some("3D000") => ErrorKind::Config,
            // deadlock, serialization failure, lock not available, statement timeout
            Some("40P01" | "40001" | "55P03" | "57014") => ErrorKind::Timeout,
            _ => ErrorKind::Internal,
        },
        _ => ErrorKind::Internal,
    }
}

impl std::fmt::Debug for PostgresState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresState").field("store", &self.store.name).finish_non_exhaustive()
    }
}

impl PostgresState {
    /// How long an operation waits for a connection (opening one included) before it fails
    /// with [`ErrorKind::Unreachable`].
    pub const ACQUIRE_TIMEOUT: Duration = ACQUIRE_TIMEOUT;

    /// How long an operation may take in all before it fails with [`ErrorKind::Timeout`].
    pub const OPERATION_TIMEOUT: Duration = OPERATION_TIMEOUT;

    /// Opens the state in the database at `url` (`postgres://USER:PASSWORD@HOST:PORT/DB`, with
    /// the query parameters of libpq URLs such as `sslmode`), bringing its schema up to date.
    pub async fn open(url: &SecretString) -> Result<Self> {
        let passwords = passwords(url.expose());
        let unnamed = Store { name: "the state store URL".to_owned(), passwords };
        let options = PgConnectOptions::from_str(url.expose()).map_err(|e| {
            unnamed.redact(
                Error::config("read the state store URL")
                    .with_source(e)
                    .with_context("hint", "write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
            )
        })?;
        let store = Arc::new(Store { name: name(&options), passwords: unnamed.passwords });
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options.application_name("toolkit"));
        store.run("open the state", migrate(&pool)).await?;
        let writer = Writer::start(PgSink { pool: pool.clone(), store: store.clone() });
        Ok(Self { pool, store, writer })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The store as messages name it: `postgres://user@host:port/db`.
fn name(options: &PgConnectOptions) -> String {
    let user = options.get_username();
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let database = options.get_database().unwrap_or(user);
    format!("postgres://{user}@{host}:{}/{database}", options.get_port())
}

/// The password of `url`, as written and percent-decoded; none when it has none.
fn passwords(url: &str) -> Vec<SecretString> {
    let Some(written) = url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned)) else {
        return Vec::new();
    };
    let decoded = percent_encoding::percent_decode_str(&written).decode_utf8_lossy().into_owned();
    [written, decoded].into_iter().filter(|p| !p.is_empty()).map(SecretString::new).collect()
}

/// Applies the migrations the database lacks, in one transaction under an advisory lock.
async fn migrate(pool: &PgPool) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
    // A statement without arguments runs as a simple query, so one may hold several.
    (&mut *tx)
        .execute("CREATE TABLE IF NOT EXISTS toolkit_state_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .await?;
    let applied: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM toolkit_state_migrations")
        .fetch_one(&mut *tx)
        .await?;
    // A database migrated by a newer version keeps working: its migrations only add.
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        (&mut *tx).execute(*sql).await?;
        sqlx::query("INSERT INTO toolkit_state_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Text PostgreSQL accepts: it refuses NUL characters, which would fail a whole batch.
fn pg_text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "\u{fffd}")) } else { Cow::Borrowed(s) }
}

/// Writes audit batches to PostgreSQL.
struct PgSink {
    pool: PgPool,
    store: Arc<Store>,
}

impl PgSink {
    async fn write_batch(&self, batch: &[Entry]) -> sqlx::Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let t = now();
        for c in writer::counts(batch) {
            sqlx::query(COUNT)
                .bind(&c.tool.namespace)
                .bind(&c.tool.name)
                .bind(c.calls)
                .bind(c.errors)
                .bind(c.last_error.map(pg_text))
                .bind(&t)
                .execute(&mut *tx)
                .await?;
        }
        let mut ids = Vec::with_capacity(batch.len());
        for entry in batch {
            let v = Values::of(&entry.record);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO audit (time, caller, namespace, name, operation, arguments, decision, decision_detail, duration_ms, outcome, error_kind, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(v.time)
            .bind(pg_text(v.caller))
            .bind(pg_text(v.namespace))
            .bind(pg_text(v.name))
            .bind(pg_text(v.operation))
            .bind(v.arguments)
            .bind(pg_text(&v.decision))
            .bind(v.decision_detail)
            .bind(v.duration_ms)
            .bind(v.outcome)
            .bind(v.error_kind.map(pg_text))
            .bind(v.error.map(pg_text))
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }
}

impl Sink for PgSink {
    async fn write(&self, batch: &[Entry]) -> Result<Vec<i64>> {
        self.store.run("write audit records", self.write_batch(batch)).await
    }
}

#[async_trait]
impl StateBackend for PostgresState {
    fn describe(&self) -> String {
        self.store.name.clone()
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<i64> {
        self.writer.submit(record.clone(), false).await
    }

    async fn record_call_audit(&self, record: &AuditRecord) -> Result<i64> {
        self.writer.submit(record.clone(), true).await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let (sql, params) = filter.select(|n| format!("${n}"));
        let rows = self
            .store
            .run("read audit records", async {
                let mut query = sqlx::query(&sql);
                for param in params {
                    query = match param {
                        audit::Param::Text(text) => query.bind(text),
                        audit::Param::Int(n) => query.bind(n),
                    };
                }
                query.fetch_all(&self.pool).await
            })
            .await?;
        Ok(rows.iter().map(audit::from_row).collect())
    }

    async fn request_approval(&self, new: &NewApproval<'_>) -> Result<i64> {
        let query = sqlx::query_scalar(
            "INSERT INTO approvals (time, expires_at, namespace, name, caller, arguments, class, reasons, state, call_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) RETURNING id",
        )
        .bind(now())
        .bind(time_text(new.expires_at))
        .bind(&new.tool.namespace)
        .bind(&new.tool.name)
        .bind(new.caller)
        .bind(new.arguments.to_string())
        .bind(new.class)
        .bind(approvals::reasons_text(new.reasons))
        .bind(new.call_hash);
        self.store.run("record approval request", query.fetch_one(&self.pool)).await
    }

    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>> {
        let sql = format!("SELECT {} FROM approvals WHERE id = $1", approvals::COLUMNS);
        let row =
            self.store.run("read approval request", sqlx::query(&sql).bind(id).fetch_optional(&self.pool)).await?;
        Ok(row.as_ref().map(approvals::from_row))
    }

    async fn approvals(&self, all: bool) -> Result<Vec<ApprovalRecord>> {
        let columns = approvals::COLUMNS;
        let query = if all {
            format!("SELECT {columns} FROM approvals ORDER BY id DESC LIMIT 500")
        } else {
            format!("SELECT {columns} FROM approvals WHERE state = 'pending' AND expires_at > $1 ORDER BY id")
        };
        let mut query = sqlx::query(&query);
        if !all {
            query = query.bind(now());
        }
        let rows = self.store.run("read approval requests", query.fetch_all(&self.pool)).await?;
        Ok(rows.iter().map(approvals::from_row).collect())
    }

    async fn decide_approval(&self, id: i64, approve: bool, by: &str, reason: Option<&str>) -> Result<ApprovalRecord> {
        let state = if approve { ApprovalState::Approved } else { ApprovalState::Rejected };
        let sql = format!(
            "UPDATE approvals SET state = $1, decided_by = $2, decided_at = $3, reason = $4
             WHERE id = $5 AND state = 'pending' AND expires_at > $3 AND caller <> $2
             RETURNING {}",
            approvals::COLUMNS
        );
        let query = sqlx::query(&sql).bind(state.as_str()).bind(by).bind(now()).bind(reason).bind(id);
        let decided = self.store.run("record approval decision", query.fetch_optional(&self.pool)).await?;
        if let Some(row) = decided {
            return Ok(approvals::from_row(&row));
        }
        let current = self.approval(id).await?.ok_or_else(|| approvals::missing("decide", id))?;
        Err(approvals::refusal(&current, by))
    }

    async fn expire_approval(&self, id: i64) -> Result<ApprovalRecord> {
        let query =
            sqlx::query("UPDATE approvals SET state = 'expired', decided_at = $1 WHERE id = $2 AND state = 'pending'")
                .bind(now())
                .bind(id);
        self.store.run("expire approval request", query.execute(&self.pool)).await?;
        self.approval(id).await?.ok_or_else(|| approvals::missing("expire", id))
    }

    async fn create_session(
        &self,
        id: &str,
        tool: &ToolRef,
        kind: &str,
        pid: u32,
        idle_timeout_secs: u64,
    ) -> Result<()> {
        let t = now();
        let query = sqlx::query(
            "INSERT INTO sessions (id, namespace, name, kind, pid, started_at, last_seen_at, idle_timeout_secs, state)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 'active')",
        )
        .bind(id)
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(kind)
        .bind(i64::from(pid))
        .bind(&t)
        .bind(i64::try_from(idle_timeout_secs).unwrap_or(i64::MAX));
        self.store.run("record session", query.execute(&self.pool)).await?;
        Ok(())
    }

    async fn heartbeat(
        &self,
        id: &str,
        alive: bool,
        last_active: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<SessionState> {
        if alive {
            let query = sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, last_active_at = COALESCE($2, last_active_at)
                 WHERE id = $3 AND state = 'active'",
            )
            .bind(now())
            .bind(last_active.map(time_text))
            .bind(id);
            self.store.run("record session heartbeat", query.execute(&self.pool)).await?;
        }
        let query = sqlx::query_scalar::<_, String>("SELECT state FROM sessions WHERE id = $1").bind(id);
        let state = self.store.run("read session", query.fetch_optional(&self.pool)).await?;
        Ok(match state.as_deref() {
            Some("active") => SessionState::Active,
            _ => SessionState::Ended,
        })
    }

    async fn end_session(&self, id: &str, reason: &str) -> Result<bool> {
        let query = sqlx::query(
            "UPDATE sessions SET state = 'ended', ended_at = $1, end_reason = $2 WHERE id = $3 AND state = 'active'",
        )
        .bind(now())
        .bind(reason)
        .bind(id);
        Ok(self.store.run("end session", query.execute(&self.pool)).await?.rows_affected() > 0)
    }

    async fn end_tool_sessions(&self, tool: &ToolRef, reason: &str) -> Result<u64> {
        let query = sqlx::query(
            "UPDATE sessions SET state = 'ended', ended_at = $1, end_reason = $2
             WHERE namespace = $3 AND name = $4 AND state = 'active'",
        )
        .bind(now())
        .bind(reason)
        .bind(&tool.namespace)
        .bind(&tool.name);
        Ok(self.store.run("end sessions", query.execute(&self.pool)).await?.rows_affected())
    }

    async fn sessions(&self, all: bool) -> Result<Vec<SessionRecord>> {
        let columns = sessions::COLUMNS;
        let sql = if all {
            format!("SELECT {columns} FROM sessions ORDER BY started_at DESC LIMIT 200")
        } else {
            format!("SELECT {columns} FROM sessions WHERE state = 'active' ORDER BY started_at DESC")
        };
        let rows = self.store.run("list sessions", sqlx::query(&sql).fetch_all(&self.pool)).await?;
        Ok(rows.iter().map(sessions::from_row).collect())
    }

    async fn record_probe(&self, tool: &ToolRef, probe: &LastProbe, phase: ToolPhase) -> Result<()> {
        self.store
            .run("record probe", async {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO probes (namespace, name, time, ok, latency_ms, server_version, error_kind, error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&tool.namespace)
                .bind(&tool.name)
                .bind(status::probe_time(probe))
                .bind(probe.ok)
                .bind(probe.latency_ms)
                .bind(probe.server_version.as_deref().map(pg_text))
                .bind(probe.error_kind.as_deref().map(pg_text))
                .bind(probe.error.as_deref().map(pg_text))
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO tool_status (namespace, name, phase, last_probe, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (namespace, name) DO UPDATE SET phase = EXCLUDED.phase,
                     last_probe = EXCLUDED.last_probe, updated_at = EXCLUDED.updated_at",
                )
                .bind(&tool.namespace)
                .bind(&tool.name)
                .bind(phase.as_str())
                .bind(status::probe_json(probe))
                .bind(now())
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            })
            .await
    }

    async fn set_phase(&self, tool: &ToolRef, phase: ToolPhase) -> Result<()> {
        let query = sqlx::query(
            "INSERT INTO tool_status (namespace, name, phase, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, name) DO UPDATE SET phase = EXCLUDED.phase, updated_at = EXCLUDED.updated_at",
        )
        .bind(&tool.namespace)
        .bind(&tool.name)
        .bind(phase.as_str())
        .bind(now());
        self.store.run("set tool phase", query.execute(&self.pool)).await?;
        Ok(())
    }

    async fn record_call(&self, tool: &ToolRef, error: Option<&str>) -> Result<()> {
        let query = sqlx::query(COUNT)
            .bind(&tool.namespace)
            .bind(&tool.name)
            .bind(1_i64)
            .bind(i64::from(error.is_some()))
            .bind(error.map(pg_text))
            .bind(now());
        self.store.run("count call", query.execute(&self.pool)).await?;
        Ok(())
    }

    async fn statuses(&self) -> Result<BTreeMap<ToolRef, ToolStatus>> {
        let sql = format!("SELECT {STATUS_COLUMNS} FROM tool_status");
        let rows = self.store.run("read tool status", sqlx::query(&sql).fetch_all(&self.pool)).await?;
        Ok(rows.iter().map(status::status_from_row).collect())
    }

    async fn status(&self, tool: &ToolRef) -> Result<Option<ToolStatus>> {
        let sql = format!("SELECT {STATUS_COLUMNS} FROM tool_status WHERE namespace = $1 AND name = $2");
        let query = sqlx::query(&sql).bind(&tool.namespace).bind(&tool.name);
        let row = self.store.run("read tool status", query.fetch_optional(&self.pool)).await?;
        Ok(row.as_ref().map(|row| status::status_from_row(row).1))
    }

    async fn probe_history(&self, tool: &ToolRef, limit: u32) -> Result<Vec<LastProbe>> {
        let sql =
            format!("SELECT {PROBE_COLUMNS} FROM probes WHERE namespace = $1 AND name = $2 ORDER BY id DESC LIMIT $3");
        let query = sqlx::query(&sql).bind(&tool.namespace).bind(&tool.name).bind(i64::from(limit));
        let rows = self.store.run("read probe history", query.fetch_all(&self.pool)).await?;
        Ok(rows.iter().map(status::probe_from_row).collect())
    }

    async fn close(&self) {
        PostgresState::close(self).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_named_without_its_password() {
        let url = "postgres://app:p%40ss%2Fw0rd@db.example:6543/toolkit?sslmode=require";
        let options = PgConnectOptions::from_str(url).unwrap();
        assert_eq!(name(&options), "postgres://app@db.example:6543/toolkit");

        let found: Vec<_> = passwords(url).iter().map(|p| p.expose().to_owned()).collect();
        assert_eq!(found, ["p%40ss%2Fw0rd", "p@ss/w0rd"]);
        assert!(passwords("postgres://app@db/toolkit").is_empty());
        let store = Store { name: name(&options), passwords: passwords(url) };
        let e = store.redact(Error::internal("failed for p@ss/w0rd").with_context("url", url));
        assert!(!e.to_string().contains("w0rd"), "{e}");
    }

    #[test]
    fn driver_errors_are_classified() {
        let store = Store { name: "postgres://app@db:5432/toolkit".into(), passwords: Vec::new() };
        let e = store.fail(sqlx::Error::PoolTimedOut, "count call");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.to_string().starts_with("count call in postgres://app@db:5432/toolkit: "), "{e}");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(kind(&sqlx::Error::Io(refused)), ErrorKind::Unreachable);
        assert_eq!(kind(&sqlx::Error::PoolClosed), ErrorKind::Unreachable);
        assert_eq!(kind(&sqlx::Error::RowNotFound), ErrorKind::Internal);
        assert_eq!(store.timed_out("read audit records").kind(), ErrorKind::Timeout);
    }

    #[test]
    fn text_loses_only_its_nul_characters() {
        assert!(matches!(pg_text("plain"), Cow::Borrowed("plain")));
        assert_eq!(pg_text("a\0b"), "a\u{fffd}b");
    }
}
