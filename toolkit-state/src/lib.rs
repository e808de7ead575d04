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
mod codec;
mod decision;
mod sessions;
mod sqlite;
mod status;
mod writer;

use std::path::Path;
use std::sync::Arc;

use toolkit_core::Result;

pub use approvals::{ApprovalRecord, ApprovalState, NewApproval};
pub use audit::{AuditFilter, AuditRecord, Outcome};
pub use backend::StateBackend;
pub use decision::{Decision, Refusal};
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
