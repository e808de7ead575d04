//! Programs whose class depends on a subcommand or an option: kubectl and helm (see
//! [`crate::kubectl`] and [`crate::helm`]), systemd, containers, database clients and system
//! settings. git is in [`super::git`], downloaders in [`super::network`], package managers in
//! [`super::packages`].

use super::{Input, Out, Parsed, Rules, rest_of};
use crate::shell::words::Arg;
use crate::sql::{SqlDialect, classify as classify_sql};
use crate::verdict::Class;

impl Rules<'_, '_> {
    /// Handles programs with subcommands; false when `name` is not one.
    pub(super) fn program(&mut self, name: &str, args: &[Arg]) -> bool {
        match name {
            "kubectl" | "oc" => {
                let (findings, exec) = crate::kubectl::classify(args, self.ctx.cwd);
                findings.into_iter().for_each(|f| self.find(f));
                if let Some(cmd) = exec {
                    self.run(cmd, Input::Unknown);
                }
            }
            "helm" => crate::helm::classify(args).into_iter().for_each(|f| self.find(f)),
            "git" => self.git(args),
            "systemctl" => self.systemctl(args),
            "service" => match (args.first().map(|a| a.text.as_str()), args.get(1).map(|a| a.text.as_str())) {
                (Some("--status-all" | "--help" | "--version"), None) | (None, None) => {
                    self.read("shell.service", "lists services")
                }
                (Some(n), Some("status")) if !n.starts_with('-') && args.len() == 2 => {
                    self.read("shell.service", "shows a service's status")
                }
                _ => self.write("shell.service", "starts, stops or reloads a service"),
            },
            "kill" => self.kill(args),
            "init" => match args.first().map(|a| a.text.as_str()) {
                Some("0" | "6" | "1" | "s" | "S") => self.dangerous("shell.runlevel", "changes the run level"),
                _ => self.unknown("shell.init", "`init` with these arguments"),
            },
            "date" => {
                let Some(p) = self.options("date", "date", args) else { return true };
                if p.operands.iter().any(|a| !a.text.starts_with('+')) {
                    self.write("shell.date-set", "sets the system clock");
                } else if !self.found_above(Class::Read) {
                    self.read("shell.read-only-program", "`date` prints the time");
                }
            }
            "hostname" => {
                let Some(p) = self.options("hostname", "hostname", args) else { return true };
                if !p.operands.is_empty() {
                    self.write("shell.hostname-set", "sets the host name");
                } else if !self.found_above(Class::Read) {
                    self.read("shell.read-only-program", "`hostname` prints the host name");
                }
            }
            "docker" | "podman" | "nerdctl" => self.container(name, args),
            "crontab" => {
                let Some(p) = self.options("crontab", "crontab", args) else { return true };
                if p.has(&["-l"]) && p.operands.is_empty() {
                    if !self.found_above(Class::Read) {
                        self.read("shell.crontab-list", "lists cron jobs");
                    }
                } else if !self.found_above(Class::Write) {
                    self.write("shell.crontab-install", "replaces the cron table");
                }
            }
            "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" | "nft" | "ebtables" => {
                self.firewall(name, args);
            }
            "mount" => {
                let p = Parsed::new(args, &["-t", "-o", "-O"]);
                let listing = p.operands.is_empty()
                    && p.flags.iter().all(|(f, _)| {
                        matches!(f.as_str(), "-l" | "-t" | "--show-labels" | "--types" | "--help" | "--version" | "-V")
                    });
                if listing {
                    self.options("mount", "mount", args);
                    if !self.found_above(Class::Read) {
                        self.read("shell.mount-list", "lists mounts");
                    }
                } else {
                    self.write("shell.mount", "mounts a file system");
                }
            }
            "ip" => self.ip(args),
            "ifconfig" => {
                let Some(p) = self.options("ifconfig", "ifconfig", args) else { return true };
                if p.operands.len() <= 1 {
                    if !self.found_above(Class::Read) {
                        self.read("shell.ip-show", "shows network settings");
                    }
                } else {
                    self.write("shell.ip-change", "changes network settings");
                }
            }
            "sysctl" => {
                let Some(p) = self.options("sysctl", "sysctl", args) else { return true };
                if p.operands.iter().any(|a| a.text.contains('=')) {
                    self.write("shell.sysctl-set", "changes kernel settings");
                } else if !self.found_above(Class::Read) {
                    self.read("shell.sysctl", "shows kernel settings");
                }
            }
            "fdisk" | "sfdisk" | "parted" => {
                let p = Parsed::new(args, &[]);
                let listing = p.has(&["-l", "--list", "-s", "--show-size"])
                    && p.flags.iter().all(|(f, _)| {
                        matches!(f.as_str(), "-l" | "--list" | "-s" | "--show-size" | "-x" | "--list-details")
                    })
                    || (name == "parted"
                        && args.iter().any(|a| a.text == "print")
                        && args.iter().all(|a| !a.text.starts_with('-') || a.text == "-l"));
                if listing {
                    self.read("shell.partitions-list", "lists partitions");
                } else {
                    self.dangerous("shell.partition", format!("`{name}` rewrites partition tables"));
                }
            }
            "cryptsetup" => match args.iter().find(|a| !a.text.starts_with('-')).map(|a| a.text.as_str()) {
                Some("status" | "luksDump" | "isLuks" | "luksUUID" | "tcryptDump")
                    if args.iter().all(|a| {
                        !a.text.starts_with('-') || matches!(a.text.as_str(), "--debug" | "--verbose" | "-v")
                    }) =>
                {
                    if args.iter().any(|a| a.text == "luksDump") && args.iter().any(|a| a.text.starts_with("--dump-")) {
                        self.sensitive("shell.cryptsetup", "dumps the volume key");
                    }
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
            "psql" => self.sql_client("psql", args, &["-c", "--command"], SqlDialect::Postgres, name),
            "mysql" | "mariadb" => self.sql_client("mysql", args, &["-e", "--execute"], SqlDialect::MySql, name),
            "sqlite3" => {
                let p = Parsed::new(args, &["-cmd", "-separator", "-newline", "-nullvalue"]);
                if p.flags.iter().any(|(f, _)| {
                    !matches!(
                        f.as_str(),
                        "-readonly"
                            | "-json"
                            | "-csv"
                            | "-header"
                            | "-noheader"
                            | "-column"
                            | "-line"
                            | "-list"
                            | "-box"
                            | "-table"
                            | "-markdown"
                            | "-separator"
                            | "-newline"
                            | "-nullvalue"
                            | "-batch"
                            | "-bail"
                            | "-safe"
                    )
                }) {
                    let o = p
                        .flags
                        .iter()
                        .map(|(f, _)| f.as_str())
                        .find(|f| {
                            !matches!(
                                *f,
                                "-readonly"
                                    | "-json"
                                    | "-csv"
                                    | "-header"
                                    | "-noheader"
                                    | "-column"
                                    | "-line"
                                    | "-list"
                                    | "-box"
                                    | "-table"
                                    | "-markdown"
                                    | "-separator"
                                    | "-newline"
                                    | "-nullvalue"
                                    | "-batch"
                                    | "-bail"
                                    | "-safe"
                            )
                        })
                        .unwrap_or_default()
                        .to_owned();
                    self.find(super::unknown_option("sqlite3", &o));
                }
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
            s if super::packages::MANAGERS.contains(&s) => self.package_manager(name, args),
            "getent" => {
                let Some(p) = self.options("getent", "getent", args) else { return true };
                if p.operands.first().is_some_and(|db| matches!(db.text.as_str(), "shadow" | "gshadow")) {
                    self.sensitive(super::SECRET_RULE, "`getent shadow` prints password hashes");
                }
                if !self.found_above(Class::Read) {
                    self.read("shell.read-only-program", "`getent` looks up entries");
                }
            }
            "ps" => self.ps(args),
            _ => return false,
        }
        true
    }

    fn ps(&mut self, args: &[Arg]) {
        // BSD options come without a dash (`ps aux`); `e` shows every process's environment.
        let (bsd, unix): (Vec<&Arg>, Vec<Arg>) = {
            let mut bsd = Vec::new();
            let mut unix = Vec::new();
            let mut i = 0;
            while i < args.len() {
                let a = &args[i];
                if !a.text.starts_with('-')
                    && unix.last().is_none_or(|l: &Arg| !PS_TAKES_VALUE.contains(&l.text.as_str()))
                {
                    bsd.push(a);
                } else {
                    unix.push(a.clone());
                }
                i += 1;
            }
            (bsd, unix)
        };
        let Some(_) = self.options("ps", "ps", &unix) else { return };
        for w in &bsd {
            if w.text.chars().all(|c| c.is_ascii_digit() || c == ',') {
                continue;
            }
            if w.text.contains('e') && w.text.chars().all(|c| c.is_ascii_alphabetic()) {
                self.sensitive(
                    "shell.ps.environment",
                    "`ps e` shows the environment of every process it lists, where secrets often are",
                );
            }
            if let Some(c) = w.text.chars().find(|c| !"auxwfjlsvrTmnhHScLMeXZgAGUO".contains(*c)) {
                self.find(super::unknown_option("ps", &c.to_string()));
            }
        }
        if !self.found_above(Class::Read) {
            self.read("shell.read-only-program", "`ps` lists processes");
        }
    }

    fn firewall(&mut self, name: &str, args: &[Arg]) {
        let p = Parsed::new(args, &["-t", "--table", "-A", "-D", "-I", "-R", "-N", "-X", "-P", "-E"]);
        let first = args.first().map(|a| a.text.as_str());
        if p.has(&["-F", "--flush"]) || (name == "nft" && first == Some("flush")) {
            self.dangerous("shell.firewall-flush", "removes every firewall rule");
            return;
        }
        let listing = p.has(&["-L", "--list", "-S", "--list-rules"]) || (name == "nft" && first == Some("list"));
        if !listing {
            self.write("shell.firewall", "changes firewall rules");
            return;
        }
        if matches!(name, "iptables" | "ip6tables") {
            self.options(name, name, args);
        } else if name != "nft" {
            self.options("iptables", name, args);
        }
        if !self.found_above(Class::Read) {
            self.read("shell.firewall-list", "lists firewall rules");
        }
    }

    fn ip(&mut self, args: &[Arg]) {
        let Some(p) = self.options("ip", "ip", args) else { return };
        let verb = p.operands.get(1).map(|a| a.text.as_str());
        let object = p.operands.first().map(|a| a.text.as_str()).unwrap_or_default();
        if object.starts_with("netns") && verb == Some("exec") {
            self.write("shell.ip-change", "`ip netns exec` runs a command in a network namespace");
            if let Some(rest) = p.operands.get(3..) {
                self.run(rest.iter().map(|a| (*a).clone()).collect(), self.ctx.stdin.clone());
            }
        } else if matches!(verb, None | Some("show" | "list" | "ls" | "lst" | "get" | "help")) {
            if !self.found_above(Class::Read) {
                self.read("shell.ip-show", "shows network settings");
            }
        } else if matches!(object, "monitor" | "mon") {
            self.read("shell.ip-show", "watches network changes");
        } else {
            self.write("shell.ip-change", "changes network settings");
        }
    }

    fn systemctl(&mut self, args: &[Arg]) {
        let Some(p) = self.options("systemctl", "systemctl", args) else { return };
        let verb = p.operands.first().map_or("list-units", |a| a.text.as_str());
        match verb {
            "status" | "show" | "cat" | "is-active" | "is-enabled" | "is-failed" | "is-system-running"
            | "get-default" | "help" | "list-dependencies" | "show-environment" => {
                if !self.found_above(Class::Read) {
                    self.read("shell.systemctl-read", format!("`systemctl {verb}` only reads"));
                }
            }
            v if v.starts_with("list-") => {
                if !self.found_above(Class::Read) {
                    self.read("shell.systemctl-read", format!("`systemctl {verb}` only reads"));
                }
            }
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
        if p.has(&["-l", "-L", "--list", "--table"])
            && p.operands.iter().all(|a| a.text.chars().all(|c| c.is_ascii_alphanumeric()))
        {
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
        let table = if name == "podman" { "podman" } else { "docker" };
        let Some(global) = self.options(table, name, args) else { return };
        let rest = rest_of(args, &global);
        let words: Vec<&str> = rest.iter().map(|a| a.text.as_str()).collect();
        let Some((sub, tail)) = words.split_first() else {
            if !self.found_above(Class::Read) {
                self.read("shell.container-read", format!("`{name}` prints help"));
            }
            return;
        };
        let (group, sub, tail_args) = match (*sub, tail.first()) {
            ("container" | "image" | "volume" | "network" | "system" | "compose", Some(s)) => (*sub, *s, &rest[2..]),
            _ => ("", *sub, &rest[1..]),
        };
        let flags: Vec<&str> = tail.iter().copied().filter(|w| w.starts_with('-')).collect();
        let tty = flags.iter().any(|f| {
            matches!(*f, "--interactive" | "--tty") || (!f.starts_with("--") && (f.contains('i') || f.contains('t')))
        });
        let read_table = match (group, sub) {
            ("container", "ls" | "list") => Some("docker ps"),
            ("image", "ls" | "list") => Some("docker images"),
            ("volume" | "network", "ls" | "list") => Some("docker ls"),
            ("system", "df") => Some("docker df"),
            ("system", "info") | ("", "info") => Some("docker info"),
            ("container" | "image" | "volume" | "network" | "", "inspect") => Some("docker inspect"),
            ("" | "container", "ps" | "logs" | "top" | "port" | "diff" | "stats") => match sub {
                "ps" => Some("docker ps"),
                "logs" => Some("docker logs"),
                "stats" => Some("docker stats"),
                _ => Some("docker top"),
            },
            ("" | "image", "images" | "history") => {
                Some(if sub == "images" { "docker images" } else { "docker history" })
            }
            ("", "version") => Some("docker version"),
            ("" | "system", "events") => Some("docker events"),
            ("", "search") => Some("docker search"),
            _ => None,
        };
        if let Some(t) = read_table {
            self.options(t, &format!("{name} {sub}"), tail_args);
            if !self.found_above(Class::Read) {
                self.read("shell.container-read", format!("`{name} {sub}` only reads"));
            }
            return;
        }
        match sub {
            "attach" => self.interactive("shell.container-attach", format!("`{name} attach` needs a terminal")),
            "exec" | "run" if tty => {
                self.interactive("shell.container-tty", format!("`{name} {sub} -it` needs a terminal"));
            }
            "prune" => self.dangerous("shell.container-prune", format!("`{name} ... prune` removes unused data")),
            _ => self.write("shell.container-write", format!("`{name} {sub}` changes containers or images")),
        }
    }

    fn sql_client(&mut self, table: &str, args: &[Arg], command: &[&str], dialect: SqlDialect, name: &str) {
        let Some(p) = self.options(table, name, args) else { return };
        let statements: Vec<Arg> = p.values(command).cloned().collect();
        if statements.is_empty() {
            if !p.has(&["-f", "--file", "-l", "--list", "-V", "--version", "--help", "-?"]) {
                self.sql_stdin(name);
            } else if !self.found_above(Class::Read) {
                self.read("shell.sql-client", format!("`{name}` lists databases or prints its version"));
            }
            return;
        }
        for sql in statements {
            self.sql_text(&sql.text, dialect, name);
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

    pub(super) fn sql_stdin(&mut self, name: &str) {
        match self.ctx.stdin {
            Input::Terminal => self.interactive("shell.repl", format!("`{name}` without a command is interactive")),
            _ => self.unknown("shell.sql-client", format!("`{name}` runs statements from its input")),
        }
    }
}

/// `ps` options that take the next word.
const PS_TAKES_VALUE: &[&str] = &[
    "-o", "-O", "-p", "-q", "-C", "-G", "-g", "-s", "-t", "-u", "-U", "--format", "--sort", "--pid", "--ppid",
    "--user", "--cols", "--width",
];
