//! Options as the programs themselves parse them, against a program's table of known options.
//!
//! A table ([`Table`]) names every option a program is known to take safely (only changing
//! what is read or how it is shown), the options that raise the class (write a file, run a
//! program, read secrets), and how the program parses its command line ([`Style`]): GNU
//! `getopt_long` programs take unambiguous abbreviations of long options (`--in-pl` is
//! `--in-place`) and options after operands; cobra/pflag programs (kubectl, helm) take long
//! options only spelled in full; POSIX programs stop at the first operand. Short options may be
//! grouped (`-la`), a value may be attached (`-n5`, `--lines=5`) or follow (`-n 5`), `--` ends
//! the options, and a repeated option counts as often as it is given (the caller asks for the
//! last value, which is the one that wins).
//!
//! An option that is not in the table is *unknown*: the scan reports it and the command is not
//! a read, whatever the program.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::shell::words::{Arg, DYN};
use crate::verdict::Class;

/// How an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Takes {
    /// A flag.
    No,
    /// A value, attached (`-n5`, `--lines=5`) or as the next word.
    Value,
    /// An optional value, only when attached (`--color=always`, `-i.bak`).
    Optional,
    /// Two values as the next two words (`jq --arg NAME VALUE`).
    Pair,
}

/// What an option does beyond reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Only changes what is read or how it is shown.
    Safe,
    /// Its value is a file the program reads (checked against the sensitive paths; a network
    /// program sends what it reads).
    ReadsFile,
    /// Its value is a file the program writes (as a redirection: `/dev/null` changes nothing,
    /// a system path is dangerous).
    WritesFile,
    /// Its value names a program the program runs.
    RunsProgram,
    /// Its value is a command line a shell runs.
    RunsShell,
    /// The option itself sets the class, for this reason.
    Raise(Class, &'static str),
    /// The program's own rule looks at the value (`curl -d @file`, `git -c key=value`).
    Custom,
}

/// How a program reads its command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// GNU `getopt_long`/argp (and git's parse-options): grouped short options, unambiguous
    /// abbreviations of long options, options anywhere before `--`.
    Gnu,
    /// GNU `getopt_long` with `+`: as [`Style::Gnu`], but options end at the first operand
    /// (wrappers: `env`, `nice`, `timeout`, `xargs`).
    GnuStop,
    /// cobra/pflag, clap and the like: grouped short options, long options spelled in full,
    /// options anywhere before `--`.
    Exact,
    /// POSIX `getopt`: grouped short options, no long options, options end at the first
    /// operand.
    Posix,
    /// Every option is a whole word, also with one dash (`find -name`, `xxd -ps`).
    Words,
}

/// What a program's operands are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operands {
    /// Files the program reads (checked against the sensitive paths).
    Files,
    /// Files or directories whose names or metadata the program shows, not their contents.
    Paths,
    /// A pattern or program text first, then files (`grep PATTERN FILE...`).
    FirstThenFiles,
    /// Text that is printed, compared or looked up.
    Text,
    /// Hosts or URLs: text only known at run time in them leaves the machine.
    Network,
}

/// A program's table, as data: every option it is known to take safely, the options that
/// raise the class, its operands and how it parses its command line.
///
/// Option lists are words separated by spaces: `-x` and `--name` are flags, `-x=` and
/// `--name=` take a value, `-x?=` and `--name?=` take an optional attached value, `--name==`
/// takes two values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table {
    /// The program's name.
    pub name: &'static str,
    /// Options that only change what is read or how it is shown.
    pub safe: &'static str,
    /// Options that raise the class: option lists with their effect.
    pub raise: &'static [(&'static str, Effect)],
    /// What the operands are.
    pub operands: Operands,
    /// How the program parses its command line.
    pub style: Style,
    /// `-5` is an option (a count: `head -5`, `grep -3`).
    pub numbers: bool,
}

impl Table {
    /// A table of safe options, without options that raise the class.
    pub const fn new(name: &'static str, style: Style, operands: Operands, safe: &'static str) -> Self {
        Table { name, safe, raise: &[], operands, style, numbers: false }
    }

    /// The same table with options that raise the class.
    pub const fn raise(mut self, raise: &'static [(&'static str, Effect)]) -> Self {
        self.raise = raise;
        self
    }

    /// The same table, taking `-NUM` as an option.
    pub const fn numbers(mut self) -> Self {
        self.numbers = true;
        self
    }
}

/// One option of a compiled table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub takes: Takes,
    pub effect: Effect,
}

/// A table ready for scanning.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub table: Table,
    options: HashMap<&'static str, Spec>,
    /// Long option names, sorted, for abbreviations.
    long: Vec<&'static str>,
}

impl Compiled {
    /// Compiles a table; the error names a word that is not an option or an option given twice.
    pub fn new(table: Table) -> Result<Self, String> {
        Self::merged(table, &[])
    }

    /// Compiles a table with the options of others (a command's own options with the global
    /// ones: `kubectl get` with `kubectl`'s); an option in two of them is an error.
    pub fn merged(table: Table, others: &[Table]) -> Result<Self, String> {
        let mut options = HashMap::new();
        let lists = std::iter::once(&table)
            .chain(others)
            .flat_map(|t| std::iter::once((t.safe, Effect::Safe)).chain(t.raise.iter().copied()));
        for (list, effect) in lists {
            for word in list.split_whitespace() {
                let (name, takes) = if let Some(n) = word.strip_suffix("?=") {
                    (n, Takes::Optional)
                } else if let Some(n) = word.strip_suffix("==") {
                    (n, Takes::Pair)
                } else if let Some(n) = word.strip_suffix('=') {
                    (n, Takes::Value)
                } else {
                    (word, Takes::No)
                };
                let valid_short = name.len() == 2 && name.starts_with('-') && name != "--";
                let valid_long = name.len() > 2 && name.starts_with("--");
                let valid_word = table.style == Style::Words && name.len() > 1 && name.starts_with(['-', '+']);
                if !(valid_short || valid_long || valid_word) {
                    return Err(format!("{}: `{word}` is not an option", table.name));
                }
                if options.insert(name, Spec { takes, effect }).is_some() {
                    return Err(format!("{}: `{name}` is listed twice", table.name));
                }
            }
        }
        let mut long: Vec<&'static str> = options.keys().copied().filter(|n| n.starts_with("--")).collect();
        long.sort_unstable();
        Ok(Compiled { table, options, long })
    }

    /// Looks an option up by its exact name.
    pub fn get(&self, name: &str) -> Option<Spec> {
        self.options.get(name).copied()
    }

    /// Every option the table names, with its spec.
    pub fn options(&self) -> impl Iterator<Item = (&'static str, Spec)> + '_ {
        self.options.iter().map(|(n, s)| (*n, *s))
    }

    /// Whether some option of the table writes, runs code or raises the class to write or
    /// above: a word only known at run time may then be such an option.
    pub fn has_effects(&self) -> bool {
        self.options.values().any(|s| match s.effect {
            Effect::Safe | Effect::ReadsFile => false,
            Effect::Custom => true,
            Effect::Raise(c, _) => c >= Class::Write,
            Effect::WritesFile | Effect::RunsProgram | Effect::RunsShell => true,
        })
    }

    /// Resolves a long option name (without `=value`) as the program does: exactly, or (GNU
    /// style) as the one long option it abbreviates.
    fn resolve_long(&self, name: &str) -> Resolved {
        if let Some(spec) = self.options.get(name) {
            return Resolved::One(name.to_owned(), *spec);
        }
        if !matches!(self.table.style, Style::Gnu | Style::GnuStop) {
            return Resolved::None;
        }
        let start = self.long.partition_point(|n| *n < name);
        let hits: Vec<&'static str> = self.long[start..].iter().copied().take_while(|n| n.starts_with(name)).collect();
        match hits.as_slice() {
            [] => Resolved::None,
            [one] => Resolved::One((*one).to_owned(), self.options[one]),
            many => Resolved::Ambiguous(many.iter().map(|s| (*s).to_owned()).collect()),
        }
    }
}

enum Resolved {
    One(String, Spec),
    Ambiguous(Vec<String>),
    None,
}

/// One option given on the command line.
#[derive(Clone, Debug)]
pub(crate) struct Given {
    /// As written (`--in-pl`, `-n`).
    pub spelled: String,
    /// The option it is (`--in-place`).
    pub name: String,
    pub spec: Spec,
    /// Its value, if it took one.
    pub value: Option<Arg>,
    /// The second value of a [`Takes::Pair`] option.
    pub value2: Option<Arg>,
}

/// Something about the command line that keeps it from being a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// An option that is not in the table.
    Unknown(String),
    /// An abbreviation of several options.
    Ambiguous(String, Vec<String>),
    /// A value given to an option that takes none, or a value missing.
    BadValue(String),
    /// A word only known at run time where an option may be.
    Computed(String),
}

/// A scanned command line.
#[derive(Debug, Default)]
pub(crate) struct Scan<'a> {
    pub given: Vec<Given>,
    pub operands: Vec<&'a Arg>,
    pub problems: Vec<Problem>,
}

impl Scan<'_> {
    /// Whether any of `names` was given.
    pub fn has(&self, names: &[&str]) -> bool {
        self.given.iter().any(|g| names.contains(&g.name.as_str()))
    }

    /// The value of the last of `names` given (the last one wins), if it had one.
    pub fn last(&self, names: &[&str]) -> Option<&Given> {
        self.given.iter().rev().find(|g| names.contains(&g.name.as_str()))
    }

    /// The values of every one of `names` given, in order.
    pub fn values<'s>(&'s self, names: &'s [&'s str]) -> impl Iterator<Item = &'s Arg> + 's {
        self.given.iter().filter(move |g| names.contains(&g.name.as_str())).filter_map(|g| g.value.as_ref())
    }
}

/// One program's table as the public API shows it (see [`crate::program_tables`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramTable {
    /// The program, or program and subcommand (`git log`, `kubectl get`).
    pub name: &'static str,
    /// Options known to only change what is read or how it is shown (`-n=` takes a value).
    pub safe: Vec<String>,
    /// Options that raise the class, with what they do (`writes the file it names`, ...).
    pub raising: Vec<(String, String)>,
    /// What the operands are: `files`, `paths`, `pattern then files`, `text` or `network`.
    pub operands: &'static str,
    /// How it parses its command line: `gnu`, `gnu (stops at the first operand)`, `exact`,
    /// `posix` or `words`.
    pub style: &'static str,
}

/// Every program table, in the order they are defined.
pub(crate) fn program_tables() -> Vec<ProgramTable> {
    let spelled = |name: &str, spec: Spec| match spec.takes {
        Takes::No => name.to_owned(),
        Takes::Value => format!("{name}="),
        Takes::Optional => format!("{name}[=]"),
        Takes::Pair => format!("{name} A B"),
    };
    super::tables::ALL
        .iter()
        .flat_map(|g| g.iter())
        .filter_map(|t| Compiled::new(*t).ok())
        .map(|c| {
            let mut safe = Vec::new();
            let mut raising = Vec::new();
            let mut names: Vec<&'static str> = c.options.keys().copied().collect();
            names.sort_unstable();
            for n in names {
                let spec = c.options[n];
                let what = match spec.effect {
                    Effect::Safe => {
                        safe.push(spelled(n, spec));
                        continue;
                    }
                    Effect::ReadsFile => {
                        "reads the file it names (sensitive when the file holds secrets, or when sent)".to_owned()
                    }
                    Effect::WritesFile => "writes the file it names".to_owned(),
                    Effect::RunsProgram => "runs the program it names (unknown)".to_owned(),
                    Effect::RunsShell => "runs a command line (unknown; the command is classified too)".to_owned(),
                    Effect::Raise(class, why) => format!("{class}: {why}"),
                    Effect::Custom => "checked by the program's rule".to_owned(),
                };
                raising.push((spelled(n, spec), what));
            }
            ProgramTable {
                name: c.table.name,
                safe,
                raising,
                operands: match c.table.operands {
                    Operands::Files => "files",
                    Operands::Paths => "paths",
                    Operands::FirstThenFiles => "pattern then files",
                    Operands::Text => "text",
                    Operands::Network => "network",
                },
                style: match c.table.style {
                    Style::Gnu => "gnu",
                    Style::GnuStop => "gnu (stops at the first operand)",
                    Style::Exact => "exact",
                    Style::Posix => "posix",
                    Style::Words => "words",
                },
            }
        })
        .collect()
}

/// The compiled table of `name`, from the programs' tables.
pub(crate) fn table(name: &str) -> Option<&'static Compiled> {
    static TABLES: OnceLock<HashMap<&'static str, Compiled>> = OnceLock::new();
    TABLES
        .get_or_init(|| {
            super::tables::ALL
                .iter()
                .flat_map(|group| group.iter())
                .filter_map(|t| Compiled::new(*t).ok().map(|c| (t.name, c)))
                .collect()
        })
        .get(name)
}

/// Scans `args` (the words after the program name) with a compiled table.
pub(crate) fn scan<'a>(t: &Compiled, args: &'a [Arg]) -> Scan<'a> {
    let mut s = Scan::default();
    let mut i = 0;
    let mut only_operands = false;
    let strict = t.has_effects();
    let stops = matches!(t.table.style, Style::Posix | Style::GnuStop);
    while i < args.len() {
        let a = &args[i];
        let text = a.text.as_str();
        i += 1;
        if only_operands {
            s.operands.push(a);
            continue;
        }
        if text == "--" && t.table.style != Style::Words {
            only_operands = true;
            continue;
        }
        if text.starts_with(DYN) {
            // `$x` may be any option.
            if strict {
                s.problems.push(Problem::Computed(a.shown()));
            }
            s.operands.push(a);
            if stops {
                only_operands = true;
            }
            continue;
        }
        let is_option = text.len() > 1 && text.starts_with('-')
            || t.table.style == Style::Words && text.len() > 1 && text.starts_with('+') && t.get(text).is_some();
        if !is_option {
            s.operands.push(a);
            if stops {
                only_operands = true;
            }
            continue;
        }
        if t.table.numbers && text[1..].chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if t.table.style == Style::Words {
            word_option(t, args, &mut i, a, &mut s);
        } else if text.starts_with("--") {
            long_option(t, args, &mut i, a, &mut s);
        } else {
            short_options(t, args, &mut i, a, &mut s);
        }
    }
    s
}

/// Takes the value of an option that takes one from the next word(s).
fn next_values(spec: Spec, args: &[Arg], i: &mut usize) -> Result<(Option<Arg>, Option<Arg>), ()> {
    match spec.takes {
        Takes::No | Takes::Optional => Ok((None, None)),
        Takes::Value => {
            let v = args.get(*i).cloned().ok_or(())?;
            *i += 1;
            Ok((Some(v), None))
        }
        Takes::Pair => {
            let v = args.get(*i).cloned().ok_or(())?;
            let w = args.get(*i + 1).cloned().ok_or(())?;
            *i += 2;
            Ok((Some(v), Some(w)))
        }
    }
}

fn word_option(t: &Compiled, args: &[Arg], i: &mut usize, a: &Arg, s: &mut Scan) {
    let text = a.text.as_str();
    let Some(spec) = t.get(text) else {
        s.problems.push(Problem::Unknown(a.shown()));
        return;
    };
    match next_values(spec, args, i) {
        Ok((value, value2)) => {
            s.given.push(Given { spelled: text.to_owned(), name: text.to_owned(), spec, value, value2 })
        }
        Err(()) => s.problems.push(Problem::BadValue(a.shown())),
    }
}

fn long_option(t: &Compiled, args: &[Arg], i: &mut usize, a: &Arg, s: &mut Scan) {
    let text = a.text.as_str();
    let (name, attached) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    if name.contains(DYN) {
        s.problems.push(Problem::Computed(a.shown()));
        return;
    }
    let (canonical, spec) = match t.resolve_long(name) {
        Resolved::One(c, spec) => (c, spec),
        Resolved::Ambiguous(hits) => {
            s.problems.push(Problem::Ambiguous(name.to_owned(), hits));
            return;
        }
        Resolved::None => {
            s.problems.push(Problem::Unknown(crate::shell::words::show(name)));
            return;
        }
    };
    let given = |value: Option<Arg>, value2: Option<Arg>| Given {
        spelled: name.to_owned(),
        name: canonical.clone(),
        spec,
        value,
        value2,
    };
    match (spec.takes, attached) {
        // pflag takes `--flag=false` for a boolean flag.
        (Takes::No, Some(v))
            if t.table.style == Style::Exact && matches!(v, "true" | "True" | "TRUE" | "t" | "T" | "1") =>
        {
            s.given.push(given(None, None))
        }
        (Takes::No, Some(v))
            if t.table.style == Style::Exact && matches!(v, "false" | "False" | "FALSE" | "f" | "F" | "0") => {}
        (Takes::No, Some(_)) => s.problems.push(Problem::BadValue(a.shown())),
        (Takes::Value | Takes::Optional, Some(v)) => s.given.push(given(Some(value_of(a, v)), None)),
        (Takes::Pair, Some(v)) => {
            // `--arg=NAME VALUE`
            let second = args.get(*i).cloned();
            *i += 1;
            s.given.push(given(Some(value_of(a, v)), second));
        }
        (_, None) => match next_values(spec, args, i) {
            Ok((value, value2)) => s.given.push(given(value, value2)),
            Err(()) => s.problems.push(Problem::BadValue(a.shown())),
        },
    }
}

fn short_options(t: &Compiled, args: &[Arg], i: &mut usize, a: &Arg, s: &mut Scan) {
    let text = a.text.as_str();
    let cluster = &text[1..];
    for (j, c) in cluster.char_indices() {
        let flag = format!("-{c}");
        if c == DYN {
            s.problems.push(Problem::Computed(a.shown()));
            return;
        }
        let Some(spec) = t.get(&flag) else {
            s.problems.push(Problem::Unknown(if j == 0 { flag } else { format!("{flag} (in {})", a.shown()) }));
            return;
        };
        let rest = &cluster[j + c.len_utf8()..];
        let given = |value: Option<Arg>, value2: Option<Arg>| Given {
            spelled: flag.clone(),
            name: flag.clone(),
            spec,
            value,
            value2,
        };
        match spec.takes {
            Takes::No => s.given.push(given(None, None)),
            Takes::Optional => {
                s.given.push(given((!rest.is_empty()).then(|| value_of(a, rest)), None));
                return;
            }
            Takes::Value | Takes::Pair if !rest.is_empty() => {
                let second = if spec.takes == Takes::Pair {
                    let v = args.get(*i).cloned();
                    *i += 1;
                    v
                } else {
                    None
                };
                s.given.push(given(Some(value_of(a, rest)), second));
                return;
            }
            Takes::Value | Takes::Pair => {
                match next_values(spec, args, i) {
                    Ok((value, value2)) => s.given.push(given(value, value2)),
                    Err(()) => s.problems.push(Problem::BadValue(a.shown())),
                }
                return;
            }
        }
    }
}

/// An attached value as an argument of its own; it keeps the substitutions of its word.
fn value_of(word: &Arg, text: &str) -> Arg {
    Arg { text: text.to_owned(), substitutions: word.substitutions.clone(), vars: word.vars.clone(), ..Arg::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Arg> {
        words.iter().map(|w| Arg::literal(*w)).collect()
    }

    const SED: Table =
        Table::new("sed", Style::Gnu, Operands::FirstThenFiles, "-n --quiet --silent -e= --expression= -s --separate")
            .raise(&[("-i?= --in-place?=", Effect::Raise(Class::Write, "edits files in place"))]);

    #[test]
    fn abbreviations_resolve_as_getopt_long_does() {
        let t = Compiled::new(SED).expect("compiles");
        let a = args(&["--in-pl", "s/a/b/", "f"]);
        let s = scan(&t, &a);
        assert_eq!(s.given[0].name, "--in-place");
        let a = args(&["--s", "x"]);
        let s = scan(&t, &a);
        assert!(matches!(&s.problems[0], Problem::Ambiguous(n, _) if n == "--s"), "{:?}", s.problems);
        let a = args(&["--sep", "x"]);
        assert_eq!(scan(&t, &a).given[0].name, "--separate");
        let a = args(&["--frob"]);
        assert_eq!(scan(&t, &a).problems, vec![Problem::Unknown("--frob".into())]);
    }

    #[test]
    fn clusters_values_and_the_end_of_options() {
        let t = Compiled::new(SED).expect("compiles");
        let a = args(&["-si", "x", "f"]);
        let s = scan(&t, &a);
        assert_eq!(s.given.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["-s", "-i"]);
        let a = args(&["-ie", "x"]);
        let s = scan(&t, &a);
        assert_eq!(s.given[0].value.as_ref().map(|v| v.text.as_str()), Some("e"), "`-ie` is -i with suffix e");
        let a = args(&["-n", "--", "-i", "x"]);
        let s = scan(&t, &a);
        assert_eq!(s.operands.len(), 2);
        let a = args(&["-e", "p", "-e=x"]);
        let s = scan(&t, &a);
        assert_eq!(s.last(&["-e", "--expression"]).and_then(|g| g.value.as_ref()).map(|v| v.text.as_str()), Some("=x"));
    }

    #[test]
    fn every_table_compiles() {
        let mut errors = Vec::new();
        let mut names = std::collections::HashSet::new();
        for group in super::super::tables::ALL {
            for t in group.iter() {
                if let Err(e) = Compiled::new(*t) {
                    errors.push(e);
                }
                if !names.insert(t.name) {
                    errors.push(format!("{}: two tables", t.name));
                }
            }
        }
        for group in [super::super::tables::KUBECTL, super::super::tables::HELM] {
            let global = group[0];
            for t in &group[1..] {
                if let Err(e) = Compiled::merged(*t, &[global]) {
                    errors.push(format!("{} with {}: {e}", t.name, global.name));
                }
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}
