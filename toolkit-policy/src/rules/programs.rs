//! Programs whose class depends on a subcommand or an option: kubectl and helm (see
//! [`crate::kubectl`] and [`crate::helm`]), git, systemd, package managers, containers,
//! downloaders, database clients and system settings.

use super::{Input, Out, Parsed, Rules, leading};
use crate::shell::words::Arg;
use crate::sql::{SqlDialect, classify as classify_sql};
use crate::verdict::Class;

/// Package managers and the subcommands that only read.
const PACKAGE_MANAGERS: &[&str] = &[
    "apt",
    "apt-get",
    "apt-cache",
    "yum",
    "dnf",
    "apk",
    "pacman",
    "zypper",
    "snap",
    "brew",
    "pip",
    "pip3",
    "npm",
    "yarn",
    "pnpm",
    "gem",
    "cargo",
    "go",
    "flatpak",
    "dpkg",
    "rpm",
    "conda",
    "poetry",
    "uv",
    "helmfile",
];
const PACKAGE_READS: &[&str] = &[
    "list",
    "search",
    "show",
    "info",
    "policy",
    "madison",
    "depends",
    "rdepends",
    "--version",
    "-v",
    "-V",
    "version",
    "help",
    "--help",
    "outdated",
    "view",
    "ls",
    "freeze",
    "check",
    "showpkg",
    "-l",
    "-L",
    "-s",
    "-q",
    "-qa",
    "-qi",
    "-ql",
    "query",
    "audit",
    "why",
    "env",
    "config",
    "doctor",
    "tree",
    "metadata",
];

impl Rules<'_, '_> {
    /// Handles programs with subcommands; false when `name` is not one.
    pub(super) fn program(&mut self, name: &str, args: &[Arg]) -> bool {
        match name {
            "kubectl" | "oc" => {
                let (findings, exec) = crate::kubectl::classify(args);
                findings.into_iter().for_each(|f| self.find(f));
                if let Some(cmd) = exec {
                    self.run(cmd, Input::Unknown);
                }
            }
            "helm" => crate::helm::classify(args).into_iter().for_each(|f| self.find(f)),
            "git" => self.git(args),
            "systemctl" => self.systemctl(args),
            "service" => match args.get(1).map(|a| a.text.as_str()) {
                Some("status") | None => self.read("shell.service", "shows a service's status"),
                Some(_) => self.write("shell.service", "starts, stops or reloads a service"),
            },
            "kill" => self.kill(args),
            "init" => match args.first().map(|a| a.text.as_str()) {
                Some("0" | "6" | "1" | "s" | "S") => self.dangerous("shell.runlevel", "changes the run level"),
                _ => self.unknown("shell.init", "`init` with these arguments"),
            },
            "date" => {
                let p = Parsed::new(args, &["-d", "--date", "-r", "--reference", "-f", "--file"]);
                if p.has(&["-s", "--set"]) || p.operands.iter().any(|a| !a.text.starts_with('+')) {
                    self.write("shell.date-set", "sets the system clock");
                } else {
                    self.read("shell.read-only-program", "`date` prints the time");
                }
            }
            "hostname" => {
                let p = Parsed::new(args, &["-F", "--file"]);
                if p.operands.is_empty() && !p.has(&["-F", "--file", "-b", "--boot"]) {
                    self.read("shell.read-only-program", "`hostname` prints the host name");
                } else {
                    self.write("shell.hostname-set", "sets the host name");
                }
            }
            "docker" | "podman" | "nerdctl" => self.container(name, args),
            "crontab" => {
                let p = Parsed::new(args, &["-u"]);
                if p.has(&["-r"]) {
                    self.dangerous("shell.crontab-remove", "`crontab -r` removes every cron job");
                } else if p.has(&["-e"]) {
                    self.interactive("shell.crontab-edit", "`crontab -e` opens an editor");
                } else if p.has(&["-l"]) {
                    self.read("shell.crontab-list", "lists cron jobs");
                } else {
                    self.write("shell.crontab-install", "replaces the cron table");
                }
            }
            "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" | "nft" | "ebtables" => {
                let p = Parsed::new(args, &["-t", "--table", "-A", "-D", "-I", "-R", "-N", "-X", "-P", "-E"]);
                let first = args.first().map(|a| a.text.as_str());
                if p.has(&["-F", "--flush"]) || (name == "nft" && first == Some("flush")) {
                    self.dangerous("shell.firewall-flush", "removes every firewall rule");
                } else if p.has(&["-L", "--list", "-S", "--list-rules"]) || (name == "nft" && first == Some("list")) {
                    self.read("shell.firewall-list", "lists firewall rules");
                } else {
                    self.write("shell.firewall", "changes firewall rules");
                }
            }
            "mount" => {
                let p = Parsed::new(args, &["-t", "-o", "-O"]);
                if p.operands.is_empty() && !p.has(&["-a", "--all"]) {
                    self.read("shell.mount-list", "lists mounts");
                } else {
                    self.write("shell.mount", "mounts a file system");
                }
            }
            "ip" => {
                let p = Parsed::new(args, &["-n", "-netns", "-f", "-family", "-b", "-batch"]);
                let verb = p.operands.get(1).map(|a| a.text.as_str());
                if p.has(&["-b", "-batch"]) {
                    self.unknown("shell.ip-batch", "`ip -batch` runs commands from a file");
                } else if matches!(verb, None | Some("show" | "list" | "ls" | "lst" | "get" | "help")) {
                    self.read("shell.ip-show", "shows network settings");
                } else {
                    self.write("shell.ip-change", "changes network settings");
                }
            }
            "ifconfig" => {
                if args.len() <= 1 || args.iter().all(|a| a.text == "-a") {
                    self.read("shell.ip-show", "shows network settings");
                } else {
                    self.write("shell.ip-change", "changes network settings");
                }
            }
            "sysctl" => {
                let p = Parsed::new(args, &["-p", "--load"]);
                if p.has(&["-w", "--write", "-p", "--load", "--system"])
                    || p.operands.iter().any(|a| a.text.contains('='))
                {
                    self.write("shell.sysctl-set", "changes kernel settings");
                } else {
                    self.read("shell.sysctl", "shows kernel settings");
                }
            }
            "journalctl" => {
                if args.iter().any(|a| {
                    a.text.starts_with("--vacuum")
                        || matches!(a.text.as_str(), "--rotate" | "--flush" | "--sync" | "--relinquish-var")
                }) {
                    self.write("shell.journal-change", "removes or rotates journal files");
                } else {
                    self.read("shell.journal", "reads the journal");
                }
            }
            "dmesg" => {
                let p = Parsed::new(args, &["-n", "--console-level", "-f", "-l"]);
                if p.has(&["-c", "-C", "--clear", "--read-clear", "-D", "-E", "-n", "--console-off", "--console-on"]) {
                    self.write("shell.dmesg-change", "clears the kernel log or changes its level");
                } else {
                    self.read("shell.dmesg", "reads the kernel log");
                }
            }
            "fdisk" | "sfdisk" | "parted" => {
                let p = Parsed::new(args, &[]);
                if p.has(&["-l", "--list", "-s", "--show-size"])
                    || (name == "parted" && args.iter().any(|a| a.text == "print"))
                {
                    self.read("shell.partitions-list", "lists partitions");
                } else {
                    self.dangerous("shell.partition", format!("`{name}` rewrites partition tables"));
                }
            }
            "cryptsetup" => match args.iter().find(|a| !a.text.starts_with('-')).map(|a| a.text.as_str()) {
                Some("status" | "luksDump" | "isLuks" | "luksUUID" | "tcryptDump") => {
                    self.read("shell.cryptsetup", "shows encryption status");
                }
                Some("luksFormat" | "erase" | "luksErase" | "reencrypt") => {
                    self.dangerous("shell.cryptsetup-format", "destroys the data on a device");
                }
                _ => self.write("shell.cryptsetup", "opens, closes or changes encrypted devices"),
            },
            "curl" => self.curl(args),
            "wget" => self.wget(args),
            "nc" | "ncat" | "netcat" | "socat" | "telnet-ssl" => {
                let p = Parsed::new(args, &["-e", "-c", "-p", "-s", "-w", "-i", "-q", "--exec", "--sh-exec"]);
                if p.has(&["-e", "-c", "--exec", "--sh-exec", "--lua-exec"])
                    || args.iter().any(|a| a.text.contains("EXEC:") || a.text.contains("SYSTEM:"))
                {
                    self.dangerous("shell.remote-shell", format!("`{name}` connects a program to the network"));
                } else if p.has(&["-l", "--listen"]) {
                    self.interactive("shell.listen", format!("`{name} -l` waits for connections"));
                } else {
                    self.unknown(super::DOWNLOADER_RULE, format!("`{name}` sends its input to a network peer"));
                }
                self.out = Some(Out::Download);
            }
            "aria2c" | "fetch" | "http" | "https" | "xh" | "lynx" | "links" | "w3m" => {
                self.find(crate::verdict::Finding::new(
                    Class::Write,
                    super::DOWNLOADER_RULE,
                    format!("`{name}` fetches from the network"),
                ));
                self.out = Some(Out::Download);
            }
            "psql" => self.sql_client(args, &["-c", "--command"], &["-f", "--file"], SqlDialect::Postgres, name),
            "mysql" | "mariadb" => self.sql_client(args, &["-e", "--execute"], &[], SqlDialect::MySql, name),
            "sqlite3" => {
                let p = Parsed::new(args, &["-cmd", "-separator", "-newline", "-nullvalue"]);
                match p.operands.get(1) {
                    Some(sql) if sql.is_exact() => self.sql_text(&sql.text, SqlDialect::Sqlite, name),
                    Some(_) => self.unknown("shell.sql-client", "runs SQL only known at run time"),
                    None => self.sql_stdin(name),
                }
            }
            "redis-cli" | "mongosh" if args.iter().any(|a| !a.text.starts_with('-')) => {
                self.unknown("shell.db-client", format!("`{name}` runs a database command that is not classified"));
            }
            "redis-cli" => self.sql_stdin(name),
            s if PACKAGE_MANAGERS.contains(&s) => {
                let sub = args.iter().find(|a| !a.text.starts_with('-') || PACKAGE_READS.contains(&a.text.as_str()));
                match sub {
                    Some(a) if PACKAGE_READS.contains(&a.text.as_str()) => {
                        self.read("shell.package-query", format!("`{name} {}` only reads", a.text));
                    }
                    None if args.is_empty() => self.read("shell.package-query", format!("`{name}` prints help")),
                    _ => self.write("shell.package-change", format!("`{name}` installs, removes or builds packages")),
                }
            }
            _ => return false,
        }
        true
    }

    fn git(&mut self, args: &[Arg]) {
        let (_, rest) = leading(args, &["-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"]);
        let Some((sub, sub_args)) = rest.split_first() else {
            self.read("shell.git", "`git` prints help");
            return;
        };
        let p = Parsed::new(sub_args, &["-m", "-F", "-C", "-c", "-o", "--format", "-n"]);
        let read = match sub.text.as_str() {
            "status" | "log" | "diff" | "show" | "blame" | "rev-parse" | "rev-list" | "ls-files" | "ls-tree"
            | "ls-remote" | "cat-file" | "describe" | "shortlog" | "grep" | "reflog" | "whatchanged" | "show-ref"
            | "for-each-ref" | "name-rev" | "merge-base" | "help" | "version" | "--version" | "check-ignore"
            | "count-objects" | "diff-tree" | "diff-files" | "diff-index" | "verify-commit" | "var" | "annotate" => {
                true
            }
            "branch" | "tag" => {
                p.operands.is_empty()
                    && !p.has(&[
                        "-d", "-D", "-m", "-M", "-c", "-C", "--delete", "--move", "--copy", "-f", "-a", "-s", "-u",
                    ])
                    || p.has(&["-l", "--list", "-v", "-vv", "-a", "-r", "--contains", "--merged"])
                        && !p.has(&["-d", "-D"])
            }
            "remote" => p.operands.first().is_none_or(|a| matches!(a.text.as_str(), "show" | "get-url")),
            "config" => {
                p.has(&["--get", "--get-all", "--get-regexp", "--list", "-l"])
                    || p.operands.first().is_some_and(|a| matches!(a.text.as_str(), "get" | "list"))
            }
            "stash" => p.operands.first().is_some_and(|a| matches!(a.text.as_str(), "list" | "show")),
            "worktree" => p.operands.first().is_some_and(|a| a.text == "list"),
            "submodule" => p.operands.first().is_none_or(|a| a.text == "status"),
            _ => false,
        };
        if read {
            self.read("shell.git-read", format!("`git {}` only reads", sub.text));
            return;
        }
        if sub.text == "push"
            && (p.has(&["-f", "--force", "--force-with-lease", "--mirror", "--force-if-includes"])
                || p.operands.iter().any(|a| a.text.starts_with('+')))
        {
            self.dangerous("shell.git-force-push", "`git push --force` rewrites the remote's history");
            return;
        }
        self.write("shell.git-write", format!("`git {}` changes a repository", sub.text));
    }

    fn systemctl(&mut self, args: &[Arg]) {
        let p = Parsed::new(
            args,
            &[
                "-H",
                "--host",
                "-M",
                "--machine",
                "-t",
                "--type",
                "-p",
                "--property",
                "-n",
                "--lines",
                "-o",
                "--output",
                "--state",
            ],
        );
        let verb = p.operands.first().map_or("list-units", |a| a.text.as_str());
        match verb {
            "status" | "show" | "cat" | "is-active" | "is-enabled" | "is-failed" | "is-system-running"
            | "get-default" | "help" | "list-dependencies" | "show-environment" => {
                self.read("shell.systemctl-read", format!("`systemctl {verb}` only reads"));
            }
            v if v.starts_with("list-") => self.read("shell.systemctl-read", format!("`systemctl {verb}` only reads")),
            "poweroff"
            | "reboot"
            | "halt"
            | "kexec"
            | "rescue"
            | "emergency"
            | "soft-reboot"
            | "suspend"
            | "hibernate"
            | "hybrid-sleep"
            | "suspend-then-hibernate" => {
                self.dangerous("shell.systemctl-power", format!("`systemctl {verb}` stops the machine"));
            }
            "edit" => self.interactive("shell.systemctl-edit", "`systemctl edit` opens an editor"),
            _ => self.write("shell.systemctl-write", format!("`systemctl {verb}` changes services")),
        }
    }

    fn kill(&mut self, args: &[Arg]) {
        let p = Parsed::new(args, &["-s", "-n", "--signal"]);
        if p.has(&["-l", "-L", "--list", "--table"]) {
            self.read("shell.kill-list", "lists signals");
            return;
        }
        // `kill -9 -1` parses `-1` as a flag; `kill -- -1` as an operand.
        let targets_all = p.operands.iter().any(|a| a.text == "-1") || args.iter().any(|a| a.text == "-1");
        if targets_all || p.operands.iter().any(|a| a.text == "1") {
            self.dangerous("shell.kill-all", "kills every process, or init");
        } else {
            self.write("shell.kill", "signals processes");
        }
    }

    fn container(&mut self, name: &str, args: &[Arg]) {
        let (_, rest) = leading(args, &["-H", "--host", "--context", "-c", "--config", "-l", "--log-level"]);
        let words: Vec<&str> = rest.iter().map(|a| a.text.as_str()).collect();
        let Some((sub, tail)) = words.split_first() else {
            self.read("shell.container-read", format!("`{name}` prints help"));
            return;
        };
        let (sub, tail) = match (*sub, tail.first()) {
            ("container" | "image" | "volume" | "network" | "system" | "compose", Some(s)) => (*s, &tail[1..]),
            _ => (*sub, tail),
        };
        let flags: Vec<&str> = tail.iter().copied().filter(|w| w.starts_with('-')).collect();
        let tty = flags.iter().any(|f| {
            matches!(*f, "--interactive" | "--tty") || (!f.starts_with("--") && (f.contains('i') || f.contains('t')))
        });
        match sub {
            "ps" | "images" | "inspect" | "logs" | "version" | "info" | "top" | "history" | "search" | "port"
            | "diff" | "ls" | "list" | "df" | "events" | "stats" => {
                self.read("shell.container-read", format!("`{name} {sub}` only reads"));
            }
            "attach" => self.interactive("shell.container-attach", format!("`{name} attach` needs a terminal")),
            "exec" | "run" if tty => {
                self.interactive("shell.container-tty", format!("`{name} {sub} -it` needs a terminal"));
            }
            "prune" => self.dangerous("shell.container-prune", format!("`{name} ... prune` removes unused data")),
            _ => self.write("shell.container-write", format!("`{name} {sub}` changes containers or images")),
        }
    }

    fn curl(&mut self, args: &[Arg]) {
        let takes = [
            "-o",
            "--output",
            "-X",
            "--request",
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "--data-urlencode",
            "-F",
            "--form",
            "-T",
            "--upload-file",
            "-H",
            "--header",
            "-u",
            "--user",
            "-A",
            "--user-agent",
            "-e",
            "--referer",
            "-b",
            "--cookie",
            "-c",
            "--cookie-jar",
            "-D",
            "--dump-header",
            "-K",
            "--config",
            "-m",
            "--max-time",
            "--json",
            "-w",
            "--write-out",
            "-x",
            "--proxy",
            "-E",
            "--cert",
            "--cacert",
            "--connect-timeout",
            "-r",
            "--range",
            "--retry",
            "-y",
            "-Y",
            "-z",
        ];
        let p = Parsed::new(args, &takes);
        self.find(crate::verdict::Finding::read(super::DOWNLOADER_RULE, "`curl` fetches from the network"));
        self.out = Some(Out::Download);
        for (flag, value) in &p.flags {
            match flag.as_str() {
                "-o" | "--output" | "-D" | "--dump-header" | "-c" | "--cookie-jar" => {
                    if let Some(v) = value {
                        let f = crate::shell::paths::redirect_target(&Arg::literal(*v), self.ctx.cwd);
                        self.find(f);
                    }
                }
                "-O" | "--remote-name" | "--remote-name-all" | "-J" => {
                    self.write("shell.curl-save", "`curl -O` saves a file")
                }
                "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-urlencode" | "-F" | "--form" | "-T"
                | "--upload-file" | "--json" => self.write("shell.curl-send", "`curl` sends data"),
                "-X" | "--request"
                    if !value.is_some_and(|m| m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("HEAD")) =>
                {
                    self.write("shell.curl-send", format!("`curl` sends a {} request", value.unwrap_or("?")));
                }
                "-K" | "--config" => self.unknown("shell.curl-config", "`curl -K` reads options from a file"),
                _ => {}
            }
        }
    }

    fn wget(&mut self, args: &[Arg]) {
        let takes = [
            "-O",
            "--output-document",
            "-o",
            "--output-file",
            "-a",
            "--append-output",
            "-P",
            "--directory-prefix",
            "--post-data",
            "--post-file",
            "--method",
            "--body-data",
            "--body-file",
            "-U",
            "--user-agent",
            "--header",
            "-e",
            "--execute",
            "-i",
            "--input-file",
            "-t",
            "--tries",
            "-T",
            "--timeout",
            "--user",
            "--password",
        ];
        let p = Parsed::new(args, &takes);
        self.find(crate::verdict::Finding::read(super::DOWNLOADER_RULE, "`wget` fetches from the network"));
        self.out = Some(Out::Download);
        if p.has(&["--post-data", "--post-file", "--body-data", "--body-file"])
            || p.value(&["--method"]).is_some_and(|m| !m.eq_ignore_ascii_case("GET") && !m.eq_ignore_ascii_case("HEAD"))
        {
            self.write("shell.wget-send", "`wget` sends data");
        }
        if p.has(&["-e", "--execute"]) {
            self.unknown("shell.wget-execute", "`wget -e` runs wgetrc commands");
        }
        if p.has(&["--spider"]) {
            return;
        }
        match p.value(&["-O", "--output-document"]) {
            Some("-") => {}
            Some(file) => {
                let f = crate::shell::paths::redirect_target(&Arg::literal(file), self.ctx.cwd);
                self.find(f);
            }
            None => self.write("shell.wget-save", "`wget` saves a file"),
        }
        for (flag, value) in &p.flags {
            if matches!(flag.as_str(), "-o" | "--output-file" | "-a" | "--append-output")
                && let Some(v) = value
            {
                let f = crate::shell::paths::redirect_target(&Arg::literal(*v), self.ctx.cwd);
                self.find(f);
            }
        }
    }

    fn sql_client(&mut self, args: &[Arg], command: &[&str], file: &[&str], dialect: SqlDialect, name: &str) {
        let takes = [
            "-c",
            "--command",
            "-e",
            "--execute",
            "-f",
            "--file",
            "-h",
            "--host",
            "-p",
            "--port",
            "-U",
            "--username",
            "-u",
            "--user",
            "-d",
            "--dbname",
            "-D",
            "--database",
            "-v",
            "--set",
            "-o",
            "--output",
            "-P",
            "-F",
            "-R",
        ];
        let takes: Vec<&str> = takes.iter().copied().filter(|t| name != "psql" || *t != "-P").collect();
        let p = Parsed::new(args, &takes);
        if p.has(file) {
            self.unknown("shell.sql-client", format!("`{name}` runs an SQL file that is not known"));
        }
        let statements: Vec<&str> =
            p.flags.iter().filter(|(f, _)| command.contains(&f.as_str())).filter_map(|(_, v)| *v).collect();
        if statements.is_empty() {
            if !p.has(file) {
                self.sql_stdin(name);
            }
            return;
        }
        for sql in statements {
            self.sql_text(sql, dialect, name);
        }
    }

    fn sql_text(&mut self, sql: &str, dialect: SqlDialect, name: &str) {
        if sql.contains(crate::shell::words::DYN) {
            self.unknown("shell.sql-client", format!("`{name}` runs SQL only known at run time"));
            return;
        }
        for r in classify_sql(dialect, sql).reasons {
            self.find(crate::verdict::Finding::new(r.class, r.rule, format!("{name}: {}", r.message)));
        }
    }

    fn sql_stdin(&mut self, name: &str) {
        match self.ctx.stdin {
            Input::Terminal => self.interactive("shell.repl", format!("`{name}` without a command is interactive")),
            _ => self.unknown("shell.sql-client", format!("`{name}` runs statements from its input")),
        }
    }
}
