//! The rules for one simple command, given as words after static expansion.
//!
//! [`command`] looks at the program name and its arguments and returns findings, or asks the
//! walker to classify something else: the command behind a wrapper ([`Step::Run`]), a script
//! given as text ([`Step::Script`]). A program that no rule knows is `unknown`, never `read`:
//! a look-alike name (`rｍ` with a fullwidth letter, `rм` with a Cyrillic one) is such a
//! program.

mod builtins;
pub(crate) mod env;
pub(crate) use builtins::{arith_names, numeric};
mod files;
mod git;
mod network;
pub(crate) mod options;
mod packages;
mod programs;
mod scripts;
pub(crate) mod tables;
mod wrappers;

use crate::shell::secrets;
use crate::shell::words::{Arg, DYN};
use crate::verdict::{Class, Finding};
use options::{Effect, Operands, Problem, Scan};

/// The rule of an option that is not on a program's list of known options (its reason's
/// message names the program and the option).
pub const UNKNOWN_OPTION_RULE: &str = "shell.option.unknown";
/// The finding for an option of `program` that is not on its table (the message has a fixed
/// form, which [`crate::unknown_options`] reads back).
pub(crate) fn unknown_option(program: &str, option: &str) -> Finding {
    Finding::unknown(
        UNKNOWN_OPTION_RULE,
        format!("`{program}`: the option `{option}` is not on the list of options known to only read"),
    )
}

/// The rule of a file read that holds secrets.
pub(crate) const SECRET_RULE: &str = "shell.secret-file";
/// The rule of data sent to the network.
pub(crate) const NETWORK_SEND_RULE: &str = "shell.network.send";

/// Programs that read directories recursively (always, or with one of the flags): a directory
/// that holds secrets below it is a secret read.
const RECURSIVE: &[(&str, &[&str])] = &[
    ("grep", &["-r", "-R", "--recursive", "--dereference-recursive"]),
    ("egrep", &["-r", "-R", "--recursive", "--dereference-recursive"]),
    ("fgrep", &["-r", "-R", "--recursive", "--dereference-recursive"]),
    ("zgrep", &["-r", "-R", "--recursive"]),
    ("rg", &[]),
    ("ag", &[]),
    ("ack", &[]),
    ("diff", &["-r", "--recursive"]),
];

/// Marks an argument whose value comes from a downloader (in [`Arg::substitutions`]).
pub(crate) const DOWNLOAD_MARK: &str = "\u{E002}download";
/// The rule of a downloader; the walker notes that a script downloads when it sees it.
pub(crate) const DOWNLOADER_RULE: &str = "shell.network.fetch";

/// Where a command's standard input comes from.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    /// Nothing redirected: the terminal of whoever runs it.
    Terminal,
    /// Text known before it runs (a here-document, `echo` in a pipeline).
    Text(String),
    /// The output of a downloader.
    Download,
    /// A file or another command.
    Unknown,
}

/// What the walker knows around one command.
pub(crate) struct Ctx<'a> {
    pub stdin: &'a Input,
    pub cwd: Option<&'a str>,
    /// Every literal value each variable is set to in the input (a word that expands one may
    /// be any of them).
    pub values: &'a std::collections::HashMap<String, Vec<String>>,
}

/// What a rule asks for.
pub(crate) enum Step {
    /// A finding about this command.
    Find(Finding),
    /// Classify these words as a command, with this input.
    Run(Vec<Arg>, Input),
    /// Classify this text as a script, with this input.
    Script(String, Input),
    /// The working directory is now this (or unknown).
    Cd(Option<String>),
    /// These variables are set to values that may hold code (read from input, computed).
    Taint(Vec<String>),
    /// Bash evaluates these variables arithmetically (their values must not hold code).
    Arith(Vec<String>),
    /// Variables are exported from here on (`set -a`).
    ExportAll,
    /// These names are aliases for this text.
    Alias(String, String),
}

/// What a command writes to its standard output, when it matters to the next stage.
pub(crate) enum Out {
    Text(String),
    Download,
}

/// Programs found by path in these directories are the system's own.
const SYSTEM_BIN_DIRS: &[&str] =
    &["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/usr/bin/env"];

/// Classifies one command.
pub(crate) fn command(argv: &[Arg], ctx: &Ctx) -> (Vec<Step>, Option<Out>) {
    let Some(first) = argv.first() else {
        return (Vec::new(), None);
    };
    if !first.is_exact() {
        let f = if first.substitutions.iter().any(|s| s == DOWNLOAD_MARK) {
            Finding::dangerous("shell.download-exec", "runs a program named by downloaded text")
        } else {
            Finding::unknown("shell.computed-name", "the program's name is only known at run time")
        };
        return (vec![Step::Find(f)], None);
    }
    let (name, by_path) = program_name(&first.text);
    let args = &argv[1..];
    let mut r = Rules { steps: Vec::new(), out: None, ctx };
    r.dispatch(name, args);
    if by_path {
        r.unknown(
            "shell.program-by-path",
            format!("runs `{}` by path; it need not be the system's `{name}`", first.text),
        );
    }
    (r.steps, r.out)
}

/// The program name without a directory, and whether the directory is not a system one.
fn program_name(text: &str) -> (&str, bool) {
    match text.rfind('/') {
        Some(i) if i + 1 < text.len() => {
            let dir = &text[..i];
            let dir = if dir.is_empty() { "/" } else { dir };
            (&text[i + 1..], !SYSTEM_BIN_DIRS.contains(&dir))
        }
        _ => (text, false),
    }
}

/// The finding for an assignment `NAME=VALUE` (before a command, or alone).
pub(crate) fn assignment(name: &str, values: &[Arg], before_command: bool) -> Finding {
    let how = if before_command { env::Setting::Exported } else { env::Setting::Shell };
    env::assignment(name, values, how)
}

/// Collects the steps of one command.
pub(crate) struct Rules<'c, 'a> {
    steps: Vec<Step>,
    out: Option<Out>,
    ctx: &'c Ctx<'a>,
}

impl Rules<'_, '_> {
    fn find(&mut self, f: Finding) {
        self.steps.push(Step::Find(f));
    }

    fn read(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::read(rule, message));
    }

    fn write(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::write(rule, message));
    }

    fn unknown(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::unknown(rule, message));
    }

    fn interactive(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::interactive(rule, message));
    }

    fn dangerous(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::dangerous(rule, message));
    }

    fn run(&mut self, argv: Vec<Arg>, input: Input) {
        self.steps.push(Step::Run(argv, input));
    }

    fn script(&mut self, text: String, input: Input) {
        self.steps.push(Step::Script(text, input));
    }

    /// Checks `args` against the table `table` (`ls`, `git log`): every option must be known,
    /// and what options and operands do is found (files written, programs run, secrets read,
    /// data sent). `shown` names the command in messages. `None` when there is no such table
    /// (then nothing was found).
    pub(crate) fn options<'a>(&mut self, table: &str, shown: &str, args: &'a [Arg]) -> Option<Scan<'a>> {
        let Some(t) = options::table(table) else {
            // Fail closed: a rule that asks for a table nobody wrote is not a read.
            self.unknown("shell.option.no-table", format!("`{shown}`: no table of options is known for `{table}`"));
            return None;
        };
        let scan = options::scan(t, args);
        let network = t.table.operands == Operands::Network;
        for p in &scan.problems {
            let f = match p {
                Problem::Unknown(o) => unknown_option(shown, o),
                Problem::Ambiguous(o, hits) => Finding::unknown(
                    "shell.option.ambiguous",
                    format!("`{shown}`: `{o}` abbreviates several options ({})", hits.join(", ")),
                ),
                Problem::BadValue(o) => {
                    Finding::unknown("shell.option.value", format!("`{shown}`: `{o}` lacks its value or takes none"))
                }
                Problem::Computed(w) => Finding::unknown(
                    "shell.option.computed",
                    format!("`{shown}`: `{w}` is only known at run time and may be any option"),
                ),
            };
            self.find(f);
        }
        for g in &scan.given {
            let value = g.value.as_ref();
            let spelled = &g.spelled;
            if network && [value, g.value2.as_ref()].into_iter().flatten().any(|v| v.has_dynamic()) {
                let credential = [value, g.value2.as_ref()]
                    .into_iter()
                    .flatten()
                    .flat_map(|v| v.vars.iter())
                    .find(|v| secrets::secret_variable(v))
                    .map(|v| format!(" (${v}, named like a credential)"))
                    .unwrap_or_default();
                self.sensitive(
                    NETWORK_SEND_RULE,
                    format!("`{shown} {spelled}` sends text only known at run time to the network{credential}"),
                );
            }
            match g.spec.effect {
                Effect::Safe | Effect::Custom => {}
                Effect::ReadsFile => {
                    for v in [value, g.value2.as_ref()].into_iter().flatten() {
                        if network {
                            self.sensitive(
                                NETWORK_SEND_RULE,
                                format!("`{shown} {spelled}` reads `{}` and sends it to the network", v.shown()),
                            );
                        } else if let Some(what) = self.secret(v) {
                            self.sensitive(SECRET_RULE, format!("`{shown} {spelled}` reads {} ({what})", v.shown()));
                        }
                    }
                }
                Effect::WritesFile => match value {
                    Some(v) => {
                        let f = crate::shell::paths::redirect_target(v, self.ctx.cwd);
                        self.find(f);
                    }
                    None => self.write("shell.option.writes", format!("`{shown} {spelled}` writes a file")),
                },
                Effect::RunsProgram => self.unknown(
                    "shell.option.runs",
                    format!(
                        "`{shown} {spelled}` runs the program {}",
                        value.map_or_else(|| "it names".to_owned(), |v| format!("`{}`", v.shown()))
                    ),
                ),
                Effect::RunsShell => {
                    self.unknown("shell.option.runs", format!("`{shown} {spelled}` runs a command line"));
                    if let Some(v) = value {
                        self.script(v.text.clone(), Input::Unknown);
                    }
                }
                Effect::Raise(class, why) => {
                    self.find(Finding::new(class, "shell.option", format!("`{shown} {spelled}` {why}")))
                }
            }
        }
        let recursive = RECURSIVE.iter().any(|(n, flags)| *n == table && (flags.is_empty() || scan.has(flags)));
        let skip_first = t.table.operands == Operands::FirstThenFiles
            && !scan.has(&["-e", "--regexp", "-f", "--file", "--from-file", "--expression"]);
        for (i, a) in scan.operands.iter().enumerate() {
            match t.table.operands {
                Operands::Files | Operands::FirstThenFiles if !(skip_first && i == 0) => {
                    let found = if recursive { secrets::secret_below(a, self.ctx.cwd) } else { None };
                    if let Some(what) = found.or_else(|| self.secret(a)) {
                        self.sensitive(SECRET_RULE, format!("`{shown}` reads {} ({what})", a.shown()));
                    }
                }
                Operands::Network if a.has_dynamic() => self.sensitive(
                    NETWORK_SEND_RULE,
                    format!("`{shown}` sends text only known at run time to the network (`{}`)", a.shown()),
                ),
                _ => {}
            }
        }
        Some(scan)
    }

    /// What the file `a` holds when it is a secret: its text, or any literal value of the
    /// variables it expands.
    pub(crate) fn secret(&self, a: &Arg) -> Option<&'static str> {
        secrets::secret_with(a, self.ctx.cwd, self.ctx.values)
    }

    /// Whether a finding above `class` was made so far (then no "only reads" reason is added).
    fn found_above(&self, class: Class) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Find(f) if f.class > class))
    }

    fn sensitive(&mut self, rule: &'static str, message: impl Into<String>) {
        self.find(Finding::sensitive(rule, message));
    }

    fn dispatch(&mut self, name: &str, args: &[Arg]) {
        if self.wrapper(name, args)
            || self.file_command(name, args)
            || self.program(name, args)
            || self.builtin(name, args)
        {
            return;
        }
        if options::table(name).is_some() {
            if self.options(name, name, args).is_some() && !self.found_above(Class::Read) {
                self.read("shell.read-only-program", format!("`{name}` with options known to only read"));
            }
            return;
        }
        if let Some(f) = table(name, args) {
            self.find(f);
            return;
        }
        self.unknown("shell.unknown-program", format!("`{name}` is not a program the rules know"));
    }
}

/// Programs that change files, packages, processes or settings.
const WRITES: &[&str] = &[
    "kill",
    "pkill",
    "killall",
    "renice",
    "logger",
    "wall",
    "at",
    "batch",
    "ssh-keygen",
    "ssh-copy-id",
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "groupdel",
    "gpasswd",
    "chpasswd",
    "patch",
    "split",
    "csplit",
    "umount",
    "swapon",
    "swapoff",
    "modprobe",
    "rmmod",
    "insmod",
    "ufw",
    "timedatectl",
    "hostnamectl",
    "localectl",
    "loginctl",
    "make",
    "zip",
    "7z",
    "rar",
    "unrar",
    "ar",
    "cpio",
    "ldconfig",
    "update-alternatives",
    "a2enmod",
    "a2dismod",
    "certbot",
    "htpasswd",
    "setcap",
    "chcon",
    "restorecon",
    "semanage",
    "setenforce",
    "exportfs",
    "quotacheck",
];

/// Programs that need a terminal.
const INTERACTIVE: &[&str] = &[
    "vi", "vim", "nvim", "view", "vimdiff", "nano", "pico", "emacs", "less", "more", "most", "man", "info", "htop",
    "atop", "btop", "iftop", "iotop", "nethogs", "nmtui", "tmux", "screen", "mc", "ranger", "nnn", "fzf", "dialog",
    "whiptail", "telnet", "ftp", "sftp", "irb", "passwd", "visudo", "vipw", "vigr", "login", "script", "k9s", "cfdisk",
    "ghci", "ipython", "mongo", "mongosh", "gdb", "lldb",
];

/// Programs that destroy data or stop a system, whatever their arguments.
const DANGEROUS: &[(&str, &str)] = &[
    ("mke2fs", "formats a file system"),
    ("mkswap", "formats a swap area"),
    ("wipefs", "erases file system signatures"),
    ("blkdiscard", "discards every block of a device"),
    ("shutdown", "shuts the machine down"),
    ("reboot", "reboots the machine"),
    ("halt", "halts the machine"),
    ("poweroff", "powers the machine off"),
    ("telinit", "changes the run level"),
    ("kexec", "boots another kernel"),
    ("killall5", "kills every process"),
    ("sgdisk", "rewrites partition tables"),
    ("gdisk", "rewrites partition tables"),
    ("zpool", "manages storage pools"),
    ("lvremove", "removes logical volumes"),
    ("vgremove", "removes volume groups"),
    ("pvremove", "removes physical volumes"),
];

fn table(name: &str, args: &[Arg]) -> Option<Finding> {
    if name.starts_with("mkfs") {
        return Some(Finding::dangerous("shell.format", format!("`{name}` formats a file system")));
    }
    if let Some((_, what)) = DANGEROUS.iter().find(|(n, _)| *n == name) {
        if name == "shutdown" && args.iter().any(|a| a.text == "-c") {
            return Some(Finding::write("shell.shutdown-cancel", "cancels a pending shutdown"));
        }
        return Some(Finding::dangerous("shell.dangerous-program", format!("`{name}` {what}")));
    }
    if INTERACTIVE.contains(&name) {
        return Some(Finding::interactive("shell.interactive-program", format!("`{name}` needs a terminal")));
    }
    if WRITES.contains(&name) {
        return Some(Finding::write("shell.write-program", format!("`{name}` changes the system")));
    }
    None
}

/// Options and operands of a command line.
pub(crate) struct Parsed<'a> {
    /// `-r`, `--force`, with a value when one was given (`--grace-period=0`, `-n 5`).
    pub flags: Vec<(String, Option<&'a str>)>,
    pub operands: Vec<&'a Arg>,
}

impl<'a> Parsed<'a> {
    /// Parses `args`: `takes_value` lists the options that take a value (`-n`, `--namespace`);
    /// short options are split (`-rf` is `-r -f`); `--` ends the options.
    pub fn new(args: &'a [Arg], takes_value: &[&str]) -> Self {
        let mut p = Parsed { flags: Vec::new(), operands: Vec::new() };
        let mut i = 0;
        let mut only_operands = false;
        while i < args.len() {
            let a = &args[i];
            let t = a.text.as_str();
            i += 1;
            if only_operands || !t.starts_with('-') || t == "-" || t.starts_with(DYN) {
                p.operands.push(a);
                continue;
            }
            if t == "--" {
                only_operands = true;
                continue;
            }
            if let Some(long) = t.strip_prefix("--") {
                match long.split_once('=') {
                    Some((n, v)) => p.flags.push((format!("--{n}"), Some(v))),
                    None if takes_value.contains(&t) => {
                        p.flags.push((t.to_owned(), args.get(i).map(|a| a.text.as_str())));
                        i += 1;
                    }
                    None => p.flags.push((t.to_owned(), None)),
                }
                continue;
            }
            let cluster = &t[1..];
            for (j, c) in cluster.char_indices() {
                let flag = format!("-{c}");
                if takes_value.contains(&flag.as_str()) {
                    let rest = &cluster[j + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        i += 1;
                        args.get(i - 1).map(|a| a.text.as_str())
                    } else {
                        Some(rest.trim_start_matches('='))
                    };
                    p.flags.push((flag, value));
                    break;
                }
                p.flags.push((flag, None));
            }
        }
        p
    }

    /// Whether any of `names` was given.
    pub fn has(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|(f, _)| names.contains(&f.as_str()))
    }

    /// The value of the last of `names` given.
    pub fn value(&self, names: &[&str]) -> Option<&'a str> {
        self.flags.iter().rev().find(|(f, _)| names.contains(&f.as_str())).and_then(|(_, v)| *v)
    }
}

/// Splits leading options (up to the first operand) from the rest, as wrappers parse them.
pub(crate) fn leading<'a>(args: &'a [Arg], takes_value: &[&str]) -> (Parsed<'a>, &'a [Arg]) {
    let mut end = 0;
    while end < args.len() {
        let t = args[end].text.as_str();
        if t == "--" {
            let p = Parsed::new(&args[..end], takes_value);
            return (p, &args[end + 1..]);
        }
        if !t.starts_with('-') || t == "-" || t.starts_with(DYN) {
            break;
        }
        end += 1;
        let needs_value = if t.starts_with("--") {
            !t.contains('=') && takes_value.contains(&t)
        } else {
            // The last option of a cluster takes the next word when it takes a value and
            // nothing follows it in the cluster.
            t.char_indices().skip(1).any(|(j, c)| {
                let flag = format!("-{c}");
                takes_value.contains(&flag.as_str()) && j + c.len_utf8() == t.len()
            })
        };
        if needs_value {
            end += 1;
        }
    }
    let end = end.min(args.len());
    (Parsed::new(&args[..end], takes_value), &args[end..])
}

/// The words after the options a scan found (the command a wrapper runs, a subcommand).
pub(crate) fn rest_of<'a>(args: &'a [Arg], scan: &Scan<'_>) -> &'a [Arg] {
    let Some(first) = scan.operands.first() else { return &[] };
    let at = args.iter().position(|a| std::ptr::eq(a, *first)).unwrap_or(args.len());
    &args[at..]
}

/// Whether an argument carries downloaded text.
pub(crate) fn downloaded(a: &Arg) -> bool {
    a.substitutions.iter().any(|s| s == DOWNLOAD_MARK)
}

/// The words joined with spaces, as `eval` and `ssh` do.
pub(crate) fn joined(args: &[Arg]) -> String {
    args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Arg> {
        words.iter().map(|w| Arg::literal(*w)).collect()
    }

    #[test]
    fn options_are_parsed() {
        let a = args(&["-rf", "--grace-period=0", "-n", "ns", "x", "--", "-y"]);
        let p = Parsed::new(&a, &["-n"]);
        assert!(p.has(&["-r"]) && p.has(&["-f"]));
        assert_eq!(p.value(&["--grace-period"]), Some("0"));
        assert_eq!(p.value(&["-n"]), Some("ns"));
        assert_eq!(p.operands.iter().map(|a| a.text.as_str()).collect::<Vec<_>>(), ["x", "-y"]);
        let a = args(&["-u", "root", "-E", "rm", "-rf", "/"]);
        let (p, rest) = leading(&a, &["-u"]);
        assert_eq!(p.value(&["-u"]), Some("root"));
        assert_eq!(rest.len(), 3);
    }

    #[test]
    fn program_names() {
        assert_eq!(program_name("/bin/rm"), ("rm", false));
        assert_eq!(program_name("./rm"), ("rm", true));
        assert_eq!(program_name("rm"), ("rm", false));
    }
}
