//! Classifies arbitrary input as shell, kubectl arguments, SQL and a blocked pattern: none of
//! it may panic, and the verdict must hold together (the class is the most severe reason's).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use toolkit_policy::{ApprovalSettings, BlockedPatterns, Class, CommandKind, SqlDialect, classify, decide};

fuzz_target!(|data: &[u8]| {
    common::parser_panics_are_caught();
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [CommandKind::Shell, CommandKind::Kubectl, CommandKind::Sql(SqlDialect::Postgres)] {
        let v = classify(kind, text);
        let max = v.reasons.iter().map(|r| r.class).max().unwrap_or(Class::Read);
        assert_eq!(v.class, max, "the class is the most severe reason's");
        let _ = decide(&v, &ApprovalSettings::default(), Default::default());
    }
    if let Ok(p) = BlockedPatterns::compile(&[text]) {
        let _ = p.matches(&classify(CommandKind::Shell, text));
    }
});
