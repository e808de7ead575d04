//! Wrappers and interpreters: programs that run another command or a script. The wrapped
//! command is classified in its place (`sudo rm -rf /` is `rm -rf /`), a script given as text
//! is parsed (`sh -c '...'`, `eval`, a here-document into `bash`), and code that arrives over
//! the network is dangerous (`curl ... | sh`, `bash <(wget ...)`).

use super::{Input, Parsed, Rules, downloaded, joined, leading};
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
            "sudo" | "doas" => self.sudo(args),
            "env" => self.env(args),
            "nice" => self.then_run(args, &["-n", "--adjustment"], "nice"),
            "nohup" | "setsid" | "builtin" | "stdbuf" | "chpst" | "catchsegv" | "unbuffer" | "proxychains"
            | "torsocks" | "firejail" | "fakeroot" | "systemd-run" | "cgexec" | "taskset" | "numactl" => {
                self.then_run(args, &["-i", "-o", "-e", "-g", "-u", "-p", "-c", "-m", "-N", "--unit", "-C"], name)
            }
            "ionice" => {
                let (p, _) = leading(args, &["-c", "-n", "-t", "--class", "--classdata"]);
                if p.has(&["-p", "-P", "-u", "--pid", "--pgid", "--uid"]) {
                    self.write("shell.ionice", "changes the I/O priority of running processes");
                } else {
                    self.then_run(args, &["-c", "-n", "-t", "--class", "--classdata"], name);
                }
            }
            "time" => self.then_run(args, &["-o", "-f", "--output", "--format"], name),
            "timeout" => {
                let (_, rest) = leading(args, &["-s", "-k", "--signal", "--kill-after"]);
                // The first operand is the duration.
                self.run_or_read(rest.get(1..).unwrap_or_default(), "timeout");
            }
            "command" => {
                let (p, rest) = leading(args, &[]);
                if p.has(&["-v", "-V"]) {
                    self.read("shell.lookup", "looks up a command");
                } else {
                    self.run_or_read(rest, "command");
                }
            }
            "exec" => {
                let (_, rest) = leading(args, &["-a"]);
                if rest.is_empty() {
                    self.read("shell.exec-redirect", "only redirects the shell's files");
                } else {
                    self.run(rest.to_vec(), self.ctx.stdin.clone());
                }
            }
            "strace" | "ltrace" => self.then_run(
                args,
                &["-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-I", "-O", "-P", "-S", "-X"],
                name,
            ),
            "chroot" => {
                let (_, rest) = leading(args, &["--userspec", "--groups"]);
                match rest.split_first() {
                    Some((_, cmd)) if !cmd.is_empty() => self.run(cmd.to_vec(), self.ctx.stdin.clone()),
                    _ => self.interactive("shell.shell", "starts a shell in another root"),
                }
            }
            "flock" => {
                let (p, rest) = leading(args, &["-w", "-E", "-c", "--timeout", "--conflict-exit-code", "--command"]);
                if let Some(cmd) = p.value(&["-c", "--command"]) {
                    self.script(cmd.to_owned(), self.ctx.stdin.clone());
                } else {
                    self.run_or_read(rest.get(1..).unwrap_or_default(), "flock");
                }
            }
            "watch" => {
                let (_, rest) = leading(args, &["-n", "-d", "--interval", "--differences"]);
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
            "alias" => {
                for a in args {
                    if let Some((_, value)) = a.text.split_once('=') {
                        self.script(value.to_owned(), Input::Unknown);
                    }
                }
                self.read("shell.alias", "defines or lists aliases (their commands are classified too)");
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for a in args {
                    if let Some((var, _)) = a.text.split_once('=')
                        && super::CODE_VARIABLES.contains(&var)
                    {
                        self.unknown("shell.env.code", format!("sets {var}, which changes what commands run"));
                    }
                }
                self.read("shell.variables", format!("`{name}` sets shell variables"));
            }
            "enable" => {
                if args.iter().any(|a| a.text == "-f") {
                    self.unknown("shell.enable-load", "loads a builtin from a shared library");
                } else {
                    self.read("shell.enable", "enables or lists builtins");
                }
            }
            "cd" | "pushd" => {
                let target = args.iter().find(|a| !a.text.starts_with('-') || a.text == "-");
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

    /// Runs what follows the leading options; with nothing, the wrapper alone reads.
    fn then_run(&mut self, args: &[Arg], takes_value: &[&str], name: &str) {
        let (_, rest) = leading(args, takes_value);
        self.run_or_read(rest, name);
    }

    fn run_or_read(&mut self, rest: &[Arg], name: &str) {
        if rest.is_empty() {
            self.read("shell.wrapper-alone", format!("`{name}` without a command"));
        } else {
            self.run(rest.to_vec(), self.ctx.stdin.clone());
        }
    }

    fn sudo(&mut self, args: &[Arg]) {
        let takes = [
            "-u",
            "-g",
            "-h",
            "-p",
            "-C",
            "-D",
            "-r",
            "-t",
            "-U",
            "-T",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--close-from",
            "--chdir",
            "--role",
            "--type",
            "--other-user",
            "--command-timeout",
        ];
        let (p, rest) = leading(args, &takes);
        if p.has(&["-e", "--edit"]) {
            self.interactive("shell.sudoedit", "`sudo -e` opens an editor");
        } else if p.has(&["-l", "--list", "-v", "--validate", "-k", "-K", "--reset-timestamp", "--remove-timestamp"])
            && rest.is_empty()
        {
            self.read("shell.sudo-info", "lists privileges or manages the credential cache");
        } else if p.has(&["-i", "--login", "-s", "--shell"]) {
            if rest.is_empty() {
                self.interactive("shell.shell", "`sudo -i`/`sudo -s` starts an interactive shell");
            } else {
                self.script(joined(rest), self.ctx.stdin.clone());
            }
        } else {
            self.run_or_read(rest, "sudo");
        }
    }

    fn env(&mut self, args: &[Arg]) {
        let takes = ["-u", "-C", "-S", "--unset", "--chdir", "--split-string", "-P"];
        let (p, mut rest) = leading(args, &takes);
        let split = p.value(&["-S", "--split-string"]);
        while let Some((first, tail)) = rest.split_first() {
            let Some((var, _)) = first.text.split_once('=') else { break };
            if var.is_empty() || var.contains(crate::shell::words::DYN) {
                break;
            }
            self.find(super::assignment(var, std::slice::from_ref(first), true));
            rest = tail;
        }
        if let Some(text) = split {
            let mut script = text.to_owned();
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
        let takes = [
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--arg-file",
            "--delimiter",
            "--eof",
            "--replace",
            "--max-lines",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ];
        let (p, rest) = leading(args, &takes);
        if p.has(&["-p", "--interactive", "-o", "--open-tty"]) {
            self.interactive("shell.xargs-prompt", "`xargs -p`/`-o` asks on the terminal");
        }
        let from_file = p.has(&["-a", "--arg-file"]);
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
        let replace = p.value(&["-I", "--replace"]).or_else(|| p.has(&["-i"]).then_some("{}"));
        match replace {
            Some(r) if !r.is_empty() => {
                for item in &items {
                    let argv = inner
                        .iter()
                        .map(|a| {
                            if a.text.contains(r) {
                                let mut b = a.clone();
                                b.text = a.text.replace(r, &item.text);
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
        let takes = [
            "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R", "-S",
            "-W", "-w", "-B",
        ];
        let (p, rest) = leading(args, &takes);
        match rest.split_first() {
            Some((_, cmd)) if !cmd.is_empty() => {
                if p.has(&["-t"]) {
                    self.interactive("shell.ssh-tty", "`ssh -t` allocates a terminal");
                }
                self.script(joined(cmd), self.ctx.stdin.clone());
            }
            Some(_) if p.has(&["-N", "-L", "-R", "-D", "-W"]) => {
                self.interactive("shell.ssh-tunnel", "`ssh` holds a tunnel open");
            }
            _ => self.interactive("shell.ssh-login", "`ssh` without a command opens a remote shell"),
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
