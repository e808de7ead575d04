//! Blocked patterns (k13d's `blocked_patterns`), matched against parsed commands.
//!
//! A pattern is itself one shell command, parsed like the commands it is matched against. It
//! matches a simple command of the input (also one behind a wrapper: `sudo rm -rf /` holds
//! `rm -rf /`) when:
//!
//! 1. **program**: the pattern's first word equals the program name, compared without a
//!    directory (`/bin/rm` is `rm`); unquoted `*`, `?` and `[...]` are globs (`mkfs*`);
//! 2. **options**: every option in the pattern is given, in any order and in any spelling of
//!    the same option: short options are split (`-rf` is `-r -f`, so it matches `-fr` and
//!    `-r -f`), a few long forms count as their short form (`rm --recursive` is `-r`,
//!    `kubectl --namespace` is `-n`, `--all-namespaces` is `-A`); an option with a value
//!    (`--grace-period=0`) needs that value (`--grace-period=0` or `--grace-period 0`), one
//!    without matches any value;
//! 3. **operands**: the pattern's other words match distinct operands of the command in the
//!    same order, not necessarily next to each other, each exactly or as a glob when it has
//!    unquoted glob characters (`*` also matches `/`). Paths are compared normalized (`//`,
//!    `/./`, `..` and a trailing `/` do not matter); for kubectl and oc, resource types are
//!    compared by their plural (`ns`, `namespace` and `namespaces` are one), and
//!    `TYPE/NAME` counts as `TYPE NAME`.
//!
//! So `rm -rf /` blocks `rm -fr /`, `sudo rm -r -f //` and `rm -rf /tmp/x /`, but not
//! `rm -rf /tmp/x`; `kubectl delete ns kube-system` blocks
//! `kubectl -n x delete namespace/kube-system --wait=false`. A pattern that is empty, does not
//! parse, or holds more than one command, a redirection, an assignment, a variable or a
//! substitution is a configuration error. (A bracket that does not close is literal, as in the
//! shell.)

use toolkit_core::{Error, Result};

use crate::rules::Parsed;
use crate::shell::paths::normalize;
use crate::shell::words::Arg;
use crate::verdict::{Class, Finding, Reason, Verdict};

/// Compiled blocked patterns.
#[derive(Clone, Debug, Default)]
pub struct BlockedPatterns {
    patterns: Vec<Pattern>,
}

impl BlockedPatterns {
    /// Compiles patterns; an invalid one is a configuration error that names its index.
    pub fn compile<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let mut out = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            let pattern = Pattern::parse(p)
                .map_err(|e| Error::config(format!("blockedPatterns[{i}] `{p}` is not a valid pattern: {e}")))?;
            out.push(pattern);
        }
        Ok(BlockedPatterns { patterns: out })
    }

    /// No pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// One reason per command of `verdict` that a pattern matches.
    pub fn matches(&self, verdict: &Verdict) -> Vec<Reason> {
        let mut out = Vec::new();
        for command in verdict.commands() {
            for p in &self.patterns {
                if p.matches(command) {
                    out.push(
                        Finding::new(
                            Class::Dangerous,
                            "pattern.blocked",
                            format!("matches the blocked pattern `{}`", p.source),
                        )
                        .at(&command.join(" ")),
                    );
                }
            }
        }
        out
    }
}

/// One word of a pattern.
#[derive(Clone, Debug)]
enum Word {
    Exact(String),
    Glob(glob::Pattern),
}

impl Word {
    fn new(arg: &Arg) -> std::result::Result<Self, String> {
        match &arg.pattern {
            Some(p) => glob::Pattern::new(p).map(Word::Glob).map_err(|e| format!("invalid glob `{p}`: {e}")),
            None => Ok(Word::Exact(arg.text.clone())),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Word::Exact(e) => e == text,
            Word::Glob(g) => g.matches(text),
        }
    }

    fn map(self, f: impl Fn(&str) -> String) -> Self {
        match self {
            Word::Exact(e) => Word::Exact(f(&e)),
            g @ Word::Glob(_) => g,
        }
    }
}

/// One blocked pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    program: Word,
    flags: Vec<(String, Option<String>)>,
    operands: Vec<Word>,
}

impl Pattern {
    /// Parses a pattern; the error says why it is invalid.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let argv = crate::shell::single_command(text)?;
        let Some((first, rest)) = argv.split_first() else {
            return Err("it is empty".into());
        };
        let program = Word::new(first)?;
        let name = match &program {
            Word::Exact(e) => base_name(e).to_owned(),
            Word::Glob(_) => String::new(),
        };
        let program = program.map(|p| base_name(p).to_owned());
        let parsed = Parsed::new(rest, takes_value(&name));
        let flags = parsed.flags.iter().map(|(f, v)| (canonical_flag(&name, f), v.map(str::to_owned))).collect();
        let mut operands = Vec::new();
        for a in operand_args(&name, &parsed.operands) {
            operands.push(Word::new(&a)?.map(|t| normalize_operand(&name, t)));
        }
        Ok(Pattern { source: text.to_owned(), program, flags, operands })
    }

    /// Whether the pattern matches a command given as words.
    pub fn matches(&self, command: &[String]) -> bool {
        let Some((first, rest)) = command.split_first() else { return false };
        let name = base_name(first);
        if !self.program.matches(name) {
            return false;
        }
        let args: Vec<Arg> = rest.iter().map(Arg::literal).collect();
        let parsed = Parsed::new(&args, takes_value(name));
        let flags: Vec<(String, Option<&str>)> =
            parsed.flags.iter().map(|(f, v)| (canonical_flag(name, f), *v)).collect();
        let operands: Vec<String> =
            operand_args(name, &parsed.operands).iter().map(|a| normalize_operand(name, &a.text)).collect();
        let flags_ok = self.flags.iter().all(|(pf, pv)| {
            flags.iter().any(|(f, v)| {
                f == pf
                    && match (pv, v) {
                        (None, _) => true,
                        (Some(pv), Some(v)) => pv == v,
                        (Some(pv), None) => operands.iter().any(|o| o == pv),
                    }
            })
        });
        if !flags_ok {
            return false;
        }
        let mut next = 0;
        self.operands.iter().all(|w| match operands[next..].iter().position(|o| w.matches(o)) {
            Some(i) => {
                next += i + 1;
                true
            }
            None => false,
        })
    }
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(word)
}

fn takes_value(program: &str) -> &'static [&'static str] {
    match program {
        "kubectl" | "oc" => crate::kubectl::TAKES_VALUE,
        _ => &[],
    }
}

fn canonical_flag(program: &str, flag: &str) -> String {
    let mapped = match (program, flag) {
        ("rm" | "cp" | "chmod" | "chown" | "chgrp", "--recursive" | "-R") => "-r",
        ("rm" | "cp", "--force") => "-f",
        ("kubectl" | "oc" | "helm", "--namespace") => "-n",
        ("kubectl" | "oc" | "helm", "--all-namespaces") => "-A",
        ("kubectl" | "oc", "--filename") => "-f",
        ("kubectl" | "oc", "--selector") => "-l",
        _ => flag,
    };
    mapped.to_owned()
}

/// Operands, with kubectl's `TYPE/NAME` split in two.
fn operand_args(program: &str, operands: &[&Arg]) -> Vec<Arg> {
    let mut out = Vec::new();
    for a in operands {
        if matches!(program, "kubectl" | "oc")
            && let Some((kind, name)) = a.text.split_once('/')
            && !kind.is_empty()
            && a.pattern.is_none()
        {
            out.push(Arg::literal(kind));
            out.push(Arg::literal(name));
        } else {
            out.push((*a).clone());
        }
    }
    out
}

fn normalize_operand(program: &str, text: &str) -> String {
    if matches!(program, "kubectl" | "oc") {
        return crate::kubectl::canonical_resource(text).to_owned();
    }
    if text.starts_with('/') || text.starts_with('~') || text.starts_with("./") || text.starts_with("../") {
        normalize(text, None)
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, command: &str) -> bool {
        let p = Pattern::parse(pattern).expect("valid pattern");
        let v = crate::shell::classify(command);
        v.commands().iter().any(|c| p.matches(c))
    }

    #[test]
    fn rm_root() {
        assert!(m("rm -rf /", "rm -rf /"));
        assert!(m("rm -rf /", "rm -fr /"));
        assert!(m("rm -rf /", "rm -r -f //"));
        assert!(m("rm -rf /", "sudo rm --recursive --force /."));
        assert!(m("rm -rf /", "/bin/rm -rf /tmp/x /"));
        assert!(m("rm -rf /", "echo x && rm -rf / ; ls"));
        assert!(!m("rm -rf /", "rm -rf /tmp/x"));
        assert!(!m("rm -rf /", "rm -r /"));
        assert!(!m("rm -rf /", "ls /"));
    }

    #[test]
    fn kubectl_namespaces() {
        let p = "kubectl delete ns kube-system";
        assert!(m(p, "kubectl delete ns kube-system"));
        assert!(m(p, "kubectl delete namespace kube-system"));
        assert!(m(p, "kubectl -n x delete namespaces/kube-system --wait=false"));
        assert!(!m(p, "kubectl delete ns default"));
        assert!(!m(p, "kubectl get ns kube-system"));
    }

    #[test]
    fn globs_and_values() {
        assert!(m("mkfs*", "mkfs.ext4 /dev/sdb1"));
        assert!(m("kubectl delete pods --grace-period=0", "kubectl delete pods x --grace-period=0"));
        assert!(m("kubectl delete pods --grace-period=0", "kubectl delete pods x --grace-period 0"));
        assert!(!m("kubectl delete pods --grace-period=0", "kubectl delete pods x --grace-period=30"));
        assert!(m("chmod 777 /etc/*", "chmod 777 /etc/passwd"));
        assert!(!m("rm '*'", "rm x"));
        assert!(m("rm '*'", "rm '*'"));
    }

    #[test]
    fn invalid_patterns_are_config_errors() {
        for bad in ["", "ls | sh", "rm x; ls", "echo $(id)", "ls > x", "if", "rm $X", "`id`", "X=1 ls"] {
            let e = BlockedPatterns::compile(&[bad]).expect_err(bad);
            assert_eq!(e.kind(), toolkit_core::ErrorKind::Config, "{bad}");
        }
    }
}
