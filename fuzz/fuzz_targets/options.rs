//! Builds a command line for one of the programs' tables from arbitrary words and checks the
//! allowlist's promise: an option no table lists, put right after the program, never makes a
//! command a read; nothing panics; the class is the most severe reason's.

#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use toolkit_policy::{Class, CommandKind, ProgramTable, classify, program_tables};

/// Programs whose rules take no options (their words are printed or tested).
const NO_OPTIONS: &[&str] = &["echo", "test", "["];

fn tables() -> &'static [ProgramTable] {
    static TABLES: OnceLock<Vec<ProgramTable>> = OnceLock::new();
    TABLES.get_or_init(program_tables)
}

/// A word quoted for the shell.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fuzz_target!(|data: &[u8]| {
    common::parser_panics_are_caught();
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let tables = tables();
    let Some(table) = tables.get(usize::from(pick) % tables.len().max(1)) else { return };
    let words: Vec<String> = text.split_whitespace().take(16).map(quoted).collect();
    let line = format!("{} {}", table.name, words.join(" "));
    let v = classify(CommandKind::Shell, &line);
    let max = v.reasons.iter().map(|r| r.class).max().unwrap_or(Class::Read);
    assert_eq!(v.class, max, "the class is the most severe reason's: {line}");
    if NO_OPTIONS.contains(&table.name) || table.name.ends_with("dry-run") {
        return;
    }
    let with_unknown = format!("{} --zz-fuzz-option {}", table.name, words.join(" "));
    let v = classify(CommandKind::Shell, &with_unknown);
    assert_ne!(v.class, Class::Read, "an unknown option made a read: {with_unknown}");
});
