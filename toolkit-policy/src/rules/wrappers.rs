//! Wrappers and interpreters: programs that run another command or a script. The wrapped
//! command is classified in its place (`sudo rm -rf /` is `rm -rf /`), a script given as text
//! is parsed (`sh -c '...'`, `eval`, a here-document into `bash`), and code that arrives over
//! the network is dangerous (`curl ... | sh`, `bash <(wget ...)`).

use super::{Input, Parsed, Rules, downloaded, joined, leading, rest_of};
use crate::shell::words::Arg;

/// Shells that run `-c TEXT`, a script file, or standard input.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash", "rbash"];

/// Interpreters of other languages: their code is not classified.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("python2", &["-c"]),
    ("python3", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "-p", "--eval", "--print"]),
    ("nodejs", &["-e", "-p", "--eval", "--print"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("deno", &["eval"]),
    ("bun", &["-e", "--eval"]),
    ("pwsh", &["-c", "-Command"]),
    ("tclsh", &[]),
    ("Rscript", &["-e"]),
];

impl Rules<'_, '_> {
    /// Handles wrappers; false when `name` is not one.
    pub(super) fn wrapper(&mut self, name: &str, args: &[Arg]) -> bool {
        match name {
            "sudo" | "doas" => self.sudo(name, args),
            "env" => self.env(args),
            "nice" | "nohup" | "setsid" | "stdbuf" | "builtin" | "time" | "ionice" | "strace" | "ltrace" => {
                self.wrapped(name, args, 0);
            }
            "timeout" | "chrt" => self.wrapped(name, args, 1),
            "taskset" => {
                let skip = usize::from(!args.iter().any(|a| matches!(a.text.as_str(), "-p" | "--pid")));
                self.wrapped(name, args, skip);
            }
            "chpst" | "catchsegv" | "unbuffer" | "proxychains" | "proxychains4" | "torsocks" | "firejail"
            | "fakeroot" | "cgexec" | "numactl" | "systemd-run" | "nsenter" | "unshare" | "sg" | "newgrp" => {
                let (p, rest) = leading(args, &["-c", "-g", "-u", "-m", "-N", "-C", "-p", "-t", "--unit", "-q", "-f"]);
                if let Some((flag, _)) = p.flags.first() {
                    self.find(super::unknown_option(name, flag));
                }
                if name == "systemd-run" {
                    self.write("shell.systemd-run", "`systemd-run` starts a transient service");
                }
                self.run_or_read(rest, name);
            }
            "command" => {
                let Some(scan) = self.options("command", "command", args) else { return true };
                let rest = rest_of(args, &scan);
                if scan.has(&["-v", "-V"]) {
                    self.read("shell.lookup", "looks up a command");
                } else {
                    self.run_or_read(rest, "command");
                }
            }
            "exec" => {
                let Some(scan) = self.options("exec", "exec", args) else { return true };
                let rest = rest_of(args, &scan);
                if rest.is_empty() {
                    self.read("shell.exec-redirect", "only redirects the shell's files");
                } else {
                    self.run(rest.to_vec(), self.ctx.stdin.clone());
                }
            }
            "chroot" => {
                let Some(scan) = self.options("chroot", "chroot", args) else { return true };
                match rest_of(args, &scan).split_first() {
                    Some((_, cmd)) if !cmd.is_empty() => self.run(cmd.to_vec(), self.ctx.stdin.clone()),
                    _ => self.interactive("shell.shell", "starts a shell in another root"),
                }
            }
            "flock" => {
                let Some(scan) = self.options("flock", "flock", args) else { return true };
                let rest = rest_of(args, &scan);
                if let Some(lock) = rest.first()
                    && !lock.text.chars().all(|c| c.is_ascii_digit())
                {
                    self.write("shell.flock", format!("`flock` creates the lock file {}", lock.shown()));
                }
                if !scan.has(&["-c", "--command"]) {
                    self.run_or_read(rest.get(1..).unwrap_or_default(), "flock");
                }
            }
            "watch" => {
                let Some(scan) = self.options("watch", "watch", args) else { return true };
                let rest = rest_of(args, &scan);
                self.interactive("shell.watch", "`watch` redraws a terminal until interrupted");
                if !rest.is_empty() {
                    self.script(joined(rest), Input::Unknown);
                }
            }
            "xargs" => self.xargs(args),
            "su" | "runuser" => {
                let (p, _) = Parsed::new(args, &["-c", "--command", "-s", "--shell", "-g", "-G", "-w"]).split();
                match p {
                    Some(cmd) => self.script(cmd.to_owned(), self.ctx.stdin.clone()),
                    None => self.interactive("shell.shell", format!("`{name}` starts an interactive shell")),
                }
            }
            "ssh" => self.ssh(args),
            "eval" => {
                if args.iter().any(downloaded) {
                    self.dangerous("shell.download-exec", "evaluates downloaded text as commands");
                } else if args.iter().any(Arg::has_dynamic) {
                    self.unknown("shell.eval-computed", "evaluates text that is only known at run time");
                    self.script(skeleton(args), self.ctx.stdin.clone());
                } else {
                    self.script(joined(args), self.ctx.stdin.clone());
                }
            }
            "source" | "." => self.source(args),
            "trap" => {
                let (p, rest) = leading(args, &[]);
                match rest.first() {
                    Some(cmd) if !p.has(&["-p", "-l"]) && cmd.text != "-" && !cmd.text.is_empty() => {
                        if cmd.is_exact() {
                            self.script(cmd.text.clone(), Input::Unknown);
                        } else {
                            self.unknown("shell.trap-computed", "sets a trap whose command is only known at run time");
                        }
                    }
                    _ => self.read("shell.trap", "lists or clears traps"),
                }
            }
            "cd" | "pushd" => {
                let target = args.iter().find(|a| !a.text.starts_with('-') || a.text == "-");
                if let Some(o) = args.iter().find(|a| {
                    a.text.starts_with('-') && !matches!(a.text.as_str(), "-" | "-L" | "-P" | "-e" | "-@" | "-n" | "--")
                }) {
                    self.find(super::unknown_option("cd", &o.shown()));
                }
                let dir = match target {
                    None => Some("~".to_owned()),
                    Some(a) if a.is_exact() && a.text != "-" => {
                        Some(crate::shell::paths::normalize(&a.text, self.ctx.cwd))
                    }
                    Some(_) => None,
                };
                self.steps.push(super::Step::Cd(dir.filter(|d| d.starts_with('/') || d.starts_with('~'))));
                self.read("shell.cd", "changes the working directory");
            }
            "popd" => {
                self.steps.push(super::Step::Cd(None));
                self.read("shell.cd", "changes the working directory");
            }
            s if SHELLS.contains(&s) => self.shell(name, args),
            "busybox" => match args.split_first() {
                Some((applet, rest)) if applet.is_exact() => {
                    let mut argv = vec![applet.clone()];
                    argv.extend_from_slice(rest);
                    self.run(argv, self.ctx.stdin.clone());
                }
                _ => self.unknown("shell.busybox", "busybox without a known applet"),
            },
            _ => {
                let Some((_, code_flags)) = INTERPRETERS.iter().find(|(n, _)| *n == name) else {
                    return false;
                };
                self.interpreter(name, args, code_flags);
            }
        }
        true
    }

    /// A wrapper with a table: its options are checked, then the command after `skip`
    /// operands (a duration, a priority) is classified; with none, the wrapper alone reads.
    fn wrapped(&mut self, name: &str, args: &[Arg], skip: usize) {
        let Some(scan) = self.options(name, name, args) else { return };
        let rest = rest_of(args, &scan);
        let traces_other = matches!(name, "strace" | "ltrace" | "ionice" | "chrt" | "taskset")
            && scan.has(&["-p", "--pid", "--attach", "-P", "-u", "--pgid", "--uid", "-a", "--all-tasks"]);
        if traces_other && rest.len() <= skip {
            return;
        }
        self.run_or_read(rest.get(skip..).unwrap_or_default(), name);
    }

    fn run_or_read(&mut self, rest: &[Arg], name: &str) {
        if rest.is_empty() {
            self.read("shell.wrapper-alone", format!("`{name}` without a command"));
        } else {
            self.run(rest.to_vec(), self.ctx.stdin.clone());
        }
    }

    fn sudo(&mut self, name: &str, args: &[Arg]) {
        let Some(scan) = self.options(name, name, args) else { return };
        let mut rest = rest_of(args, &scan);
        // `sudo NAME=value command` sets a variable for the command.
        while let Some((first, tail)) = rest.split_first() {
            let Some((var, _)) = first.text.split_once('=') else { break };
            if var.is_empty() || var.contains(crate::shell::words::DYN) || var.starts_with('-') {
                break;
            }
            self.find(super::assignment(var, std::slice::from_ref(first), true));
            rest = tail;
        }
        if scan.has(&["-e", "--edit"]) {
            self.interactive("shell.sudoedit", "`sudo -e` opens an editor");
        } else if scan.has(&[
            "-l",
            "--list",
            "-v",
            "--validate",
            "-k",
            "-K",
            "--reset-timestamp",
            "--remove-timestamp",
            "-V",
            "--version",
            "--help",
        ]) && rest.is_empty()
        {
            self.read("shell.sudo-info", "lists privileges or manages the credential cache");
        } else if scan.has(&["-i", "--login", "-s", "--shell"]) {
            if rest.is_empty() {
                self.interactive("shell.shell", "`sudo -i`/`sudo -s` starts an interactive shell");
            } else {
                self.script(joined(rest), self.ctx.stdin.clone());
            }
        } else {
            self.run_or_read(rest, name);
        }
    }

    fn env(&mut self, args: &[Arg]) {
        let Some(scan) = self.options("env", "env", args) else { return };
        let split = scan.last(&["-S", "--split-string"]).and_then(|g| g.value.clone());
        let mut rest = rest_of(args, &scan);
        if rest.first().is_some_and(|a| a.text == "-") {
            rest = &rest[1..];
        }
        while let Some((first, tail)) = rest.split_first() {
            let Some((var, value)) = first.text.split_once('=') else { break };
            if var.is_empty() || var.contains(crate::shell::words::DYN) {
                break;
            }
            if var.starts_with("BASH_FUNC_") {
                // Bash imports it as a function: classify its body.
                if let Some(body) = value.trim_start().strip_prefix("()") {
                    self.script(format!("__f(){body}"), Input::Unknown);
                }
            }
            self.find(super::assignment(var, std::slice::from_ref(first), true));
            rest = tail;
        }
        if let Some(text) = split {
            let mut script = text.text.clone();
            if !rest.is_empty() {
                script.push(' ');
                script.push_str(&joined(rest));
            }
            self.script(script, self.ctx.stdin.clone());
        } else if rest.is_empty() {
            self.read("shell.env", "prints the environment");
        } else {
            self.run(rest.to_vec(), self.ctx.stdin.clone());
        }
    }

    fn xargs(&mut self, args: &[Arg]) {
        let Some(scan) = self.options("xargs", "xargs", args) else { return };
        let rest = rest_of(args, &scan);
        let from_file = scan.has(&["-a", "--arg-file"]);
        let items: Vec<Arg> = match self.ctx.stdin {
            Input::Text(t) if !from_file => t.split_whitespace().map(Arg::literal).collect(),
            Input::Download if !from_file => {
                let mut a = Arg::dynamic();
                a.substitutions.push(super::DOWNLOAD_MARK.to_owned());
                vec![a]
            }
            _ => vec![Arg::dynamic()],
        };
        let mut inner: Vec<Arg> = if rest.is_empty() { vec![Arg::literal("echo")] } else { rest.to_vec() };
        let replace = scan
            .last(&["-I", "--replace", "-i"])
            .map(|g| g.value.as_ref().map_or_else(|| "{}".to_owned(), |v| v.text.clone()));
        match replace {
            Some(r) if !r.is_empty() => {
                for item in &items {
                    let argv = inner
                        .iter()
                        .map(|a| {
                            if a.text.contains(r.as_str()) {
                                let mut b = a.clone();
                                b.text = a.text.replace(r.as_str(), &item.text);
                                b.substitutions.extend(item.substitutions.iter().cloned());
                                b
                            } else {
                                a.clone()
                            }
                        })
                        .collect();
                    self.run(argv, Input::Unknown);
                }
            }
            _ => {
                inner.extend(items);
                self.run(inner, Input::Unknown);
            }
        }
    }

    fn ssh(&mut self, args: &[Arg]) {
        let Some(scan) = self.options("ssh", "ssh", args) else { return };
        let mut given: Vec<Arg> =
            scan.given.iter().filter(|g| g.name == "-o").filter_map(|g| g.value.clone()).collect();
        let rest = rest_of(args, &scan);
        let mut flags: Vec<String> = scan.given.iter().map(|g| g.name.clone()).collect();
        let (host, mut cmd) = match rest.split_first() {
            Some((h, c)) => (Some(h), c),
            None => (None, rest),
        };
        if cmd.first().is_some_and(|a| a.text.starts_with('-')) {
            // ssh reads options after the host too, up to the command.
            if let Some(again) = self.options("ssh", "ssh", cmd) {
                given.extend(again.given.iter().filter(|g| g.name == "-o").filter_map(|g| g.value.clone()));
                flags.extend(again.given.iter().map(|g| g.name.clone()));
                cmd = rest_of(cmd, &again);
            }
        }
        for v in &given {
            self.ssh_option(v);
        }
        let has = |names: &[&str]| flags.iter().any(|f| names.contains(&f.as_str()));
        match host {
            Some(_) if !cmd.is_empty() => self.script(skeleton(cmd), self.ctx.stdin.clone()),
            Some(_) if has(&["-N", "-L", "-R", "-D", "-W", "-G", "-Q"]) => {}
            None if has(&["-G", "-Q", "-V"]) => {}
            _ => self.interactive("shell.ssh-login", "`ssh` without a command opens a remote shell"),
        }
    }

    /// One `-o Key=value` of ssh: only keys that change how it connects, not what it runs.
    fn ssh_option(&mut self, v: &Arg) {
        const SAFE: &[&str] = &[
            "connecttimeout",
            "connectionattempts",
            "batchmode",
            "stricthostkeychecking",
            "userknownhostsfile",
            "globalknownhostsfile",
            "loglevel",
            "serveraliveinterval",
            "serveralivecountmax",
            "tcpkeepalive",
            "port",
            "user",
            "identityfile",
            "identitiesonly",
            "passwordauthentication",
            "pubkeyauthentication",
            "kbdinteractiveauthentication",
            "preferredauthentications",
            "compression",
            "addressfamily",
            "ciphers",
            "macs",
            "kexalgorithms",
            "hostkeyalgorithms",
            "pubkeyacceptedkeytypes",
            "pubkeyacceptedalgorithms",
            "checkhostip",
            "hashknownhosts",
            "numberofpasswordprompts",
            "requesttty",
            "visualhostkey",
            "updatehostkeys",
            "hostkeyalias",
            "hostname",
            "clearallforwardings",
            "exitonforwardfailure",
            "verifyhostkeydns",
            "rekeylimit",
            "ipqos",
            "escapechar",
            "bindaddress",
            "bindinterface",
        ];
        let text = v.text.as_str();
        let key: String = text.split(['=', ' ', '\t']).next().unwrap_or_default().to_ascii_lowercase();
        if v.has_dynamic() || !SAFE.contains(&key.as_str()) {
            self.find(super::unknown_option("ssh", &format!("-o {}", v.shown())));
        } else if key == "requesttty" && !text.to_ascii_lowercase().ends_with("no") {
            self.interactive("shell.ssh-tty", "`ssh` allocates a terminal");
        }
    }

    fn source(&mut self, args: &[Arg]) {
        match args.first() {
            Some(a) if downloaded(a) => self.dangerous("shell.download-exec", "sources downloaded code"),
            Some(a) => {
                self.unknown("shell.script-file", format!("sources `{}`, whose contents are not known", a.shown()))
            }
            None => self.unknown("shell.script-file", "sources nothing"),
        }
    }

    fn shell(&mut self, name: &str, args: &[Arg]) {
        let takes = ["-o", "+o", "-O", "+O", "--rcfile", "--init-file"];
        let (p, rest) = leading(args, &takes);
        if p.has(&["--version", "--help"]) {
            self.read("shell.version", "prints the shell's version");
            return;
        }
        if p.has(&["-c"]) {
            match rest.first() {
                Some(a) if downloaded(a) => {
                    self.dangerous("shell.download-exec", format!("`{name} -c` runs downloaded code"))
                }
                Some(a) if a.is_exact() || !a.has_dynamic() => self.script(a.text.clone(), self.ctx.stdin.clone()),
                Some(a) => {
                    self.unknown("shell.script-computed", format!("`{name} -c` runs text only known at run time"));
                    self.script(skeleton(std::slice::from_ref(a)), self.ctx.stdin.clone());
                }
                None => self.unknown("shell.parse-error", format!("`{name} -c` without a script")),
            }
            return;
        }
        if !p.has(&["-s"])
            && let Some(script) = rest.first()
        {
            if downloaded(script) {
                self.dangerous("shell.download-exec", format!("`{name}` runs a downloaded script"));
            } else {
                self.unknown(
                    "shell.script-file",
                    format!("runs the script `{}`, whose contents are not known", script.shown()),
                );
            }
            return;
        }
        if p.has(&["-i"]) {
            self.interactive("shell.shell", format!("`{name} -i` is an interactive shell"));
        }
        self.stdin_code(name, "shell");
    }

    /// A shell or interpreter that runs its standard input.
    fn stdin_code(&mut self, name: &str, what: &str) {
        match self.ctx.stdin.clone() {
            Input::Download => {
                self.dangerous("shell.download-exec", format!("downloaded code is piped into `{name}`"));
            }
            Input::Text(t) if what == "shell" => self.script(t, Input::Unknown),
            Input::Text(_) | Input::Unknown => {
                self.unknown("shell.stdin-code", format!("`{name}` runs code from its input, which is not classified"))
            }
            Input::Terminal => {
                self.interactive("shell.repl", format!("`{name}` without a script is an interactive {what}"))
            }
        }
    }

    fn interpreter(&mut self, name: &str, args: &[Arg], code_flags: &[&str]) {
        let (p, rest) = leading(args, &["-m", "-W", "-X", "-I", "-M", "-r", "-x"]);
        if p.has(&["--version", "-V", "--help", "-h"]) && rest.is_empty() {
            self.read("shell.version", format!("prints `{name}`'s version"));
            return;
        }
        if matches!(self.ctx.stdin, Input::Download) {
            self.dangerous("shell.download-exec", format!("downloaded code is piped into `{name}`"));
        }
        if p.has(code_flags) || rest.first().is_some_and(|a| code_flags.contains(&a.text.as_str())) {
            if args.iter().any(downloaded) {
                self.dangerous("shell.download-exec", format!("`{name}` runs downloaded code"));
            } else {
                self.unknown("shell.inline-code", format!("`{name}` runs inline code, which is not classified"));
            }
            return;
        }
        if p.has(&["-m"]) {
            self.unknown("shell.inline-code", format!("`{name} -m` runs a module"));
            return;
        }
        match rest.first() {
            Some(a) if downloaded(a) => {
                self.dangerous("shell.download-exec", format!("`{name}` runs a downloaded script"))
            }
            Some(a) if a.text != "-" => self
                .unknown("shell.script-file", format!("runs the script `{}`, whose contents are not known", a.shown())),
            _ => self.stdin_code(name, "interpreter"),
        }
    }
}

/// The known text of words whose run-time parts are left out: what a computed script does
/// at least (`eval "$(x) rm -rf /"` may run `rm -rf /`).
fn skeleton(args: &[Arg]) -> String {
    joined(args).replace([crate::shell::words::DYN, crate::shell::words::CHILD], "")
}

impl<'a> Parsed<'a> {
    /// For `su`: the `-c` command, if any.
    fn split(self) -> (Option<&'a str>, Vec<&'a Arg>) {
        (self.value(&["-c", "--command"]), self.operands)
    }
}
