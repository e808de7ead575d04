//! State: tool status and counters, probe history, audit records, sessions and pending
//! approvals, behind the [`StateBackend`] trait. [`StateStore`] is the cheap-to-clone handle the
//! runtime holds. [`StateStore::open_location`] opens a state by where it is: a
//! `postgres://` or `postgresql://` URL gives [`PostgresState`], a database that several
//! gateways and CLIs on several machines can share; anything else is a directory, and
//! [`StateStore::open`] gives the local-mode backend there, [`SqliteState`]: one SQLite
//! database. [`StateStore::new`] takes any other backend.
//!
//! With SQLite, several CLI processes and a gateway may use the same directory at once: the database runs in
//! WAL mode with a busy timeout, counters are updated with single atomic statements, and audit
//! records are committed with `synchronous = FULL` before a call's reply is returned. Concurrent
//! calls share commits: one writer task gathers the records that arrive while a commit is under
//! way and writes them in the next transaction, so many calls cost one `fsync`.
//!
//! With PostgreSQL (the `postgres` feature, on by default), the schema is created by numbered
//! migrations applied under an advisory lock, counters are updated by single atomic statements,
//! audit records are group-committed by the same writer task, and a decision on an approval is
//! one conditional `UPDATE`, so that of two processes deciding at once one wins. Records read
//! back as they do from SQLite. When the server cannot be reached, each operation fails with
//! [`ErrorKind::Unreachable`](toolkit_core::ErrorKind::Unreachable) within seconds, and works
//! again once it is back.
//!
//! Nothing here holds a secret value but a PostgreSQL URL's password, kept in a
//! [`SecretString`](toolkit_core::SecretString) and named in no message: callers hand over
//! arguments and errors already redacted.

mod approvals;
mod audit;
mod backend;
mod codec;
mod decision;
#[cfg(feature = "postgres")]
mod postgres;
mod sessions;
mod sqlite;
mod status;
mod writer;

use std::path::Path;
use std::sync::Arc;

use toolkit_core::Result;

pub use approvals::{ApprovalRecord, ApprovalState, NewApproval, call_hash};
pub use audit::{AuditFilter, AuditRecord, Outcome};
pub use backend::StateBackend;
pub use decision::{Decision, Refusal};
#[cfg(feature = "postgres")]
pub use postgres::PostgresState;
pub use sessions::{SessionRecord, SessionState};
pub(crate) use sqlite::db_error;
pub use sqlite::{DB_FILE, SqliteState};

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

    /// The state a `--state` flag names: a `postgres://` URL, else a directory (kept exactly,
    /// even when it is not UTF-8).
    pub async fn open_path(location: &Path) -> Result<Self> {
        match location.to_str() {
            Some(text) if is_postgres_url(text) => Self::open_location(text).await,
            _ => Self::open(location).await,
        }
    }

    /// The state at `location`: a `postgres://` or `postgresql://` URL opens [`PostgresState`]
    /// (an error without the `postgres` feature), anything else is a directory for
    /// [`StateStore::open`].
    pub async fn open_location(location: &str) -> Result<Self> {
        if !is_postgres_url(location) {
            return Self::open(Path::new(location)).await;
        }
        #[cfg(feature = "postgres")]
        {
            let url = toolkit_core::SecretString::new(location);
            Ok(Self::new(PostgresState::open(&url).await?))
        }
        #[cfg(not(feature = "postgres"))]
        Err(toolkit_core::Error::unsupported(
            "open the state store: this build has no PostgreSQL support (the `postgres` feature of toolkit-state)",
        ))
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

/// Whether a state location is a PostgreSQL URL rather than a directory.
pub fn is_postgres_url(location: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| location.get(..scheme.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_directories() {
        for url in ["postgres://u@h/db", "postgresql://h", "POSTGRES://h"] {
            assert!(is_postgres_url(url), "{url}");
        }
        for dir in ["/var/lib/toolkit", "postgres", "./postgres:/x", "sqlite:/x", ""] {
            assert!(!is_postgres_url(dir), "{dir}");
        }
    }

    #[tokio::test]
    async fn a_location_that_is_no_url_is_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open_location(&dir.path().display().to_string()).await.unwrap();
        assert_eq!(state.describe(), format!("sqlite:{}", dir.path().join(DB_FILE).display()));
        state.close().await;
    }
}
