//! Policy: what a call may do before it reaches a system.
//!
//! - [`classify`] puts a shell command, a kubectl command line or an SQL statement into a
//!   [`Class`] (`read` < `sensitive` < `write` < `unknown` < `interactive` < `dangerous`) with
//!   a [`Reason`] for every part: shell text is parsed with `brush-parser` and every simple
//!   command in it is classified, also inside pipelines, lists, subshells, substitutions,
//!   here-documents, function bodies and behind wrappers (`sudo`, `xargs`, `sh -c`, `eval`,
//!   ...); SQL is parsed with `sqlparser` in the engine's dialect. It is an allowlist: a
//!   command is `read` only when its program has a table ([`program_tables`]) and every option
//!   it carries is on it; an SQL statement only when every function it calls is known to be
//!   free of side effects in that engine.
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
pub use rules::UNKNOWN_OPTION_RULE;
pub use rules::options::ProgramTable;
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

/// The programs' tables, as data: for every program (or subcommand) that may be a read, the
/// options known to be safe, the options that raise the class and what they do. A command is
/// `read` only when its program is here and every option it carries is known.
pub fn program_tables() -> Vec<ProgramTable> {
    rules::options::program_tables()
}

/// An option a command carries that is not on its program's table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnknownOption {
    /// The program (or program and subcommand: `git log`).
    pub program: String,
    /// The option as written.
    pub option: String,
    /// The part of the input it is in.
    pub part: String,
    /// Why it is not known: `not on the list`, `ambiguous` (it abbreviates several options),
    /// `computed` (only known at run time) or `bad value`.
    pub why: &'static str,
}

/// The options of a verdict that made it `unknown` because no table lists them: what
/// `toolkit policy check` names when it explains an `unknown`.
pub fn unknown_options(verdict: &Verdict) -> Vec<UnknownOption> {
    verdict
        .reasons
        .iter()
        .filter_map(|r| {
            let why = match r.rule {
                UNKNOWN_OPTION_RULE => "not on the list",
                "shell.option.ambiguous" => "ambiguous",
                "shell.option.computed" => "computed",
                "shell.option.value" => "bad value",
                _ => return None,
            };
            // "`PROGRAM`: ... `OPTION` ..."
            let rest = r.message.strip_prefix('`')?;
            let (program, rest) = rest.split_once("`: ")?;
            let (_, rest) = rest.split_once('`')?;
            let (option, _) = rest.split_once('`')?;
            Some(UnknownOption { program: program.to_owned(), option: option.to_owned(), part: r.part.clone(), why })
        })
        .collect()
}

/// Classifies `text` as `kind`.
pub fn classify(kind: CommandKind, text: &str) -> Verdict {
    match kind {
        CommandKind::Shell => shell::classify(text),
        CommandKind::Kubectl => shell::classify_kubectl(text),
        CommandKind::Sql(dialect) => sql::classify(dialect, text),
    }
}
