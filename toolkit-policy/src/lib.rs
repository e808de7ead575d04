//! Policy: what a call may do before it reaches a system.
//!
//! Today this crate holds the read-only SQL check: statements are parsed with `sqlparser` in
//! the engine's dialect and only plain reads pass. It is one layer of two: SQL tools with
//! `readOnly: true` also run inside a read-only transaction or connection at the engine, so a
//! statement the parser misjudges still cannot write.

pub mod sql;

pub use sql::{SqlDialect, SqlVerdict, check_read_only};
