//! The classifiers against the corpus in `tests/corpus/`: every entry must get exactly its
//! expected class, and, as a hard invariant, no entry expected to be sensitive, write, unknown,
//! interactive or dangerous may come out `read`. `reads.txt` measures over-blocking: the share
//! of plain reads that are not classified read.

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
        if v.class == Class::Read && e.expected > Class::Read {
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
    assert!(unsafe_reads.is_empty(), "commands that are not reads classified read:\n{}", unsafe_reads.join("\n"));
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
fn adversarial_commands() {
    let n = check("adversarial.tsv", CommandKind::Shell);
    assert!(n >= 300, "only {n} adversarial commands");
}

/// Plain reads must stay reads: the share that does not is the over-blocking rate.
#[test]
fn plain_reads_stay_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/reads.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let commands: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert!(commands.len() >= 250, "only {} plain reads", commands.len());
    let blocked: Vec<String> = commands
        .iter()
        .filter_map(|c| {
            let v = classify(CommandKind::Shell, c);
            (v.class != Class::Read).then(|| {
                let why: Vec<String> =
                    v.reasons.iter().filter(|r| r.class > Class::Read).map(ToString::to_string).collect();
                format!("{} `{c}`: {}", v.class, why.join("; "))
            })
        })
        .collect();
    let rate = blocked.len() as f64 * 100.0 / commands.len() as f64;
    eprintln!(
        "over-blocking: {} of {} plain reads are not classified read ({rate:.1}%)",
        blocked.len(),
        commands.len()
    );
    for b in &blocked {
        eprintln!("    {b}");
    }
    assert!(rate <= 3.0, "over-blocking {rate:.1}% is above 3%:\n{}", blocked.join("\n"));
}

#[test]
fn sql_statements() {
    check("sql.tsv", CommandKind::Sql(SqlDialect::Postgres));
}

#[test]
fn the_corpus_is_large_enough() {
    let commands: usize =
        ["shell.tsv", "kubectl.tsv", "helm.tsv", "bypasses.tsv", "adversarial.tsv"].iter().map(|f| load(f).len()).sum();
    assert!(commands >= 1000, "only {commands} commands in the corpus");
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
    // A statement the parser could not tell from a read would be marked `-- engine` (the
    // engine's read-only transaction refuses it; toolkit-connectors/tests/pipeline_read_only_sql.rs).
    for s in &passed {
        assert!(s.contains("-- engine"), "the parser lets through a write not marked `-- engine`: {s}");
    }
}
