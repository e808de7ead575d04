//! Shell command classification.
//!
//! The input is parsed with `brush-parser` (a POSIX/bash parser) and every simple command in
//! it is classified: in pipelines, `&&`/`||` lists, subshells, brace groups, loops and
//! conditionals, function bodies, command and process substitutions, parameter defaults,
//! arithmetic, and here-documents; behind wrappers (`sudo`, `env`, `xargs`, `sh -c`, `eval`,
//! ...) the wrapped command is classified as well. Input that does not parse is `unknown`.
//! The rules themselves are in the private `rules` module.

pub(crate) mod paths;
pub(crate) mod secrets;
pub(crate) mod words;

use std::collections::{HashMap, HashSet};
use std::io::BufReader;

use brush_parser::ParserOptions;
use brush_parser::ast::{
    self, AndOr, Command, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, ExtendedTestExpr,
    IoFileRedirectKind, IoFileRedirectTarget, IoRedirect, Pipeline, SeparatorOperator, SimpleCommand,
};

use crate::rules::{self, Ctx, Input, Step};
use crate::verdict::{Finding, Reason, Verdict};

use words::{Arg, CHILD, DYN};

/// Inputs longer than this are not parsed (`unknown`).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Scripts inside scripts (`sh -c`, substitutions, `eval`) nest no deeper than this.
const MAX_DEPTH: usize = 12;
/// Brackets and compound commands nest no deeper than this in the raw text; deeper input is
/// `unknown` without parsing: the parser recurses per level, and its time grows exponentially
/// with nested subshells.
const MAX_BRACKETS: usize = 12;
/// At most this many simple commands are classified in one input.
const MAX_COMMANDS: usize = 4096;

/// Classifies shell text.
pub fn classify(text: &str) -> Verdict {
    let mut w = Walker::new();
    w.script(text, Input::Terminal, None);
    w.finish()
}

/// Classifies the arguments of `kubectl` (the input of a kubectl tool): `get pods -n x`, or a
/// whole command line that starts with `kubectl`.
pub fn classify_kubectl(text: &str) -> Verdict {
    let trimmed = text.trim_start();
    let starts_with_kubectl =
        trimmed.strip_prefix("kubectl").is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
    if starts_with_kubectl { classify(text) } else { classify(&format!("kubectl {text}")) }
}

/// The argv of text that is exactly one simple command, quotes removed, for running it without
/// a shell; the error says why it is not one (a pipe, a list, a redirection, a variable...).
pub fn argv(text: &str) -> Result<Vec<String>, String> {
    Ok(single_command(text)?.into_iter().map(|a| a.text).collect())
}

/// The words of text that is exactly one simple command, without redirections, assignments,
/// substitutions or variables (a blocked pattern); the error says what else it is.
pub(crate) fn single_command(text: &str) -> Result<Vec<Arg>, String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    if text.len() > 4096 || bracket_depth(text) > MAX_BRACKETS || text.contains([DYN, CHILD, '\0']) {
        return Err("it is too long, nests too deeply or holds reserved characters".into());
    }
    if huge_number(text) || bare_carriage_return(text) || empty_heredoc_delimiter(text) {
        return Err("it holds a number too large to parse or a lone carriage return".into());
    }
    let options = ParserOptions::default();
    let program = parse(text, &options).map_err(|e| format!("it does not parse: {e}"))?;
    let one = "it must be one simple command (no pipes, lists, redirections or assignments)";
    let [list] = program.complete_commands.as_slice() else { return Err(one.into()) };
    let [item] = list.0.as_slice() else { return Err(one.into()) };
    let and_or = &item.0;
    if !and_or.additional.is_empty() || and_or.first.bang || matches!(item.1, SeparatorOperator::Async) {
        return Err(one.into());
    }
    let [Command::Simple(cmd)] = and_or.first.seq.as_slice() else { return Err(one.into()) };
    if cmd.prefix.is_some() {
        return Err(one.into());
    }
    let mut argv = Vec::new();
    let raw_words = cmd.word_or_name.iter().chain(cmd.suffix.iter().flat_map(|s| s.0.iter()).filter_map(|i| match i {
        CommandPrefixOrSuffixItem::Word(w) => Some(w),
        _ => None,
    }));
    if cmd.suffix.iter().flat_map(|s| s.0.iter()).any(|i| !matches!(i, CommandPrefixOrSuffixItem::Word(_))) {
        return Err(one.into());
    }
    for w in raw_words {
        for a in words::expand(&w.value, &options)? {
            if a.has_dynamic() || !a.substitutions.is_empty() {
                return Err("it holds a substitution or a variable, which has no value before a command runs".into());
            }
            argv.push(a);
        }
    }
    Ok(argv)
}

/// Parses a program; a panic inside the parser is a parse error.
fn parse(text: &str, options: &ParserOptions) -> Result<ast::Program, String> {
    guard(|| brush_parser::Parser::new(BufReader::new(text.as_bytes()), options).parse_program())
        .and_then(|r| r.map_err(|e| e.to_string()))
}

/// Runs a call into the parser crate, turning a panic into an error. Inputs known to make it
/// panic are refused before (see [`huge_number`]); this is the net for the ones not known yet.
pub(crate) fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| "the parser failed on this input".to_owned())
}

/// Whether the text has a run of ten or more digits next to `<`, `>`, `{`, `}` or `.`, or after
/// `~`, `+`, `-` or `$`: the parser reads file descriptor numbers (`2147483648>x`), brace ranges
/// (`{1..99999999999}`, `${99999999999}`) and directory stack entries (`~+99999999999`) into
/// fixed-size integers and panics when they overflow.
fn huge_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let before = start.checked_sub(1).and_then(|j| bytes.get(j));
        let after = bytes.get(i);
        let near = |b: Option<&u8>, also: &[u8]| b.is_some_and(|b| b"<>{}.".contains(b) || also.contains(b));
        if i - start >= 10 && (near(before, b"~+-$") || near(after, b"")) {
            return true;
        }
    }
    false
}

/// Whether a here-document operator is followed by an empty quoted delimiter (`<<''`,
/// `<< ""`, `<<''''`).
fn empty_heredoc_delimiter(text: &str) -> bool {
    text.match_indices("<<").any(|(i, _)| {
        let mut rest = text[i + 2..].trim_start_matches('-').trim_start_matches([' ', '\t']);
        let mut quoted = false;
        while let Some(r) = rest.strip_prefix("''").or_else(|| rest.strip_prefix("\"\"")) {
            rest = r;
            quoted = true;
        }
        quoted && !rest.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '$' | '\\'))
    })
}

/// Whether the text has a carriage return that is not part of a CRLF line ending.
fn bare_carriage_return(text: &str) -> bool {
    text.match_indices('\r').any(|(i, _)| !text[i + 1..].starts_with('\n'))
}

/// What a pipeline stage sends to the next one.
#[derive(Clone, Debug)]
enum Output {
    Text(String),
    Download,
    Other,
}

pub(crate) struct Walker {
    options: ParserOptions,
    reasons: Vec<Reason>,
    commands: Vec<Vec<String>>,
    functions: HashSet<String>,
    /// Names of the functions whose bodies are being walked.
    enclosing: Vec<String>,
    depth: usize,
    /// The working directory when a `cd` to a known place came before.
    cwd: Option<String>,
    /// The current simple command runs in the background or in a pipeline of several.
    concurrent: bool,
    /// A downloader was seen in the current nested script (for `$(curl ...)`).
    saw_download: bool,
    simple_count: usize,
    /// The texts of the scripts being walked, innermost last (for source spans).
    sources: Vec<String>,
    /// Variables set, somewhere in the input, to values that may hold code (read from input,
    /// computed, or text): evaluating them arithmetically runs that code.
    tainted: HashSet<String>,
    /// Variables evaluated arithmetically, with the part that does it.
    arith_refs: Vec<(String, String)>,
    /// `set -a`: every variable set from here on is exported.
    export_all: bool,
    /// Aliases defined in the input.
    aliases: HashMap<String, String>,
    /// Variables set once to a literal (their value is put into the words that expand them).
    known: words::Known,
    /// Every literal value each variable is set to.
    values: HashMap<String, Vec<String>>,
}

impl Walker {
    fn new() -> Self {
        Walker {
            options: ParserOptions::default(),
            reasons: Vec::new(),
            commands: Vec::new(),
            functions: HashSet::new(),
            enclosing: Vec::new(),
            depth: 0,
            cwd: None,
            concurrent: false,
            saw_download: false,
            simple_count: 0,
            sources: Vec::new(),
            tainted: HashSet::new(),
            arith_refs: Vec::new(),
            export_all: false,
            aliases: HashMap::new(),
            known: words::Known::new(),
            values: HashMap::new(),
        }
    }

    fn finish(mut self) -> Verdict {
        let refs = std::mem::take(&mut self.arith_refs);
        for (name, part) in refs {
            let positional = name.chars().all(|c| c.is_ascii_digit()) || name == "@" || name == "*";
            if self.tainted.contains(&name) || positional {
                self.push(
                    &part,
                    Finding::unknown(
                        "shell.arith.variable",
                        format!(
                            "bash evaluates `{name}` arithmetically, and its value is only known at run time: \
                             text such as `a[$(cmd)]` in it would run `cmd`"
                        ),
                    ),
                );
            }
        }
        let mut v = Verdict::from_reasons(self.reasons);
        v.commands = self.commands;
        v
    }

    fn push(&mut self, part: &str, f: Finding) {
        let reason = f.at(part);
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Parses and walks a script; `part` names it in reasons when it does not parse.
    fn script(&mut self, text: &str, stdin: Input, part: Option<&str>) {
        let part = part.map_or_else(|| short(text), short);
        if text.len() > MAX_INPUT_BYTES {
            self.push(&part, Finding::unknown("shell.too-long", format!("longer than {MAX_INPUT_BYTES} bytes")));
            return;
        }
        if text.contains([DYN, CHILD, '\0']) {
            self.push(&part, Finding::unknown("shell.reserved-character", "contains a NUL or private-use character"));
            return;
        }
        if self.depth >= MAX_DEPTH || bracket_depth(text) > MAX_BRACKETS {
            self.push(&part, Finding::unknown("shell.too-deep", "scripts or brackets nest too deeply to classify"));
            return;
        }
        if huge_number(text) {
            self.push(
                &part,
                Finding::unknown("shell.huge-number", "a file descriptor or range number too large to parse"),
            );
            return;
        }
        if empty_heredoc_delimiter(text) {
            // The parser loops on some of these.
            self.push(
                &part,
                Finding::unknown("shell.heredoc-empty-delimiter", "a here-document with an empty delimiter"),
            );
            return;
        }
        if bare_carriage_return(text) {
            // A lone CR redraws the line on a terminal, hiding what comes before it; the parser
            // also loops on one after a here-document operator.
            self.push(&part, Finding::unknown("shell.carriage-return", "a carriage return outside a line ending"));
            return;
        }
        let program = match parse(text, &self.options) {
            Ok(p) => p,
            Err(e) => {
                self.push(
                    &part,
                    Finding::unknown("shell.parse-error", format!("does not parse as a shell command: {e}")),
                );
                return;
            }
        };
        collect_functions(&program, &mut self.functions);
        self.depth += 1;
        self.sources.push(text.to_owned());
        let saved_cwd = self.cwd.clone();
        for (i, list) in program.complete_commands.iter().enumerate() {
            self.compound_list(list, if i == 0 { stdin.clone() } else { Input::Terminal });
        }
        self.cwd = saved_cwd;
        self.sources.pop();
        self.depth -= 1;
    }

    /// Walks a nested script and tells whether it ran a downloader.
    fn nested(&mut self, text: &str, stdin: Input) -> bool {
        let saved = std::mem::replace(&mut self.saw_download, false);
        self.script(text, stdin, None);
        let downloaded = self.saw_download;
        self.saw_download = saved || downloaded;
        downloaded
    }

    fn compound_list(&mut self, list: &CompoundList, stdin: Input) {
        for (i, item) in list.0.iter().enumerate() {
            let background = matches!(item.1, SeparatorOperator::Async);
            let saved = self.concurrent;
            self.concurrent |= background;
            self.and_or(&item.0, if i == 0 { stdin.clone() } else { Input::Terminal });
            self.concurrent = saved;
        }
    }

    fn and_or(&mut self, list: &ast::AndOrList, stdin: Input) {
        self.pipeline(&list.first, stdin.clone());
        for next in &list.additional {
            let (AndOr::And(p) | AndOr::Or(p)) = next;
            self.pipeline(p, Input::Terminal);
        }
    }

    fn pipeline(&mut self, p: &Pipeline, stdin: Input) {
        let saved = self.concurrent;
        if p.seq.len() > 1 {
            self.concurrent = true;
            // Each stage runs in a subshell: a `cd` in one does not move the others.
        }
        let saved_cwd = self.cwd.clone();
        let mut input = stdin;
        let mut downloaded = false;
        for cmd in &p.seq {
            let out = self.command(cmd, input.clone());
            downloaded |= matches!(out, Output::Download);
            input = match out {
                _ if downloaded => Input::Download,
                Output::Text(t) => Input::Text(t),
                Output::Download => Input::Download,
                Output::Other => Input::Unknown,
            };
        }
        if p.seq.len() > 1 {
            self.cwd = saved_cwd;
        }
        self.concurrent = saved;
    }

    fn command(&mut self, cmd: &Command, stdin: Input) -> Output {
        match cmd {
            Command::Simple(s) => self.simple(s, stdin),
            Command::Compound(c, redirects) => {
                let stdin = self.redirects(&c.to_string(), redirects.iter().flat_map(|r| r.0.iter()), stdin);
                self.compound(c, stdin);
                Output::Other
            }
            Command::Function(f) => {
                let name = f.fname.value.clone();
                self.enclosing.push(name);
                let stdin = self.redirects(&f.to_string(), f.body.1.iter().flat_map(|r| r.0.iter()), Input::Terminal);
                self.compound(&f.body.0, stdin);
                self.enclosing.pop();
                Output::Other
            }
            Command::ExtendedTest(test, redirects) => {
                let part = short(&test.to_string());
                self.redirects(&part, redirects.iter().flat_map(|r| r.0.iter()), stdin);
                self.extended_test(&test.expr, &part);
                self.push(&part, Finding::read("shell.test", "a conditional expression"));
                Output::Other
            }
        }
    }

    fn compound(&mut self, c: &CompoundCommand, stdin: Input) {
        match c {
            CompoundCommand::BraceGroup(b) => self.compound_list(&b.list, stdin),
            CompoundCommand::Subshell(s) => {
                let saved = self.cwd.clone();
                self.compound_list(&s.list, stdin);
                self.cwd = saved;
            }
            CompoundCommand::Arithmetic(a) => {
                // bash reads `( (` and `((...) )` as nested subshells, `((...))` as arithmetic.
                let raw = self.source_text(a.loc.start.index, a.loc.end.index);
                match raw {
                    Some(raw) if !arithmetic_command(&raw) => {
                        let inner = raw.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(&raw);
                        self.nested(inner, stdin);
                    }
                    Some(_) => self.arithmetic(&a.expr.value),
                    None => {
                        // Without the source, both readings are classified.
                        self.arithmetic(&a.expr.value);
                        self.nested(&format!("( {} )", a.expr.value), stdin);
                    }
                }
            }
            CompoundCommand::ArithmeticForClause(f) => {
                for e in [&f.initializer, &f.condition, &f.updater].into_iter().flatten() {
                    self.arithmetic(&e.value);
                }
                self.compound_list(&f.body.list, stdin);
            }
            CompoundCommand::ForClause(f) => {
                let part = format!("for {}", f.variable_name);
                let mut numbers = f.values.is_some();
                for w in f.values.iter().flatten() {
                    for a in self.words(&part, &w.value) {
                        numbers &= a.is_exact() && rules::numeric(&a.text);
                    }
                }
                if !numbers {
                    self.tainted.insert(f.variable_name.clone());
                }
                self.compound_list(&f.body.list, stdin);
            }
            CompoundCommand::CaseClause(c) => {
                let part = format!("case {}", c.value.value);
                self.words(&part, &c.value.value);
                for item in &c.cases {
                    for p in &item.patterns {
                        self.words(&part, &p.value);
                    }
                    if let Some(body) = &item.cmd {
                        self.compound_list(body, Input::Terminal);
                    }
                }
            }
            CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, stdin);
                self.compound_list(&i.then, Input::Terminal);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.compound_list(c, Input::Terminal);
                    }
                    self.compound_list(&e.body, Input::Terminal);
                }
            }
            CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, stdin);
                self.compound_list(&w.1.list, Input::Terminal);
            }
            CompoundCommand::Coprocess(c) => {
                let saved = self.concurrent;
                self.concurrent = true;
                self.command(&c.body, Input::Unknown);
                self.concurrent = saved;
            }
        }
    }

    fn extended_test(&mut self, e: &ExtendedTestExpr, part: &str) {
        match e {
            ExtendedTestExpr::And(a, b) | ExtendedTestExpr::Or(a, b) => {
                self.extended_test(a, part);
                self.extended_test(b, part);
            }
            ExtendedTestExpr::Not(a) | ExtendedTestExpr::Parenthesized(a) => self.extended_test(a, part),
            ExtendedTestExpr::UnaryTest(pred, w) => {
                let args = self.words(part, &w.value);
                if matches!(
                    pred,
                    ast::UnaryPredicate::ShellVariableIsSetAndAssigned
                        | ast::UnaryPredicate::ShellVariableIsSetAndNameRef
                ) {
                    for a in &args {
                        self.evaluated(part, a, true);
                    }
                }
            }
            ExtendedTestExpr::BinaryTest(pred, a, b) => {
                let arithmetic = matches!(
                    pred,
                    ast::BinaryPredicate::ArithmeticEqualTo
                        | ast::BinaryPredicate::ArithmeticNotEqualTo
                        | ast::BinaryPredicate::ArithmeticLessThan
                        | ast::BinaryPredicate::ArithmeticLessThanOrEqualTo
                        | ast::BinaryPredicate::ArithmeticGreaterThan
                        | ast::BinaryPredicate::ArithmeticGreaterThanOrEqualTo
                );
                for w in [a, b] {
                    for arg in self.words(part, &w.value) {
                        if arithmetic {
                            self.evaluated(part, &arg, false);
                        }
                    }
                }
            }
        }
    }

    /// A word bash evaluates: as arithmetic, or (`as_name`) as a variable name that may have a
    /// subscript. Text holding a command runs it; variables named are evaluated in turn.
    fn evaluated(&mut self, part: &str, a: &Arg, as_name: bool) {
        if as_name && a.has_dynamic() {
            self.push(
                part,
                Finding::unknown(
                    "shell.name.computed",
                    format!("a variable name only known at run time (`{}`)", a.shown()),
                ),
            );
        }
        let text = if as_name { a.text.split_once('[').map_or("", |(_, sub)| sub) } else { a.text.as_str() };
        if rules::env::holds_code(text) {
            self.push(
                part,
                Finding::unknown(
                    "shell.eval.subscript",
                    format!("bash evaluates `{}`, which runs the commands in it", a.shown()),
                ),
            );
            match words::substitutions_in(text, &self.options, 0) {
                Ok(subs) => {
                    for s in subs {
                        self.nested(&s, Input::Unknown);
                    }
                }
                Err(e) => self.push(part, Finding::unknown("shell.parse-error", e)),
            }
        }
        let mut names = rules::arith_names(&text.replace(DYN, " "));
        names.extend(a.vars.iter().cloned());
        for n in names {
            self.arith_refs.push((n, part.to_owned()));
        }
    }

    /// Whether the input names `var` only where it sets it once (`var=`) and where it expands
    /// it (`$var`, `${var`): then no `read`, loop, `declare` or second assignment sets it.
    fn set_once(&self, var: &str) -> bool {
        let Some(text) = self.sources.first() else { return false };
        let bytes = text.as_bytes();
        let (mut sets, mut expands, mut other) = (0, 0, 0);
        for (i, _) in text.match_indices(var) {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(i + var.len()).copied();
            let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
            if word(before) && before != Some(b'{') && before != Some(b'$') || word(after) {
                continue;
            }
            match (before, after) {
                (Some(b'$'), _) | (Some(b'{'), _) => expands += 1,
                (_, Some(b'=')) => sets += 1,
                _ => other += 1,
            }
        }
        sets == 1 && other == 0 && expands >= 1
    }

    /// The text of the innermost script between two positions of the parser (which counts
    /// characters, not bytes).
    fn source_text(&self, start: usize, end: usize) -> Option<String> {
        let text = self.sources.last()?;
        (end >= start && end <= text.chars().count()).then(|| text.chars().skip(start).take(end - start).collect())
    }

    fn arithmetic(&mut self, text: &str) {
        let part = short(text);
        for n in rules::arith_names(text) {
            self.arith_refs.push((n, part.clone()));
        }
        match words::scan_text(text, &self.options) {
            Ok(arg) => {
                self.notes(&part, &arg);
                for s in &arg.substitutions {
                    self.nested(s, Input::Unknown);
                }
                self.push(&part, Finding::read("shell.arithmetic", "arithmetic"));
            }
            Err(e) => self.push(&part, Finding::unknown("shell.parse-error", e)),
        }
    }

    /// What a word's expansions do besides giving a value: indirection and prompt expansion
    /// run code, arithmetic evaluates variables, `${x:=...}` sets one.
    fn notes(&mut self, part: &str, a: &Arg) {
        for note in &a.code {
            self.push(part, Finding::unknown("shell.expansion.code", note.clone()));
        }
        for n in &a.arith {
            self.arith_refs.push((n.clone(), part.to_owned()));
        }
        for n in &a.assigns {
            self.tainted.insert(n.clone());
        }
    }

    /// Expands a raw word and classifies its substitutions.
    fn words(&mut self, part: &str, raw: &str) -> Vec<Arg> {
        match words::expand_with(raw, &self.options, &self.known) {
            Ok(mut args) => {
                for a in &mut args {
                    self.notes(part, a);
                    a.code.clear();
                    // The texts stay on the word (a path a substitution names may be a secret).
                    let subs = a.substitutions.clone();
                    for s in &subs {
                        if self.nested(s, Input::Unknown) {
                            a.substitutions.push(rules::DOWNLOAD_MARK.to_owned());
                        }
                    }
                }
                args
            }
            Err(e) => {
                self.push(part, Finding::unknown("shell.word", format!("a word cannot be expanded statically: {e}")));
                vec![Arg::dynamic()]
            }
        }
    }

    /// Classifies redirections; returns the command's standard input.
    fn redirects<'a>(&mut self, part: &str, items: impl Iterator<Item = &'a IoRedirect>, stdin: Input) -> Input {
        let part = short(part);
        let mut stdin = stdin;
        for r in items {
            match r {
                IoRedirect::File(fd, kind, target) => {
                    let writes = matches!(
                        kind,
                        IoFileRedirectKind::Write
                            | IoFileRedirectKind::Append
                            | IoFileRedirectKind::Clobber
                            | IoFileRedirectKind::ReadAndWrite
                    );
                    match target {
                        IoFileRedirectTarget::Filename(w) => {
                            let args = self.words(&part, &w.value);
                            for a in &args {
                                if writes {
                                    let f = paths::redirect_target(a, self.cwd.as_deref());
                                    self.push(&part, f);
                                } else if let Some(what) = secrets::secret_with(a, self.cwd.as_deref(), &self.values) {
                                    self.push(
                                        &part,
                                        Finding::sensitive(rules::SECRET_RULE, format!("reads {} ({what})", a.shown())),
                                    );
                                    if fd.is_none_or(|fd| fd == 0) {
                                        stdin = Input::Unknown;
                                    }
                                } else if fd.is_none_or(|fd| fd == 0) {
                                    stdin = if a.substitutions.iter().any(|s| s == rules::DOWNLOAD_MARK) {
                                        Input::Download
                                    } else {
                                        Input::Unknown
                                    };
                                }
                            }
                        }
                        IoFileRedirectTarget::Duplicate(w) => {
                            let args = self.words(&part, &w.value);
                            for a in &args {
                                let is_fd = a.text == "-" || a.text.chars().all(|c| c.is_ascii_digit());
                                if !is_fd && matches!(kind, IoFileRedirectKind::DuplicateOutput) {
                                    let f = paths::redirect_target(a, self.cwd.as_deref());
                                    self.push(&part, f);
                                }
                            }
                        }
                        IoFileRedirectTarget::Fd(_) => {}
                        IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                            let downloaded = self.subshell(sub);
                            if !writes && fd.is_none_or(|fd| fd == 0) {
                                stdin = if downloaded { Input::Download } else { Input::Unknown };
                            }
                        }
                    }
                }
                IoRedirect::HereDocument(fd, doc) => {
                    let text = if doc.requires_expansion {
                        match words::expand_heredoc(&doc.doc.value, &self.options) {
                            Ok(arg) => {
                                self.notes(&part, &arg);
                                let mut downloaded = false;
                                for s in &arg.substitutions {
                                    downloaded |= self.nested(s, Input::Unknown);
                                }
                                if downloaded {
                                    Input::Download
                                } else if arg.has_dynamic() {
                                    Input::Unknown
                                } else {
                                    Input::Text(arg.text)
                                }
                            }
                            Err(e) => {
                                self.push(&part, Finding::unknown("shell.word", format!("a here-document: {e}")));
                                Input::Unknown
                            }
                        }
                    } else {
                        Input::Text(doc.doc.value.clone())
                    };
                    if fd.is_none_or(|fd| fd == 0) {
                        stdin = text;
                    }
                }
                IoRedirect::HereString(fd, w) => {
                    let args = self.words(&part, &w.value);
                    let joined = args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
                    let downloaded = args.iter().any(|a| a.substitutions.iter().any(|s| s == rules::DOWNLOAD_MARK));
                    if fd.is_none_or(|fd| fd == 0) {
                        stdin = if downloaded {
                            Input::Download
                        } else if joined.contains(DYN) {
                            Input::Unknown
                        } else {
                            Input::Text(format!("{joined}\n"))
                        };
                    }
                }
                IoRedirect::OutputAndError(w, _) => {
                    let args = self.words(&part, &w.value);
                    for a in &args {
                        let f = paths::redirect_target(a, self.cwd.as_deref());
                        self.push(&part, f);
                    }
                }
            }
        }
        stdin
    }

    /// Walks a process substitution; tells whether it downloads.
    fn subshell(&mut self, sub: &ast::SubshellCommand) -> bool {
        let saved = std::mem::replace(&mut self.saw_download, false);
        let saved_cwd = self.cwd.clone();
        self.depth += 1;
        if self.depth < MAX_DEPTH {
            self.compound_list(&sub.list, Input::Unknown);
        } else {
            self.push(&short(&sub.to_string()), Finding::unknown("shell.too-deep", "nests too deeply to classify"));
        }
        self.depth -= 1;
        self.cwd = saved_cwd;
        let downloaded = self.saw_download;
        self.saw_download = saved || downloaded;
        downloaded
    }

    fn simple(&mut self, cmd: &SimpleCommand, stdin: Input) -> Output {
        let part = short(&cmd.to_string());
        self.simple_count += 1;
        if self.simple_count > MAX_COMMANDS {
            if self.simple_count == MAX_COMMANDS + 1 {
                self.push(&part, Finding::unknown("shell.too-many", "too many commands to classify"));
            }
            return Output::Other;
        }
        let mut items = Items::default();
        for item in cmd.prefix.iter().flat_map(|p| p.0.iter()) {
            self.item(&part, item, &mut items);
        }
        if let Some(name) = &cmd.word_or_name {
            let words = self.words(&part, &name.value);
            items.argv.extend(words);
        }
        for item in cmd.suffix.iter().flat_map(|s| s.0.iter()) {
            self.item(&part, item, &mut items);
        }
        let Items { argv, assignments, redirects } = items;
        let stdin = self.redirects(&part, redirects.into_iter(), stdin);
        for (name, values, raw) in &assignments {
            let f = rules::assignment(name, values, !argv.is_empty() || self.export_all);
            self.push(&part, f);
            // Text that bash runs when it evaluates the variable: classify its commands too.
            for v in values.iter().filter(|v| rules::env::holds_code(&v.text)) {
                match words::substitutions_in(&v.text, &self.options, 0) {
                    Ok(subs) => {
                        for s in subs {
                            self.nested(&s, Input::Unknown);
                        }
                    }
                    Err(e) => self.push(&part, Finding::unknown("shell.parse-error", e)),
                }
            }
            // A number, or the result of `$(( ))`, cannot hold code; anything else may.
            let arithmetic = raw.starts_with("$((") && raw.ends_with("))") && !raw[3..].contains("$(");
            let number = values.iter().all(|v| v.is_exact() && rules::numeric(&v.text));
            if !(arithmetic || number && !values.is_empty()) {
                self.tainted.insert(name.clone());
            }
            for v in values.iter().filter(|v| v.is_exact()) {
                self.values.entry(name.clone()).or_default().push(v.text.clone());
            }
            // A variable set once, to a literal, and only expanded elsewhere: its value is known.
            match values.as_slice() {
                [v] if v.is_exact() && !rules::env::holds_code(&v.text) && self.set_once(name) => {
                    self.known.insert(name.clone(), v.text.clone());
                }
                _ => {
                    self.known.remove(name);
                }
            }
        }
        if argv.is_empty() {
            if assignments.is_empty() {
                self.push(&part, Finding::read("shell.redirect-only", "only redirections"));
            }
            return Output::Other;
        }
        self.run(&part, argv, stdin)
    }

    fn item<'a>(&mut self, part: &str, item: &'a CommandPrefixOrSuffixItem, items: &mut Items<'a>) {
        match item {
            CommandPrefixOrSuffixItem::Word(w) => {
                let words = self.words(part, &w.value);
                items.argv.extend(words);
            }
            // After the program name, `a=b` is an argument (`dd of=x`, `declare x=1`).
            CommandPrefixOrSuffixItem::AssignmentWord(_, w) if !items.argv.is_empty() => {
                let words = self.words(part, &w.value);
                items.argv.extend(words);
            }
            CommandPrefixOrSuffixItem::AssignmentWord(a, _) => {
                let name = match &a.name {
                    ast::AssignmentName::VariableName(n) => n.clone(),
                    ast::AssignmentName::ArrayElementName(n, subscript) => {
                        // The subscript is arithmetic: its commands run, its variables are evaluated.
                        self.evaluated(part, &Arg::literal(format!("{n}[{subscript}]")), true);
                        match words::substitutions_in(subscript, &self.options, 0) {
                            Ok(subs) => {
                                for s in subs {
                                    self.nested(&s, Input::Unknown);
                                }
                            }
                            Err(e) => self.push(part, Finding::unknown("shell.parse-error", e)),
                        }
                        n.clone()
                    }
                };
                let raw = match &a.value {
                    ast::AssignmentValue::Scalar(w) => w.value.clone(),
                    ast::AssignmentValue::Array(_) => String::new(),
                };
                let values = match &a.value {
                    ast::AssignmentValue::Scalar(w) => self.words(part, &w.value),
                    ast::AssignmentValue::Array(elements) => {
                        let mut v = Vec::new();
                        for (k, w) in elements {
                            if let Some(k) = k {
                                // An indexed array's key is arithmetic.
                                for key in self.words(part, &k.value) {
                                    self.evaluated(part, &key, false);
                                }
                            }
                            v.extend(self.words(part, &w.value));
                        }
                        v
                    }
                };
                items.assignments.push((name, values, raw));
            }
            CommandPrefixOrSuffixItem::IoRedirect(r) => items.redirects.push(r),
            CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                let downloaded = self.subshell(sub);
                let mut a = Arg::dynamic();
                if downloaded {
                    a.substitutions.push(rules::DOWNLOAD_MARK.to_owned());
                }
                items.argv.push(a);
            }
        }
    }

    /// Classifies one command given as words (also the command inside a wrapper).
    fn run(&mut self, part: &str, argv: Vec<Arg>, stdin: Input) -> Output {
        self.commands.push(argv.iter().map(|a| words::show(&a.text)).collect());
        let Some(first) = argv.first() else {
            return Output::Other;
        };
        if first.is_exact()
            && let Some(value) = self.aliases.get(&first.text).cloned()
        {
            let rest: Vec<String> = argv[1..].iter().map(|a| a.text.clone()).collect();
            self.push(part, Finding::read("shell.alias-call", format!("`{}` is an alias for `{value}`", first.text)));
            if self.depth >= MAX_DEPTH {
                self.push(part, Finding::unknown("shell.too-deep", "aliases nest too deeply to classify"));
            } else {
                // An alias used in its own text is not expanded again.
                let saved = self.aliases.remove(&first.text);
                self.script(&format!("{value} {}", rest.join(" ")), stdin, Some(part));
                if let Some(v) = saved {
                    self.aliases.insert(first.text.clone(), v);
                }
            }
            return Output::Other;
        }
        if first.is_exact() && self.functions.contains(&first.text) {
            if self.enclosing.contains(&first.text) {
                let f = if self.concurrent {
                    Finding::dangerous(
                        "shell.fork-bomb",
                        format!("`{}` calls itself in the background or a pipe: a fork bomb", first.text),
                    )
                } else {
                    Finding::unknown("shell.recursion", format!("`{}` calls itself", first.text))
                };
                self.push(part, f);
            } else {
                self.push(
                    part,
                    Finding::read(
                        "shell.function-call",
                        format!("calls the function `{}` (its body is classified where it is defined)", first.text),
                    ),
                );
            }
            return Output::Other;
        }
        let ctx = Ctx { stdin: &stdin, cwd: self.cwd.as_deref(), values: &self.values };
        let (steps, output) = rules::command(&argv, &ctx);
        for step in steps {
            match step {
                Step::Find(f) => {
                    if f.rule == rules::DOWNLOADER_RULE {
                        self.saw_download = true;
                    }
                    self.push(part, f);
                }
                Step::Run(inner, input) => {
                    if self.depth >= MAX_DEPTH {
                        self.push(part, Finding::unknown("shell.too-deep", "wrappers nest too deeply to classify"));
                    } else {
                        self.depth += 1;
                        self.run(part, inner, input);
                        self.depth -= 1;
                    }
                }
                Step::Script(text, input) => {
                    self.script(&text, input, Some(part));
                }
                Step::Cd(dir) => {
                    self.cwd = dir;
                }
                Step::Taint(names) => self.tainted.extend(names),
                Step::Arith(names) => {
                    for n in names {
                        self.arith_refs.push((n, part.to_owned()));
                    }
                }
                Step::ExportAll => self.export_all = true,
                Step::Alias(name, value) => {
                    self.aliases.insert(name, value);
                }
            }
        }
        output.map_or(Output::Other, |o| match o {
            rules::Out::Text(t) => Output::Text(t),
            rules::Out::Download => Output::Download,
        })
    }
}

/// The pieces of a simple command.
#[derive(Default)]
struct Items<'a> {
    argv: Vec<Arg>,
    assignments: Vec<(String, Vec<Arg>, String)>,
    redirects: Vec<&'a IoRedirect>,
}

fn collect_functions(program: &ast::Program, out: &mut HashSet<String>) {
    // Function definitions are found in the text of the program as printed; walking every
    // compound kind just for names would duplicate the walker.
    for list in &program.complete_commands {
        for item in &list.0 {
            collect_in_and_or(&item.0, out);
        }
    }
}

fn collect_in_and_or(list: &ast::AndOrList, out: &mut HashSet<String>) {
    let mut pipelines = vec![&list.first];
    pipelines.extend(list.additional.iter().map(|a| match a {
        AndOr::And(p) | AndOr::Or(p) => p,
    }));
    for p in pipelines {
        for c in &p.seq {
            collect_in_command(c, out);
        }
    }
}

fn collect_in_list(list: &CompoundList, out: &mut HashSet<String>) {
    for item in &list.0 {
        collect_in_and_or(&item.0, out);
    }
}

fn collect_in_command(c: &Command, out: &mut HashSet<String>) {
    match c {
        Command::Function(f) => {
            out.insert(f.fname.value.clone());
            collect_in_compound(&f.body.0, out);
        }
        Command::Compound(c, _) => collect_in_compound(c, out),
        Command::Simple(_) | Command::ExtendedTest(..) => {}
    }
}

fn collect_in_compound(c: &CompoundCommand, out: &mut HashSet<String>) {
    match c {
        CompoundCommand::BraceGroup(b) => collect_in_list(&b.list, out),
        CompoundCommand::Subshell(s) => collect_in_list(&s.list, out),
        CompoundCommand::ArithmeticForClause(f) => collect_in_list(&f.body.list, out),
        CompoundCommand::ForClause(f) => collect_in_list(&f.body.list, out),
        CompoundCommand::CaseClause(c) => {
            c.cases.iter().filter_map(|i| i.cmd.as_ref()).for_each(|l| collect_in_list(l, out))
        }
        CompoundCommand::IfClause(i) => {
            collect_in_list(&i.condition, out);
            collect_in_list(&i.then, out);
            for e in i.elses.iter().flatten() {
                if let Some(c) = &e.condition {
                    collect_in_list(c, out);
                }
                collect_in_list(&e.body, out);
            }
        }
        CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
            collect_in_list(&w.0, out);
            collect_in_list(&w.1.list, out);
        }
        CompoundCommand::Coprocess(c) => collect_in_command(&c.body, out),
        CompoundCommand::Arithmetic(_) => {}
    }
}

/// The deepest nesting of brackets (`(`, `{`, `` ` ``) and compound commands (`if`, `case`,
/// `for`, `while`, `until`, `select`) in the raw text. Quotes are ignored, which can only
/// overcount.
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut backticks = 0usize;
    let mut word = String::new();
    let keyword = |word: &mut String, depth: &mut usize, max: &mut usize| {
        match word.as_str() {
            "if" | "case" | "for" | "while" | "until" | "select" => {
                *depth += 1;
                *max = (*max).max(*depth);
            }
            "fi" | "esac" | "done" => *depth = depth.saturating_sub(1),
            _ => {}
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        keyword(&mut word, &mut depth, &mut max);
        match c {
            '(' | '{' => {
                depth += 1;
                max = max.max(depth + backticks);
            }
            ')' | '}' => depth = depth.saturating_sub(1),
            '`' => {
                backticks += 1;
                max = max.max(depth + backticks);
            }
            _ => {}
        }
    }
    keyword(&mut word, &mut depth, &mut max);
    max
}

/// Whether bash reads this `((...))` text as an arithmetic command: it does when the text
/// starts with `((` and the parenthesis after the first one closes right before the last one;
/// otherwise (`( (`, `((a) )`, `((a); (b))`) it is nested subshells.
fn arithmetic_command(raw: &str) -> bool {
    let raw = raw.trim();
    let Some(rest) = raw.strip_prefix("((") else { return false };
    let mut depth = 1usize;
    let mut chars = rest.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '\\') => {
                chars.next();
            }
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return rest[i + 1..].starts_with(')');
                }
            }
            _ => {}
        }
    }
    false
}

/// A part for a reason: at most one line and 200 characters.
pub(crate) fn short(text: &str) -> String {
    let one_line = text.trim().replace('\n', " ⏎ ");
    if one_line.chars().count() <= 200 {
        return one_line;
    }
    let mut s: String = one_line.chars().take(199).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Class;

    fn class(text: &str) -> Class {
        classify(text).class
    }

    #[test]
    fn parts_and_wrappers() {
        assert_eq!(class("ls -la | grep x"), Class::Read);
        assert_eq!(class("sudo rm -rf /"), Class::Dangerous);
        assert_eq!(class("echo $(rm -rf /)"), Class::Dangerous);
        assert_eq!(class("ls > out.txt"), Class::Write);
        assert_eq!(class("ls > /dev/null 2>&1"), Class::Read);
        assert_eq!(class("if then fi ("), Class::Unknown);
        assert_eq!(class("touch x"), Class::Write);
    }

    #[test]
    fn fork_bombs() {
        assert_eq!(class(":(){ :|:& };:"), Class::Dangerous);
        assert_eq!(class("bomb() { bomb | bomb & }; bomb"), Class::Dangerous);
        assert_eq!(class("f() { ls; }; f"), Class::Read);
    }

    #[test]
    fn deep_input_is_unknown_not_a_crash() {
        for huge in [
            "echo 2147483648>x",
            "echo {1..99999999999}",
            "echo ${99999999999}",
            "ls; 66666666666666<>",
            "ls ~44444444444/",
            "a<<\r\t",
            "<<''>#",
            "cat << \"\" # c",
            "ls\rrm -rf /",
            // The parser's tokenizer panics on here-strings nested in an unclosed substitution;
            // the guard turns that into a refusal.
            "b<<<  <<< \"$(curl -s 2aonhemdtspt://x.eproj<<  <<< \"$(curl -s 2aonhemdtspt://x.eprojecti.rm?h)ecti.rm?h)\"\n",
        ] {
            assert_eq!(class(huge), Class::Unknown, "{huge}");
        }
        assert_eq!(class("date -d @1700000000"), Class::Read);
        let deep = "(".repeat(5000) + &")".repeat(5000);
        assert_eq!(class(&deep), Class::Unknown);
        let subs = "$(".repeat(200) + &")".repeat(200);
        assert_eq!(class(&format!("echo {subs}")), Class::Unknown);
    }
}
