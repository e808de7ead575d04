//! Static expansion of shell words: what a word is before the command runs, as far as that can
//! be known without running anything.
//!
//! Quotes and escapes are removed (so `r''m`, `\rm`, `"rm"` and `$'\x72m'` are all `rm`), brace
//! expansion turns one word into several (`{rm,-rf,/}`), `~` and `$HOME` become `~`, and
//! anything whose value is only known at run time (other parameters, command substitutions,
//! arithmetic) becomes the marker [`DYN`]. Command substitutions are kept so that the caller
//! classifies them too.

use std::cell::Cell;

use brush_parser::ParserOptions;
use brush_parser::word::{self, BraceExpressionMember, BraceExpressionOrText, ParameterExpr, TildeExpr, WordPiece};

/// Stands for text only known at run time.
pub(crate) const DYN: char = '\u{E000}';
/// Stands for one path component only known at run time (`find`'s `{}` below a root).
pub(crate) const CHILD: char = '\u{E001}';

/// Brace expansion may not make more words than this out of one word.
const MAX_BRACE_WORDS: usize = 256;
/// Parameter defaults and arithmetic nest no deeper than this.
const MAX_NESTING: usize = 16;
/// One word (with everything nested in it) has at most this many pieces: text nested in
/// arithmetic and parameter defaults is parsed again, which could otherwise multiply.
const MAX_PIECES: usize = 4096;

/// A word after static expansion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Arg {
    /// The value after quote removal, with [`DYN`] for run-time parts.
    pub text: String,
    /// The word as a glob pattern (quoted parts escaped) when it has unquoted glob characters.
    pub pattern: Option<String>,
    /// The bodies of command substitutions in the word, to classify as commands.
    pub substitutions: Vec<String>,
    /// The names of the parameters the word expands (`$x`, `${x:-y}`, `${!x}`), in order.
    pub vars: Vec<String>,
    /// Variables bash evaluates arithmetically while expanding the word (in `$(( ))`, array
    /// subscripts and substring offsets): their values must not hold code.
    pub arith: Vec<String>,
    /// Expansions that evaluate a variable's value as code: `${!x}` (the value is a name,
    /// maybe with a subscript) and `${x@P}` (the value is expanded as a prompt).
    pub code: Vec<String>,
    /// Variables the word assigns (`${x:=value}`).
    pub assigns: Vec<String>,
}

impl Arg {
    /// A word known exactly.
    pub fn literal(text: impl Into<String>) -> Self {
        Arg { text: text.into(), ..Arg::default() }
    }

    /// A word only known at run time.
    pub fn dynamic() -> Self {
        Arg::literal(DYN.to_string())
    }

    /// The value is fully known and is not a glob.
    pub fn is_exact(&self) -> bool {
        self.pattern.is_none() && !self.has_dynamic()
    }

    /// Part of the value is only known at run time.
    pub fn has_dynamic(&self) -> bool {
        self.text.contains(DYN) || self.text.contains(CHILD)
    }

    /// The text with run-time parts shown as `…` (for messages).
    pub fn shown(&self) -> String {
        show(&self.text)
    }
}

/// `text` with run-time parts shown as `…`.
pub(crate) fn show(text: &str) -> String {
    text.replace([DYN, CHILD], "…")
}

/// Expands one word into the words it becomes.
pub(crate) fn expand(raw: &str, options: &ParserOptions) -> Result<Vec<Arg>, String> {
    expand_with(raw, options, &Known::new())
}

/// Variables whose value is known: set once in the script to a literal.
pub(crate) type Known = std::collections::HashMap<String, String>;

/// Expands one word, putting in the value of variables whose value is known (`f=/etc/shadow;
/// cat "$f"` reads `/etc/shadow`). An unquoted expansion whose value would be split or
/// globbed stays only known at run time.
pub(crate) fn expand_with(raw: &str, options: &ParserOptions, known: &Known) -> Result<Vec<Arg>, String> {
    let mut out = Vec::new();
    for one in braces(raw, options)? {
        out.push(expand_one(&one, options, known)?);
    }
    Ok(out)
}

/// Expands the body of a here-document (quotes are literal there).
pub(crate) fn expand_heredoc(body: &str, options: &ParserOptions) -> Result<Arg, String> {
    let pieces = crate::shell::guard(|| word::parse_heredoc(body, options))?.map_err(|e| e.to_string())?;
    let budget = Cell::new(MAX_PIECES);
    let mut b = Builder::new(&budget);
    for p in &pieces {
        b.piece(&p.piece, true, options, 0)?;
    }
    Ok(b.finish())
}

/// Text that is not a word (arithmetic, a subscript), expanded as a here-document is: its
/// command substitutions, the variables it expands and what they do (`${!x}`, `${x@P}`).
pub(crate) fn scan_text(text: &str, options: &ParserOptions) -> Result<Arg, String> {
    if !text.contains('$') && !text.contains('`') {
        return Ok(Arg::literal(text));
    }
    let pieces = crate::shell::guard(|| word::parse_heredoc(text, options))?.map_err(|e| e.to_string())?;
    let budget = Cell::new(MAX_PIECES);
    let mut b = Builder::new(&budget);
    for p in &pieces {
        b.piece(&p.piece, true, options, 1)?;
    }
    Ok(b.finish())
}

/// The command substitutions inside arithmetic or other text that is not a word.
pub(crate) fn substitutions_in(text: &str, options: &ParserOptions, depth: usize) -> Result<Vec<String>, String> {
    substitutions_within(text, options, depth, &Cell::new(MAX_PIECES))
}

fn substitutions_within(
    text: &str,
    options: &ParserOptions,
    depth: usize,
    budget: &Cell<usize>,
) -> Result<Vec<String>, String> {
    Ok(within(text, options, depth, budget)?.substitutions)
}

/// Expands text nested in an expansion (a default, an index, arithmetic): its substitutions,
/// and the variables it expands and what they do.
fn within(text: &str, options: &ParserOptions, depth: usize, budget: &Cell<usize>) -> Result<Arg, String> {
    if !text.contains('$') && !text.contains('`') {
        return Ok(Arg::default());
    }
    if depth > MAX_NESTING {
        return Err("expansions nest too deeply".into());
    }
    let pieces = crate::shell::guard(|| word::parse_heredoc(text, options))?.map_err(|e| e.to_string())?;
    let mut b = Builder::new(budget);
    for p in &pieces {
        b.piece(&p.piece, true, options, depth + 1)?;
    }
    Ok(b.finish())
}

fn expand_one(raw: &str, options: &ParserOptions, known: &Known) -> Result<Arg, String> {
    let pieces = crate::shell::guard(|| word::parse(raw, options))?.map_err(|e| e.to_string())?;
    let budget = Cell::new(MAX_PIECES);
    let mut b = Builder::new(&budget);
    b.known = Some(known);
    for p in &pieces {
        b.piece(&p.piece, false, options, 0)?;
    }
    Ok(b.finish())
}

struct Builder<'b> {
    text: String,
    pattern: String,
    globbing: bool,
    substitutions: Vec<String>,
    vars: Vec<String>,
    arith: Vec<String>,
    code: Vec<String>,
    assigns: Vec<String>,
    budget: &'b Cell<usize>,
    known: Option<&'b Known>,
}

impl<'b> Builder<'b> {
    fn new(budget: &'b Cell<usize>) -> Self {
        Builder {
            text: String::new(),
            pattern: String::new(),
            globbing: false,
            substitutions: Vec::new(),
            vars: Vec::new(),
            arith: Vec::new(),
            code: Vec::new(),
            assigns: Vec::new(),
            budget,
            known: None,
        }
    }

    fn finish(self) -> Arg {
        // A bracket that does not close is literal to the shell (`[` is the test program).
        let globbing = self.globbing && glob::Pattern::new(&self.pattern).is_ok();
        Arg {
            text: self.text,
            pattern: globbing.then_some(self.pattern),
            substitutions: self.substitutions,
            vars: self.vars,
            arith: self.arith,
            code: self.code,
            assigns: self.assigns,
        }
    }

    fn literal(&mut self, s: &str) {
        self.text.push_str(s);
        self.pattern.push_str(&glob::Pattern::escape(s));
    }

    fn unquoted(&mut self, s: &str) {
        self.text.push_str(s);
        self.pattern.push_str(s);
        if s.contains(['*', '?', '[']) {
            self.globbing = true;
        }
    }

    fn dynamic(&mut self) {
        self.text.push(DYN);
        self.pattern.push('*');
    }

    fn piece(&mut self, piece: &WordPiece, quoted: bool, options: &ParserOptions, depth: usize) -> Result<(), String> {
        if depth > MAX_NESTING {
            return Err("expansions nest too deeply".into());
        }
        let left = self.budget.get();
        if left == 0 {
            return Err("the word is too complex to expand".into());
        }
        self.budget.set(left - 1);
        match piece {
            WordPiece::Text(s) if quoted => self.literal(s),
            WordPiece::Text(s) => self.unquoted(s),
            WordPiece::SingleQuotedText(s) => self.literal(s),
            WordPiece::AnsiCQuotedText(s) => self.literal(&ansi_c(s)),
            WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                for p in inner {
                    self.piece(&p.piece, true, options, depth + 1)?;
                }
            }
            WordPiece::TildeExpansion(t) => match t {
                TildeExpr::Home => self.literal("~"),
                TildeExpr::UserHome(user) => self.literal(&format!("~{user}")),
                TildeExpr::WorkingDir => self.literal("."),
                TildeExpr::OldWorkingDir
                | TildeExpr::NthDirFromTopOfDirStack { .. }
                | TildeExpr::NthDirFromBottomOfDirStack { .. } => self.dynamic(),
            },
            WordPiece::ParameterExpansion(expr) => {
                for nested in parameter_texts(expr) {
                    let inner = within(nested, options, depth + 1, self.budget)?;
                    self.absorb(inner, false);
                }
                self.parameter(expr, options, depth)?;
                let value = match expr {
                    ParameterExpr::Parameter { parameter: word::Parameter::Named(n), indirect: false } => {
                        self.known.and_then(|k| k.get(n))
                    }
                    _ => None,
                };
                match value {
                    _ if is_home(expr) => self.literal("~"),
                    Some(v) if quoted || !v.contains([' ', '\t', '\n', '*', '?', '[']) => {
                        let v = v.clone();
                        self.literal(&v);
                    }
                    _ => self.dynamic(),
                }
            }
            WordPiece::CommandSubstitution(body) | WordPiece::BackquotedCommandSubstitution(body) => {
                self.substitutions.push(body.clone());
                self.dynamic();
            }
            WordPiece::EscapeSequence(s) => {
                let escaped = s.strip_prefix('\\').unwrap_or(s);
                if escaped == "\n" {
                    // A line continuation.
                } else if quoted && !matches!(escaped, "$" | "`" | "\"" | "\\") {
                    self.literal(s);
                } else {
                    self.literal(escaped);
                }
            }
            WordPiece::ArithmeticExpression(expr) => {
                let inner = within(&expr.value, options, depth + 1, self.budget)?;
                self.absorb(inner, true);
                self.arith.extend(crate::rules::arith_names(&expr.value));
                self.dynamic();
            }
        }
        Ok(())
    }
}

impl Builder<'_> {
    /// Takes what nested text expands; in arithmetic (`arith`), the variables it expands are
    /// evaluated arithmetically too.
    fn absorb(&mut self, inner: Arg, arith: bool) {
        self.substitutions.extend(inner.substitutions);
        if arith {
            self.arith.extend(inner.vars.iter().cloned());
        }
        self.vars.extend(inner.vars);
        self.arith.extend(inner.arith);
        self.code.extend(inner.code);
        self.assigns.extend(inner.assigns);
    }

    /// Notes what a parameter expansion evaluates: the variable, a subscript (arithmetic, and
    /// its commands), an offset, an indirection, a prompt expansion, an assignment.
    fn parameter(&mut self, expr: &ParameterExpr, options: &ParserOptions, depth: usize) -> Result<(), String> {
        let Some((parameter, indirect)) = parameter_of(expr) else { return Ok(()) };
        let name = match parameter {
            word::Parameter::Named(n) => n.clone(),
            word::Parameter::NamedWithIndex { name, index } => {
                let inner = within(index, options, depth + 1, self.budget)?;
                self.absorb(inner, true);
                self.arith.extend(crate::rules::arith_names(index));
                name.clone()
            }
            word::Parameter::NamedWithAllIndices { name, .. } => name.clone(),
            word::Parameter::Positional(n) => n.to_string(),
            word::Parameter::Special(_) => String::new(),
        };
        if !name.is_empty() {
            self.vars.push(name.clone());
        }
        if indirect {
            self.code
                .push(format!("${{!{name}}} takes the value of {name} as a variable name, with any subscript in it"));
        }
        match expr {
            ParameterExpr::Transform { op: word::ParameterTransformOp::PromptExpand, .. } => {
                self.code
                    .push(format!("${{{name}@P}} expands the value of {name} as a prompt, running the commands in it"));
            }
            ParameterExpr::AssignDefaultValues { .. } => self.assigns.push(name),
            ParameterExpr::Substring { offset, length, .. } => {
                self.arith.extend(crate::rules::arith_names(&offset.value));
                if let Some(l) = length {
                    self.arith.extend(crate::rules::arith_names(&l.value));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The parameter an expansion reads and whether it is indirect (`${!x}`); `None` for the
/// name listings (`${!prefix*}`, `${!a[@]}`).
fn parameter_of(expr: &ParameterExpr) -> Option<(&word::Parameter, bool)> {
    match expr {
        ParameterExpr::Parameter { parameter, indirect }
        | ParameterExpr::UseDefaultValues { parameter, indirect, .. }
        | ParameterExpr::AssignDefaultValues { parameter, indirect, .. }
        | ParameterExpr::IndicateErrorIfNullOrUnset { parameter, indirect, .. }
        | ParameterExpr::UseAlternativeValue { parameter, indirect, .. }
        | ParameterExpr::ParameterLength { parameter, indirect }
        | ParameterExpr::RemoveSmallestSuffixPattern { parameter, indirect, .. }
        | ParameterExpr::RemoveLargestSuffixPattern { parameter, indirect, .. }
        | ParameterExpr::RemoveSmallestPrefixPattern { parameter, indirect, .. }
        | ParameterExpr::RemoveLargestPrefixPattern { parameter, indirect, .. }
        | ParameterExpr::Substring { parameter, indirect, .. }
        | ParameterExpr::Transform { parameter, indirect, .. }
        | ParameterExpr::UppercaseFirstChar { parameter, indirect, .. }
        | ParameterExpr::UppercasePattern { parameter, indirect, .. }
        | ParameterExpr::LowercaseFirstChar { parameter, indirect, .. }
        | ParameterExpr::LowercasePattern { parameter, indirect, .. }
        | ParameterExpr::ReplaceSubstring { parameter, indirect, .. } => Some((parameter, *indirect)),
        ParameterExpr::VariableNames { .. } | ParameterExpr::MemberKeys { .. } => None,
    }
}

/// `$HOME` or `${HOME}`.
fn is_home(expr: &ParameterExpr) -> bool {
    matches!(expr, ParameterExpr::Parameter { parameter: word::Parameter::Named(n), indirect: false } if n == "HOME")
}

/// The texts inside a parameter expansion that are expanded themselves.
fn parameter_texts(expr: &ParameterExpr) -> Vec<&str> {
    match expr {
        ParameterExpr::UseDefaultValues { default_value: v, .. }
        | ParameterExpr::AssignDefaultValues { default_value: v, .. } => v.iter().map(String::as_str).collect(),
        ParameterExpr::IndicateErrorIfNullOrUnset { error_message: v, .. } => v.iter().map(String::as_str).collect(),
        ParameterExpr::UseAlternativeValue { alternative_value: v, .. } => v.iter().map(String::as_str).collect(),
        ParameterExpr::RemoveSmallestSuffixPattern { pattern: v, .. }
        | ParameterExpr::RemoveLargestSuffixPattern { pattern: v, .. }
        | ParameterExpr::RemoveSmallestPrefixPattern { pattern: v, .. }
        | ParameterExpr::RemoveLargestPrefixPattern { pattern: v, .. }
        | ParameterExpr::UppercaseFirstChar { pattern: v, .. }
        | ParameterExpr::UppercasePattern { pattern: v, .. }
        | ParameterExpr::LowercaseFirstChar { pattern: v, .. }
        | ParameterExpr::LowercasePattern { pattern: v, .. } => v.iter().map(String::as_str).collect(),
        ParameterExpr::Substring { offset, length, .. } => {
            let mut v = vec![offset.value.as_str()];
            v.extend(length.iter().map(|l| l.value.as_str()));
            v
        }
        ParameterExpr::ReplaceSubstring { pattern, replacement, .. } => {
            let mut v = vec![pattern.as_str()];
            v.extend(replacement.iter().map(String::as_str));
            v
        }
        ParameterExpr::Parameter { .. }
        | ParameterExpr::ParameterLength { .. }
        | ParameterExpr::Transform { .. }
        | ParameterExpr::VariableNames { .. }
        | ParameterExpr::MemberKeys { .. } => Vec::new(),
    }
}

/// Brace expansion: the raw words one raw word becomes.
fn braces(raw: &str, options: &ParserOptions) -> Result<Vec<String>, String> {
    if !raw.contains('{') {
        return Ok(vec![raw.to_owned()]);
    }
    match crate::shell::guard(|| word::parse_brace_expansions(raw, options))? {
        Ok(Some(parts)) => {
            let mut out = vec![String::new()];
            append_parts(&mut out, &parts)?;
            Ok(out)
        }
        Ok(None) | Err(_) => Ok(vec![raw.to_owned()]),
    }
}

fn append_parts(out: &mut Vec<String>, parts: &[BraceExpressionOrText]) -> Result<(), String> {
    for part in parts {
        match part {
            BraceExpressionOrText::Text(t) => out.iter_mut().for_each(|o| o.push_str(t)),
            BraceExpressionOrText::Expr(members) => {
                let mut alternatives = Vec::new();
                for m in members {
                    alternatives.extend(member_words(m)?);
                    if alternatives.len() > MAX_BRACE_WORDS {
                        return Err("brace expansion makes too many words".into());
                    }
                }
                if out.len().saturating_mul(alternatives.len()) > MAX_BRACE_WORDS {
                    return Err("brace expansion makes too many words".into());
                }
                *out = out.iter().flat_map(|o| alternatives.iter().map(move |a| format!("{o}{a}"))).collect();
            }
        }
    }
    Ok(())
}

fn member_words(m: &BraceExpressionMember) -> Result<Vec<String>, String> {
    let too_many = || "brace expansion makes too many words".to_owned();
    match m {
        BraceExpressionMember::Child(parts) => {
            let mut out = vec![String::new()];
            append_parts(&mut out, parts)?;
            Ok(out)
        }
        BraceExpressionMember::NumberSequence { start, end, increment } => {
            let step = increment.checked_abs().filter(|s| *s > 0).unwrap_or(1);
            let count = (i128::from(*end) - i128::from(*start)).unsigned_abs() / step.unsigned_abs() as u128 + 1;
            if count > MAX_BRACE_WORDS as u128 {
                return Err(too_many());
            }
            let mut v = Vec::new();
            let mut n = i128::from(*start);
            let step = if end >= start { i128::from(step) } else { -i128::from(step) };
            for _ in 0..count {
                v.push(n.to_string());
                n += step;
            }
            Ok(v)
        }
        BraceExpressionMember::CharSequence { start, end, increment } => {
            let (a, b) = (u32::from(*start), u32::from(*end));
            let step = u32::try_from(increment.unsigned_abs()).unwrap_or(1).max(1);
            let (lo, hi) = (a.min(b), a.max(b));
            if (hi - lo) / step + 1 > MAX_BRACE_WORDS as u32 {
                return Err(too_many());
            }
            let mut v: Vec<String> =
                (lo..=hi).step_by(step as usize).filter_map(char::from_u32).map(String::from).collect();
            if b < a {
                v.reverse();
            }
            Ok(v)
        }
    }
}

/// Decodes the escapes of ANSI-C quoting (`$'...'`).
fn ansi_c(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match e {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'e' | 'E' => Some('\u{1b}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' | '\'' | '"' | '?' => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        let (radix, max) = match e {
            '0'..='7' => (8, 3),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            'c' => {
                if let Some(x) = chars.next() {
                    out.push(char::from_u32(u32::from(x) & 0x1f).unwrap_or(x));
                }
                continue;
            }
            other => {
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        while digits.len() < max {
            match chars.peek() {
                Some(d) if d.is_digit(radix) => {
                    digits.push(*d);
                    chars.next();
                }
                _ => break,
            }
        }
        match u32::from_str_radix(&digits, radix).ok().and_then(char::from_u32) {
            Some(c) => out.push(c),
            None => {
                out.push('\\');
                out.push(e);
                if radix != 8 {
                    out.push_str(&digits);
                } else {
                    out.push_str(digits.get(1..).unwrap_or_default());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(raw: &str) -> Vec<String> {
        expand(raw, &ParserOptions::default()).expect("expands").into_iter().map(|a| a.text).collect()
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        assert_eq!(texts("r''m"), ["rm"]);
        assert_eq!(texts("\\rm"), ["rm"]);
        assert_eq!(texts("\"r\"m"), ["rm"]);
        assert_eq!(texts("$'\\162\\x6d'"), ["rm"]);
        assert_eq!(texts("$'\\u0072m'"), ["rm"]);
        assert_eq!(texts("\"a\\b\""), ["a\\b"]);
    }

    #[test]
    fn braces_make_words() {
        assert_eq!(texts("{rm,-rf,/}"), ["rm", "-rf", "/"]);
        assert_eq!(texts("x{1..3}"), ["x1", "x2", "x3"]);
        assert_eq!(texts("'{a,b}'"), ["{a,b}"]);
        assert!(expand("{1..100000}", &ParserOptions::default()).is_err());
    }

    #[test]
    fn run_time_parts_are_marked() {
        let args = expand("\"$(echo /)\"", &ParserOptions::default()).expect("expands");
        assert_eq!(args[0].text, DYN.to_string());
        assert_eq!(args[0].substitutions, ["echo /"]);
        assert_eq!(texts("$HOME/x"), ["~/x"]);
        let args = expand("${x:-$(rm -rf /)}", &ParserOptions::default()).expect("expands");
        assert_eq!(args[0].substitutions, ["rm -rf /"]);
    }

    #[test]
    fn globs_are_patterns_only_when_unquoted() {
        let a = &expand("/*", &ParserOptions::default()).expect("expands")[0];
        assert_eq!(a.pattern.as_deref(), Some("/*"));
        let a = &expand("'/*'", &ParserOptions::default()).expect("expands")[0];
        assert_eq!(a.pattern, None);
    }
}
