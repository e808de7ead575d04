//! Shell builtins whose words bash evaluates: as arithmetic (`let`, `(( ))`, `[[ x -eq y ]]`),
//! as variable names that may carry a subscript (`read`, `printf -v`, `declare`, `local`,
//! `unset`, `mapfile`, `test -v`, `typeset -n`), or as code (`mapfile -C`, `alias`,
//! `enable`). A subscript is arithmetic, and bash runs the command substitutions in it, so
//! `[[ -v 'a[$(touch x)]' ]]` runs `touch x` although it is quoted. Such words are code:
//! `unknown` at least, and the commands in them are classified too. Variables set from input
//! are remembered, so that evaluating them arithmetically later is code as well.

use super::env::{Setting, holds_code};
use super::{Input, Rules, Step};
use crate::shell::words::{Arg, DYN};

impl Rules<'_, '_> {
    /// Handles builtins with bash semantics; false when `name` is not one.
    pub(super) fn builtin(&mut self, name: &str, args: &[Arg]) -> bool {
        match name {
            "read" => self.read_builtin(args),
            "printf" => self.printf(args),
            "test" | "[" => self.test_builtin(name, args),
            "let" => {
                for a in args {
                    self.arith_word("let", a);
                }
                self.read("shell.let", "`let` evaluates arithmetic");
            }
            "declare" | "typeset" | "local" | "export" | "readonly" => self.declare(name, args),
            "unset" => {
                let Some(scan) = self.options("unset", "unset", args) else { return true };
                for a in &scan.operands {
                    self.name_word("unset", a);
                }
                self.read("shell.unset", "`unset` removes shell variables or functions");
            }
            "mapfile" | "readarray" => self.mapfile(name, args),
            "wait" => {
                let Some(scan) = self.options("wait", "wait", args) else { return true };
                let names: Vec<String> = scan
                    .values(&["-p"])
                    .cloned()
                    .collect::<Vec<_>>()
                    .iter()
                    .filter_map(|a| self.name_word("wait -p", a))
                    .collect();
                self.steps.push(Step::Taint(names));
                self.read("shell.wait", "`wait` waits for background jobs");
            }
            "getopts" => {
                if let Some(var) = args.get(1) {
                    let names = self.name_word("getopts", var).into_iter().collect();
                    self.steps.push(Step::Taint(names));
                }
                self.read("shell.getopts", "`getopts` parses options");
            }
            "set" => {
                let Some(scan) = self.options("set", "set", args) else { return true };
                let all_export = scan.has(&["-a"])
                    || scan.given.iter().any(|g| g.name == "-o") && scan.operands.iter().any(|o| o.text == "allexport");
                if all_export {
                    self.steps.push(Step::ExportAll);
                }
                if let Some(a) = scan.operands.iter().find(|a| holds_code(&a.text)) {
                    self.unknown(
                        "shell.set.code-text",
                        format!("sets positional parameters to text bash may run (`{}`)", a.shown()),
                    );
                }
                self.steps.push(Step::Taint(vec!["@".into()]));
                self.read("shell.set", "`set` sets shell options or positional parameters");
            }
            "enable" => {
                let listing = args.iter().all(|a| matches!(a.text.as_str(), "-p" | "-a" | "-s"));
                if listing {
                    self.read("shell.enable", "lists builtins");
                } else {
                    self.unknown(
                        "shell.enable",
                        "`enable` loads, enables or disables builtins, which changes what a command name runs",
                    );
                }
            }
            "alias" => {
                for a in args {
                    if let Some((alias, value)) = a.text.split_once('=') {
                        if a.has_dynamic() {
                            self.unknown("shell.alias", "defines an alias whose text is only known at run time");
                        }
                        self.steps.push(Step::Alias(alias.to_owned(), value.to_owned()));
                        self.script(value.to_owned(), Input::Unknown);
                    }
                }
                self.read("shell.alias", "defines or lists aliases (their commands are classified too)");
            }
            "top" => {
                if let Some(scan) = self.options("top", "top", args) {
                    if scan.has(&["-b"]) {
                        self.read("shell.read-only-program", "`top -b` prints and exits");
                    } else {
                        self.interactive("shell.interactive-program", "`top` needs a terminal");
                    }
                }
            }
            _ => return false,
        }
        true
    }

    /// A word bash evaluates arithmetically: text holding a command is code; the variables it
    /// names are evaluated too.
    pub(super) fn arith_word(&mut self, what: &str, a: &Arg) {
        if holds_code(&a.text) {
            self.code_text(what, a);
        }
        let mut names = arith_names(&a.text.replace(DYN, " "));
        names.extend(a.vars.iter().cloned());
        if !names.is_empty() {
            self.steps.push(Step::Arith(names));
        }
    }

    /// A word bash takes as a variable name, possibly with a subscript (`a[i]`); returns the
    /// name when it is known.
    pub(super) fn name_word(&mut self, what: &str, a: &Arg) -> Option<String> {
        if a.has_dynamic() {
            self.unknown(
                "shell.name.computed",
                format!("`{what}` sets a variable whose name is only known at run time (`{}`)", a.shown()),
            );
            return None;
        }
        let text = a.text.split_once('=').map_or(a.text.as_str(), |(n, _)| n);
        let (name, subscript) = match text.split_once('[') {
            Some((n, rest)) => (n, Some(rest.strip_suffix(']').unwrap_or(rest))),
            None => (text, None),
        };
        if let Some(sub) = subscript {
            if holds_code(sub) {
                self.code_text(what, &Arg::literal(sub));
            }
            let names = arith_names(sub);
            if !names.is_empty() {
                self.steps.push(Step::Arith(names));
            }
        }
        Some(name.to_owned())
    }

    /// Text that bash runs as commands when it evaluates it: `unknown`, and the commands are
    /// classified.
    fn code_text(&mut self, what: &str, a: &Arg) {
        self.unknown(
            "shell.eval.subscript",
            format!("`{what}`: bash evaluates `{}`, which runs the commands in it", a.shown()),
        );
        match crate::shell::words::substitutions_in(&a.text, &Default::default(), 0) {
            Ok(subs) => {
                for s in subs {
                    self.script(s, Input::Unknown);
                }
            }
            Err(e) => self.unknown("shell.eval.subscript", format!("`{what}`: {e}")),
        }
    }

    fn read_builtin(&mut self, args: &[Arg]) {
        let Some(scan) = self.options("read", "read", args) else { return };
        let mut names = Vec::new();
        for a in scan.values(&["-a"]).cloned().collect::<Vec<_>>().iter().chain(scan.operands.iter().copied()) {
            names.extend(self.name_word("read", a));
        }
        if names.is_empty() {
            names.push("REPLY".into());
        }
        self.steps.push(Step::Taint(names));
        self.read("shell.read", "`read` reads a line into variables");
    }

    fn printf(&mut self, args: &[Arg]) {
        let (target, rest): (Option<Arg>, &[Arg]) = match args {
            [v, name, rest @ ..] if v.text == "-v" => (Some(name.clone()), rest),
            [v, rest @ ..] if v.text.starts_with("-v") && v.text.len() > 2 => (Some(Arg::literal(&v.text[2..])), rest),
            [dd, rest @ ..] if dd.text == "--" => (None, rest),
            _ => (None, args),
        };
        if let Some(name) = &target {
            let names = self.name_word("printf -v", name).into_iter().collect();
            self.steps.push(Step::Taint(names));
        }
        if let Some(first) = rest.first()
            && first.text.starts_with('-')
            && first.text != "-"
        {
            self.find(super::unknown_option("printf", &first.shown()));
            return;
        }
        if target.is_none()
            && let [format] = rest
            && format.is_exact()
            && !format.text.contains('%')
        {
            self.out = Some(super::Out::Text(format.text.replace("\\n", "\n")));
        }
        self.read("shell.read-only-program", "`printf` only prints");
    }

    fn test_builtin(&mut self, name: &str, args: &[Arg]) {
        let words: Vec<&Arg> = args.iter().filter(|a| !(name == "[" && a.text == "]")).collect();
        for (i, a) in words.iter().enumerate() {
            if a.text == "-v"
                && let Some(var) = words.get(i + 1)
            {
                self.name_word(&format!("{name} -v"), var);
            }
        }
        self.read("shell.test", format!("`{name}` tests a condition"));
    }

    fn declare(&mut self, name: &str, args: &[Arg]) {
        let Some(scan) = self.options("declare", name, args) else { return };
        let export = name == "export" || scan.has(&["-x"]);
        let integer = scan.has(&["-i"]);
        let nameref = scan.has(&["-n"]);
        if scan.has(&["-f", "-F"]) && !export {
            self.read("shell.variables", format!("`{name} -f` lists functions"));
            return;
        }
        let mut tainted = Vec::new();
        for a in &scan.operands {
            let Some(var) = self.name_word(name, a) else { continue };
            let value = a.text.split_once('=').map(|(_, v)| v);
            if let Some(v) = value {
                if holds_code(v) {
                    self.code_text(name, &Arg::literal(v));
                }
                let values = [Arg::literal(v)];
                let how = if export { Setting::Exported } else { Setting::Shell };
                let f = super::env::assignment(&var, &values, how);
                self.find(f);
                if integer {
                    self.arith_word(name, &values[0]);
                }
                if nameref {
                    // A reference to `a[$(...)]` runs the command whenever it is used.
                    let target = Arg::literal(v);
                    self.name_word(&format!("{name} -n"), &target);
                }
            } else if export {
                let f = super::env::assignment(&var, &[], Setting::Exported);
                self.find(f);
            }
            match value {
                Some(v) if numeric(v) => {}
                None if !integer && !nameref => {}
                _ => tainted.push(var),
            }
        }
        self.steps.push(Step::Taint(tainted));
        if integer || nameref {
            // Every later assignment to these is evaluated (as arithmetic or as a name).
            let names: Vec<String> =
                scan.operands.iter().filter_map(|a| a.text.split(['=', '[']).next().map(str::to_owned)).collect();
            self.steps.push(Step::Arith(names));
        }
        self.read("shell.variables", format!("`{name}` sets shell variables"));
    }

    fn mapfile(&mut self, name: &str, args: &[Arg]) {
        let Some(scan) = self.options("mapfile", name, args) else { return };
        if let Some(callback) = scan.last(&["-C"]).and_then(|g| g.value.clone()) {
            self.unknown("shell.mapfile.callback", format!("`{name} -C` runs `{}` for lines read", callback.shown()));
            if callback.is_exact() {
                self.script(callback.text.clone(), Input::Unknown);
            }
        }
        let mut names = Vec::new();
        for a in &scan.operands {
            names.extend(self.name_word(name, a));
        }
        if names.is_empty() {
            names.push("MAPFILE".into());
        }
        self.steps.push(Step::Taint(names));
        self.read("shell.read", format!("`{name}` reads lines into an array"));
    }
}

/// Whether a value is a number (safe to evaluate arithmetically).
pub(crate) fn numeric(v: &str) -> bool {
    let v = v.trim();
    let v = v.strip_prefix(['-', '+']).unwrap_or(v);
    !v.is_empty() && v.chars().all(|c| c.is_ascii_digit())
}

/// The variable names an arithmetic expression refers to (bash evaluates their values as
/// expressions too); positional parameters are named `1`, `2`, ... and `@`.
pub(crate) fn arith_names(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'(') {
            // A command substitution: its words are commands, classified elsewhere.
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                i += 1;
                while chars.get(i).is_some_and(|c| matches!(c, '!' | '#')) {
                    i += 1;
                }
            }
            if chars.get(i).is_some_and(|c| c.is_ascii_digit() || matches!(c, '@' | '*')) {
                out.push(chars[i].to_string());
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '#' | '@' | '_')) {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_arithmetic() {
        assert_eq!(arith_names("x + y[i] * 2"), ["x", "y", "i"]);
        assert_eq!(arith_names("16#ff + 0x1F + $z + ${w}"), ["z", "w"]);
        assert_eq!(arith_names("$(date +%s) - start"), ["start"]);
        assert_eq!(arith_names("$1 + 1"), ["1"]);
        assert!(numeric("42") && numeric("-3") && !numeric("a[1]") && !numeric(""));
    }
}
