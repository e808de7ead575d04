//! sed and awk programs: what they do beyond printing.
//!
//! A sed script is parsed command by command as GNU sed reads it (addresses, `!`, blocks,
//! `s` with any delimiter and its flags, `y`, text commands, labels, file names to the end of
//! the line): `e` and the `e` flag run commands, `w`/`W` and the `w` flag write files, `r`/`R`
//! read them; a command sed does not have makes the script unknown. An awk program is scanned
//! with its strings, regular expressions and comments set apart: `system()`, pipes (`|`,
//! `|&`), `print`/`printf` redirected with `>`/`>>`, `getline < file` and gawk's `@include`
//! and `@load` are found.

use super::{Input, Rules};
use crate::shell::paths::redirect_target;
use crate::shell::secrets;
use crate::shell::words::Arg;

/// What a sed or awk program does beyond printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Runs a command.
    Runs(String),
    /// Writes this file (`None`: a file only known at run time).
    Writes(Option<String>),
    /// Reads this file.
    Reads(Option<String>),
    /// The program could not be read; why.
    Unreadable(String),
    /// Loads code (gawk `@load`, `@include`).
    Loads(String),
    /// Edits its input files in place (gawk `@include "inplace"`).
    InPlace,
}

impl Rules<'_, '_> {
    pub(super) fn sed(&mut self, args: &[Arg]) {
        let Some(p) = self.options("sed", "sed", args) else { return };
        let in_place = p.has(&["-i", "--in-place"]);
        let sandbox = p.has(&["--sandbox"]);
        let mut scripts: Vec<String> = p.values(&["-e", "--expression"]).map(|a| a.text.clone()).collect();
        let mut files: Vec<&Arg> = p.operands.clone();
        if scripts.is_empty() && !p.has(&["-f", "--file"]) && !files.is_empty() {
            scripts.push(files.remove(0).text.clone());
        }
        for s in &scripts {
            for e in sed_effects(s) {
                self.program_effect("sed", e, sandbox);
            }
        }
        if in_place {
            self.changed(&files, "edits in place");
        } else {
            self.read("shell.sed", "`sed` without `-i` prints");
        }
    }

    pub(super) fn awk(&mut self, name: &str, args: &[Arg]) {
        let Some(p) = self.options("awk", name, args) else { return };
        let sandbox = p.has(&["-S", "--sandbox"]);
        let mut in_place = false;
        for inc in p.values(&["-i", "--include"]) {
            if matches!(inc.text.as_str(), "inplace" | "inplace.awk") {
                in_place = true;
            } else {
                self.unknown(
                    "shell.awk.include",
                    format!("`{name} -i {}` loads awk source that is not known", inc.shown()),
                );
            }
        }
        let mut programs: Vec<String> = p.values(&["-e", "--source"]).map(|a| a.text.clone()).collect();
        let mut operands: Vec<&Arg> = p.operands.clone();
        if programs.is_empty() && !p.has(&["-f", "--file", "-E", "--exec"]) {
            if operands.is_empty() {
                self.unknown("shell.awk.no-program", format!("`{name}` without a program"));
                return;
            }
            programs.push(operands.remove(0).text.clone());
        }
        for prog in &programs {
            for e in awk_effects(prog) {
                if e == Effect::InPlace {
                    in_place = true;
                } else {
                    self.program_effect(name, e, sandbox);
                }
            }
        }
        // Operands are files, or `var=value` assignments.
        let files: Vec<&Arg> =
            operands.into_iter().filter(|a| !a.text.split('/').next().unwrap_or_default().contains('=')).collect();
        if in_place {
            self.changed(&files, "edits in place");
            return;
        }
        for f in &files {
            if let Some(what) = self.secret(f) {
                self.sensitive(super::SECRET_RULE, format!("`{name}` reads {} ({what})", f.shown()));
            }
        }
        self.read("shell.awk", format!("the `{name}` program only prints"));
    }

    fn program_effect(&mut self, name: &str, e: Effect, sandbox: bool) {
        match e {
            // The sandbox refuses these at run time.
            Effect::Runs(_) | Effect::Writes(_) | Effect::Reads(_) | Effect::Loads(_) if sandbox => {}
            Effect::Runs(cmd) => {
                self.unknown(
                    if name == "sed" { "shell.sed.execute" } else { "shell.awk.effects" },
                    format!(
                        "the {name} program runs commands{}",
                        if cmd.is_empty() { String::new() } else { format!(" (`{cmd}`)") }
                    ),
                );
                if !cmd.is_empty() {
                    self.script(cmd, Input::Unknown);
                }
            }
            Effect::Writes(Some(file)) => {
                let f = redirect_target(&Arg::literal(file), self.ctx.cwd);
                let f = if f.class == crate::verdict::Class::Read {
                    f
                } else {
                    crate::verdict::Finding::new(
                        f.class,
                        if name == "sed" { "shell.sed.write-command" } else { "shell.awk.effects" },
                        format!("the {name} program: {}", f.message),
                    )
                };
                self.find(f);
            }
            Effect::Writes(None) => {
                self.write("shell.awk.effects", format!("the {name} program writes a file only known at run time"))
            }
            Effect::Reads(Some(file)) => {
                if let Some(what) = secrets::secret(&Arg::literal(&file), self.ctx.cwd) {
                    self.sensitive(super::SECRET_RULE, format!("the {name} program reads {file} ({what})"));
                }
            }
            Effect::Reads(None) => {}
            Effect::Unreadable(why) => self.unknown("shell.program.unreadable", format!("the {name} program: {why}")),
            Effect::Loads(what) => self.unknown("shell.awk.effects", format!("the {name} program loads {what}")),
            Effect::InPlace => {}
        }
    }
}

/// The effects of a GNU sed script.
pub(crate) fn sed_effects(script: &str) -> Vec<Effect> {
    let c: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let to_eol = |i: &mut usize| -> String {
        let start = *i;
        while *i < c.len() && c[*i] != '\n' {
            *i += 1;
        }
        c[start..*i].iter().collect::<String>()
    };
    let label = |i: &mut usize| {
        while *i < c.len() && !matches!(c[*i], '\n' | ';' | '}') {
            *i += 1;
        }
    };
    // Skips a delimited part (`/re/`), honouring escapes; false when it does not end.
    let delimited = |i: &mut usize, delim: char| -> bool {
        while *i < c.len() {
            match c[*i] {
                '\\' => *i += 2,
                ch if ch == delim => {
                    *i += 1;
                    return true;
                }
                '\n' if delim != '\n' => return false,
                _ => *i += 1,
            }
        }
        false
    };
    while i < c.len() {
        while i < c.len() && (c[i].is_whitespace() || c[i] == ';') {
            i += 1;
        }
        if i >= c.len() {
            break;
        }
        // Addresses.
        for n in 0..2 {
            if n == 1 {
                if c.get(i) != Some(&',') {
                    break;
                }
                i += 1;
                while c.get(i).is_some_and(|ch| *ch == ' ') {
                    i += 1;
                }
                if c.get(i).is_some_and(|ch| matches!(ch, '+' | '~')) {
                    i += 1;
                }
            }
            match c.get(i) {
                Some(d) if d.is_ascii_digit() => {
                    while c.get(i).is_some_and(|ch| ch.is_ascii_digit() || *ch == '~') {
                        i += 1;
                    }
                }
                Some('$') => i += 1,
                Some('/') => {
                    i += 1;
                    if !delimited(&mut i, '/') {
                        out.push(Effect::Unreadable("an address does not end".into()));
                        return out;
                    }
                }
                Some('\\') => {
                    let Some(&d) = c.get(i + 1) else { break };
                    i += 2;
                    if !delimited(&mut i, d) {
                        out.push(Effect::Unreadable("an address does not end".into()));
                        return out;
                    }
                }
                _ => {}
            }
            while c.get(i).is_some_and(|ch| matches!(ch, 'I' | 'M')) {
                i += 1;
            }
        }
        while c.get(i).is_some_and(|ch| *ch == ' ' || *ch == '!') {
            i += 1;
        }
        let Some(&cmd) = c.get(i) else { break };
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z' | 'F' => {}
            'l' | 'L' | 'q' | 'Q' => {
                while c.get(i).is_some_and(|ch| ch.is_ascii_digit() || *ch == ' ') {
                    i += 1;
                }
            }
            '#' | 'a' | 'i' | 'c' => {
                to_eol(&mut i);
            }
            ':' | 'b' | 't' | 'T' | 'v' => label(&mut i),
            'r' | 'R' => out.push(Effect::Reads(Some(to_eol(&mut i).trim().to_owned()))),
            'w' | 'W' => out.push(Effect::Writes(Some(to_eol(&mut i).trim().to_owned()))),
            'e' => out.push(Effect::Runs(to_eol(&mut i).trim().to_owned())),
            's' | 'y' => {
                let Some(&d) = c.get(i) else {
                    out.push(Effect::Unreadable(format!("`{cmd}` without its parts")));
                    return out;
                };
                if d == '\n' || d == '\\' {
                    out.push(Effect::Unreadable(format!("`{cmd}` with the delimiter {d:?}")));
                    return out;
                }
                i += 1;
                if !delimited(&mut i, d) || !delimited(&mut i, d) {
                    out.push(Effect::Unreadable(format!("a `{cmd}` command does not end")));
                    return out;
                }
                if cmd == 's' {
                    while let Some(&f) = c.get(i) {
                        match f {
                            'g' | 'p' | 'P' | 'i' | 'I' | 'm' | 'M' => i += 1,
                            d if d.is_ascii_digit() => i += 1,
                            'e' => {
                                i += 1;
                                out.push(Effect::Runs(String::new()));
                            }
                            'w' => {
                                i += 1;
                                out.push(Effect::Writes(Some(to_eol(&mut i).trim().to_owned())));
                            }
                            _ => break,
                        }
                    }
                }
            }
            other => {
                out.push(Effect::Unreadable(format!("`{other}` is not a sed command")));
                return out;
            }
        }
    }
    out
}

/// The effects of an awk program.
pub(crate) fn awk_effects(program: &str) -> Vec<Effect> {
    let tokens = awk_tokens(program);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Word(w) if w == "system" => out.push(Effect::Runs(String::new())),
            Tok::Punct(p) if p == "|" || p == "|&" => out.push(Effect::Runs(String::new())),
            Tok::Punct(p) if p == "@" => match tokens.get(i + 1) {
                Some(Tok::Word(w)) if w == "include" => match tokens.get(i + 2) {
                    Some(Tok::Str(s)) if matches!(s.as_str(), "inplace" | "inplace.awk") => out.push(Effect::InPlace),
                    _ => out.push(Effect::Loads("awk source".into())),
                },
                Some(Tok::Word(w)) if w == "namespace" => {}
                _ => out.push(Effect::Loads("an extension".into())),
            },
            Tok::Word(w) if w == "getline" => {
                let at = if matches!(tokens.get(i + 1), Some(Tok::Word(_))) { i + 2 } else { i + 1 };
                if let Some(Tok::Punct(p)) = tokens.get(at)
                    && p == "<"
                {
                    out.push(Effect::Reads(match tokens.get(at + 1) {
                        Some(Tok::Str(s)) => Some(s.clone()),
                        _ => None,
                    }));
                }
            }
            Tok::Word(w) if w == "print" || w == "printf" => {
                // To the end of the statement, outside parentheses: `>` and `>>` redirect.
                let mut depth = 0i32;
                let mut j = i + 1;
                while j < tokens.len() {
                    match &tokens[j] {
                        Tok::Punct(p) if p == "(" || p == "[" => depth += 1,
                        Tok::Punct(p) if p == ")" || p == "]" => depth -= 1,
                        Tok::Punct(p) if depth <= 0 && matches!(p.as_str(), ";" | "}" | "{" | "\n") => break,
                        Tok::Punct(p) if depth <= 0 && (p == ">" || p == ">>") => {
                            let target = match tokens.get(j + 1) {
                                Some(Tok::Str(s)) => Some(s.clone()),
                                _ => None,
                            };
                            out.push(Effect::Writes(target));
                            break;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            Tok::Unterminated => out.push(Effect::Unreadable("a string or regular expression does not end".into())),
            _ => {}
        }
        i += 1;
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Regex,
    Number,
    Punct(String),
    Unterminated,
}

/// Splits an awk program into tokens; `/` starts a regular expression where an operand is
/// expected.
fn awk_tokens(program: &str) -> Vec<Tok> {
    let c: Vec<char> = program.chars().collect();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            out.push(Tok::Punct("\n".into()));
            i += 1;
            continue;
        }
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch == '\\' && c.get(i + 1) == Some(&'\n') {
            i += 2;
            continue;
        }
        if ch == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if ch == '"' {
            let mut s = String::new();
            i += 1;
            let mut closed = false;
            while i < c.len() {
                match c[i] {
                    '\\' => {
                        if let Some(n) = c.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    other => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            out.push(if closed { Tok::Str(s) } else { Tok::Unterminated });
            continue;
        }
        let operand_expected = match out.last() {
            None => true,
            Some(Tok::Punct(p)) => !matches!(p.as_str(), ")" | "]"),
            Some(Tok::Word(w)) => matches!(w.as_str(), "print" | "printf" | "return" | "in" | "case"),
            Some(_) => false,
        };
        if ch == '/' && operand_expected {
            i += 1;
            let mut closed = false;
            let mut in_class = false;
            while i < c.len() {
                match c[i] {
                    '\\' => i += 2,
                    '[' => {
                        in_class = true;
                        i += 1;
                    }
                    ']' => {
                        in_class = false;
                        i += 1;
                    }
                    '/' if !in_class => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    '\n' => break,
                    _ => i += 1,
                }
            }
            out.push(if closed { Tok::Regex } else { Tok::Unterminated });
            continue;
        }
        if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
            continue;
        }
        if ch.is_ascii_digit() || ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit) {
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Number);
            continue;
        }
        if ch == '$' {
            // A field reference: an operand follows, as after an operator.
            out.push(Tok::Punct("$".into()));
            i += 1;
            continue;
        }
        let two: String = c[i..(i + 2).min(c.len())].iter().collect();
        if matches!(
            two.as_str(),
            "||" | "&&"
                | ">>"
                | "|&"
                | ">="
                | "<="
                | "=="
                | "!="
                | "++"
                | "--"
                | "+="
                | "-="
                | "*="
                | "/="
                | "%="
                | "^="
                | "**"
        ) {
            out.push(Tok::Punct(two));
            i += 2;
            continue;
        }
        out.push(Tok::Punct(ch.to_string()));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sed_scripts() {
        assert!(sed_effects("s/a/b/g").is_empty());
        assert!(sed_effects("/foo/d; p").is_empty());
        assert!(sed_effects("s/a|b/x/g;1,5p;$!N;/x/I,+3{s,a,b,2;}").is_empty());
        assert_eq!(sed_effects("s/a/b/w out"), [Effect::Writes(Some("out".into()))]);
        assert_eq!(sed_effects("1,5w out"), [Effect::Writes(Some("out".into()))]);
        assert_eq!(sed_effects("/x/e"), [Effect::Runs(String::new())]);
        assert_eq!(sed_effects("1e touch x"), [Effect::Runs("touch x".into())]);
        assert_eq!(sed_effects("s/x/rm -rf \\//e"), [Effect::Runs(String::new())]);
        assert_eq!(sed_effects("\\%x%e id"), [Effect::Runs("id".into())]);
        assert_eq!(sed_effects("0~3 e id"), [Effect::Runs("id".into())]);
        assert_eq!(sed_effects("s|a|b|we x"), [Effect::Writes(Some("e x".into()))]);
        assert_eq!(sed_effects("s/a/b/ge"), [Effect::Runs(String::new())]);
        assert_eq!(sed_effects("r /etc/shadow"), [Effect::Reads(Some("/etc/shadow".into()))]);
        assert!(matches!(sed_effects("k")[..], [Effect::Unreadable(_)]));
        assert!(matches!(sed_effects("s/a/b")[..], [Effect::Unreadable(_)]));
    }

    #[test]
    fn awk_programs() {
        assert!(awk_effects("{print $1}").is_empty());
        assert!(awk_effects("$3 > 100 {print $1}").is_empty());
        assert!(awk_effects("/a|b/ {print}").is_empty());
        assert!(awk_effects("{ print ($1 > 5) }").is_empty());
        assert!(awk_effects("{ s = \"a|b > c\"; print s }").is_empty());
        assert!(awk_effects("{ x = $1 / 2; y = $2 / 3; print x }").is_empty());
        assert_eq!(awk_effects("{print $1 > \"/etc/x\"}"), [Effect::Writes(Some("/etc/x".into()))]);
        assert_eq!(awk_effects("{print > \"/dev/stderr\"}"), [Effect::Writes(Some("/dev/stderr".into()))]);
        assert_eq!(awk_effects("BEGIN{system(\"rm -rf /\")}"), [Effect::Runs(String::new())]);
        assert_eq!(awk_effects("{print | \"sh\"}"), [Effect::Runs(String::new())]);
        assert_eq!(awk_effects("BEGIN { \"id\" | getline x }"), [Effect::Runs(String::new())]);
        assert_eq!(awk_effects("@include \"inplace\"\n{ print }"), [Effect::InPlace]);
        assert!(matches!(awk_effects("@load \"filefuncs\"")[..], [Effect::Loads(_)]));
        assert_eq!(awk_effects("BEGIN { getline l < \"/etc/shadow\" }"), [Effect::Reads(Some("/etc/shadow".into()))]);
    }
}
