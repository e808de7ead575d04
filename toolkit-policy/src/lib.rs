//! Policy: what a call may do before it reaches a system.
//!
//! - [`classify`] puts a shell command, a kubectl command line or an SQL statement into a
//!   [`Class`] (`read` < `write` < `unknown` < `interactive` < `dangerous`) with a [`Reason`]
//!   for every part: shell text is parsed with `brush-parser` and every simple command in it
//!   is classified, also inside pipelines, lists, subshells, substitutions, here-documents,
//!   function bodies and behind wrappers (`sudo`, `xargs`, `sh -c`, `eval`, ...); SQL is
//!   parsed with `sqlparser` in the engine's dialect.
//! - [`check_read_only`] is the read-only SQL check: one statement that only reads. It is one
//!   layer of two: SQL tools with `readOnly: true` also run inside a read-only transaction or
//!   connection at the engine, so a statement the parser misjudges still cannot write.
//! - [`BlockedPatterns`] matches k13d-style blocked patterns against the parsed commands.
//! - [`decide()`] turns a verdict, approval settings and a tool's approval mode into allow,
//!   require approval or block.
//!
//! Everything here is pure: no I/O, and no input makes it panic.

pub mod decide;
pub mod helm;
pub mod kubectl;
pub mod patterns;
mod rules;
pub mod shell;
pub mod sql;
pub mod verdict;

pub use decide::{Action, ApprovalSettings, Decision, decide};
pub use patterns::{BlockedPatterns, Pattern};
pub use sql::{SqlDialect, SqlVerdict, check_read_only};
pub use verdict::{Class, Reason, Verdict};

/// What kind of text a call carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// A shell command line (`bash` tools).
    Shell,
    /// kubectl's arguments, or a command line starting with `kubectl` (`kubectl` tools).
    Kubectl,
    /// SQL in an engine's dialect.
    Sql(SqlDialect),
}

/// Classifies `text` as `kind`.
pub fn classify(kind: CommandKind, text: &str) -> Verdict {
    match kind {
        CommandKind::Shell => shell::classify(text),
        CommandKind::Kubectl => shell::classify_kubectl(text),
        CommandKind::Sql(dialect) => sql::classify(dialect, text),
    }
}
