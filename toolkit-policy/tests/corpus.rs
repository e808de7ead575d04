//! The classifiers against the corpus in `tests/corpus/`: every entry must get exactly its
//! expected class, and, as a hard invariant, no entry expected to write or to be dangerous may
//! come out `read`.

use std::path::Path;

use toolkit_policy::{Class, CommandKind, SqlDialect, classify};

struct Entry {
    line: usize,
    expected: Class,
    command: String,
}

fn load(file: &str) -> Vec<Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (class, command) = line.split_once('\t').unwrap_or_else(|| panic!("{file}:{}: no tab", i + 1));
        let expected: Class = class.parse().unwrap_or_else(|e| panic!("{file}:{}: {e}", i + 1));
        let json = command.len() > 1 && command.starts_with('"') && command.ends_with('"');
        let command = match json.then(|| serde_json::from_str::<String>(command)) {
            Some(Ok(decoded)) => decoded,
            _ => command.to_owned(),
        };
        out.push(Entry { line: i + 1, expected, command });
    }
    out
}

fn check(file: &str, kind: CommandKind) -> usize {
    let entries = load(file);
    let mut wrong = Vec::new();
    let mut unsafe_reads = Vec::new();
    for e in &entries {
        let v = classify(kind, &e.command);
        if v.class == Class::Read && e.expected > Class::Read && e.expected != Class::Interactive {
            unsafe_reads.push(format!("{file}:{}: `{}` is {} but was classified read", e.line, e.command, e.expected));
        }
        if v.class != e.expected {
            let why: Vec<String> = v.reasons.iter().map(ToString::to_string).collect();
            wrong.push(format!(
                "{file}:{}: `{}`: expected {}, got {}\n    {}",
                e.line,
                e.command,
                e.expected,
                v.class,
                why.join("\n    ")
            ));
        }
    }
    assert!(unsafe_reads.is_empty(), "write or dangerous commands classified read:\n{}", unsafe_reads.join("\n"));
    assert!(wrong.is_empty(), "{} of {} entries misclassified:\n{}", wrong.len(), entries.len(), wrong.join("\n"));
    entries.len()
}

#[test]
fn shell_commands() {
    check("shell.tsv", CommandKind::Shell);
}

#[test]
fn kubectl_commands() {
    check("kubectl.tsv", CommandKind::Kubectl);
}

#[test]
fn helm_commands() {
    check("helm.tsv", CommandKind::Shell);
}

#[test]
fn known_bypasses() {
    check("bypasses.tsv", CommandKind::Shell);
}

#[test]
fn sql_statements() {
    check("sql.tsv", CommandKind::Sql(SqlDialect::Postgres));
}

#[test]
fn the_corpus_is_large_enough() {
    let commands: usize = ["shell.tsv", "kubectl.tsv", "helm.tsv", "bypasses.tsv"].iter().map(|f| load(f).len()).sum();
    assert!(commands >= 300, "only {commands} commands in the corpus");
}

/// Every statement of the read-only SQL corpus is refused by the parser layer or has a
/// documented reason to reach the engine (see sql_writes.txt).
#[test]
fn sql_writes_are_not_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/sql_writes.txt");
    let text = std::fs::read_to_string(path).expect("read sql_writes.txt");
    let statements: Vec<String> =
        text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
    assert!(statements.len() >= 100, "only {} statements", statements.len());
    let passed: Vec<&String> =
        statements.iter().filter(|s| toolkit_policy::check_read_only(SqlDialect::Postgres, s).read_only).collect();
    // Statements the parser cannot tell from reads; the engine's read-only transaction refuses
    // them (checked against PostgreSQL in toolkit-runtime/tests/read_only_sql.rs).
    for s in &passed {
        assert!(s.contains("-- engine"), "the parser lets through a write not marked `-- engine`: {s}");
    }
}
