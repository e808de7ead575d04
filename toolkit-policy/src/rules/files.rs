//! Programs that read or change files: removal (`rm`, `find -delete`), copies and moves,
//! modes and owners, `dd`, `tee`, in-place editors (`sed -i`), archives, and the text tools
//! whose output goes to standard output unless told otherwise (`sort -o`, `uniq IN OUT`).

use super::{Input, Out, Parsed, Rules};
use crate::shell::paths::{broad, changed_file, normalize, protected, redirect_target};
use crate::shell::words::{Arg, CHILD};

impl Rules<'_, '_> {
    /// Handles file programs; false when `name` is not one.
    pub(super) fn file_command(&mut self, name: &str, args: &[Arg]) -> bool {
        match name {
            "rm" => self.rm(args),
            "rmdir" | "unlink" => {
                let p = Parsed::new(args, &[]);
                self.changed(&p.operands, "removes");
                if p.operands.is_empty() {
                    self.write("shell.file-write", format!("`{name}` removes files"));
                }
            }
            "shred" => {
                let p = Parsed::new(args, &["-n", "-s", "--iterations", "--size", "--random-source"]);
                for a in &p.operands {
                    let path = normalize(&a.text, self.ctx.cwd);
                    if path.starts_with("/dev/") || protected(&path).is_some() {
                        self.dangerous("shell.shred", format!("overwrites {path}"));
                    }
                }
                self.write("shell.shred", "overwrites and removes files");
            }
            "find" => self.find_command(args),
            "cp" | "mv" | "install" | "ln" | "rsync" | "scp" => self.copy(name, args),
            "dd" => self.dd(args),
            "tee" => {
                let Some(p) = self.options("tee", "tee", args) else { return true };
                for a in &p.operands {
                    let f = redirect_target(a, self.ctx.cwd);
                    self.find(f);
                }
                if p.operands.is_empty() {
                    self.read("shell.tee", "`tee` without files copies its input");
                }
            }
            "touch" | "mkdir" | "truncate" | "mkfifo" | "mknod" | "chattr" | "setfacl" => {
                let takes =
                    ["-d", "-t", "-r", "-m", "-s", "-M", "-x", "-Z", "--date", "--reference", "--mode", "--size"];
                let p = Parsed::new(args, &takes);
                let targets: Vec<&Arg> = match name {
                    // `chattr +i FILE`, `setfacl -m SPEC FILE`, `mknod NAME TYPE ...`.
                    "chattr" => p.operands.iter().copied().filter(|a| !a.text.starts_with(['+', '='])).collect(),
                    "mknod" => p.operands.first().copied().into_iter().collect(),
                    _ => p.operands.clone(),
                };
                self.changed(&targets, "changes");
                if targets.is_empty() {
                    self.write("shell.file-write", format!("`{name}` changes files"));
                }
            }
            "chmod" | "chown" | "chgrp" => self.mode(name, args),
            "sed" => self.sed(args),
            "awk" | "gawk" | "mawk" | "nawk" => self.awk(name, args),
            "sort" => {
                if self.options("sort", "sort", args).is_some() {
                    self.read("shell.read-only-program", "`sort` with options known to only read");
                }
            }
            "uniq" => {
                let Some(p) = self.options("uniq", "uniq", args) else { return true };
                match p.operands.get(1) {
                    Some(out) => {
                        let f = redirect_target(out, self.ctx.cwd);
                        self.find(f);
                    }
                    None => self.read("shell.read-only-program", "`uniq` only reads"),
                }
            }
            "xxd" => {
                let Some(p) = self.options("xxd", "xxd", args) else { return true };
                if let Some(out) = p.operands.get(1) {
                    let f = redirect_target(out, self.ctx.cwd);
                    self.find(f);
                } else {
                    self.read("shell.read-only-program", "`xxd` prints a dump");
                }
            }
            "tar" => self.tar(args),
            "unzip" => {
                let end = args.iter().position(|a| a.text == "-x").unwrap_or(args.len());
                let Some(p) = self.options("unzip", "unzip", &args[..end]) else { return true };
                if p.has(&["-l", "-v", "-t", "-Z", "-p", "-c", "-z"]) {
                    self.read("shell.archive-list", "lists or tests an archive");
                } else {
                    self.extract_into(p.last(&["-d"]).and_then(|g| g.value.as_ref()).map(|v| v.text.as_str()));
                }
            }
            "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd" | "unzstd" | "lz4" | "compress"
            | "uncompress" => {
                let Some(p) = self.options("gzip", name, args) else { return true };
                if p.has(&["-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"]) {
                    self.read("shell.compress-stdout", format!("`{name}` writes to standard output"));
                } else if p.operands.is_empty() {
                    self.read("shell.compress-stdout", format!("`{name}` filters its input"));
                } else {
                    self.changed(&p.operands, "replaces");
                }
            }
            "cat" => {
                let Some(p) = self.options("cat", "cat", args) else { return true };
                if (p.operands.is_empty() || p.operands.iter().all(|a| a.text == "-"))
                    && let Input::Text(t) = self.ctx.stdin
                {
                    self.out = Some(Out::Text(t.clone()));
                }
                self.read("shell.read-only-program", "`cat` with options known to only read");
            }
            "echo" => {
                let mut words = args;
                while let Some((first, rest)) = words.split_first() {
                    if matches!(first.text.as_str(), "-n" | "-e" | "-E" | "-ne" | "-en") {
                        words = rest;
                    } else {
                        break;
                    }
                }
                if words.iter().all(Arg::is_exact) {
                    self.out = Some(Out::Text(format!("{}\n", super::joined(words))));
                }
                self.read("shell.read-only-program", "`echo` only prints");
            }
            _ => return false,
        }
        true
    }

    pub(super) fn changed(&mut self, targets: &[&Arg], verb: &str) {
        for a in targets {
            let f = changed_file(a, self.ctx.cwd, verb);
            self.find(f);
        }
    }

    fn rm(&mut self, args: &[Arg]) {
        let p = Parsed::new(args, &["--interactive"]);
        let recursive = p.has(&["-r", "-R", "--recursive"]);
        if p.has(&["--no-preserve-root"]) {
            self.dangerous("shell.rm.no-preserve-root", "`rm --no-preserve-root` lets rm remove /");
        }
        for a in &p.operands {
            if recursive && let Some(why) = broad(a, self.ctx.cwd) {
                self.dangerous("shell.rm.recursive-broad", format!("recursive removal: {why}"));
            }
        }
        self.changed(&p.operands, "removes");
        if p.operands.is_empty() {
            self.write("shell.file-write", "`rm` removes files");
        }
    }

    fn find_command(&mut self, args: &[Arg]) {
        let table = super::options::table("find");
        // Options before the starting points: -H, -L, -P, -D debugopts, -Olevel.
        let mut args = args;
        while let Some((first, tail)) = args.split_first() {
            match first.text.as_str() {
                "-H" | "-L" | "-P" | "-O1" | "-O2" | "-O3" | "-O0" => args = tail,
                "-D" => args = tail.get(1..).unwrap_or_default(),
                _ => break,
            }
        }
        let split = args
            .iter()
            .position(|a| a.text.starts_with(['-', '(', '!']) && !a.text.starts_with(crate::shell::words::DYN));
        let (roots, expr) = args.split_at(split.unwrap_or(args.len()));
        let roots: Vec<Arg> = if roots.is_empty() { vec![Arg::literal(".")] } else { roots.to_vec() };
        let mut i = 0;
        let mut acted = false;
        while i < expr.len() {
            let t = expr[i].text.as_str();
            i += 1;
            match t {
                "-delete" => {
                    acted = true;
                    let narrowed = expr.iter().any(|a| NARROWING_TESTS.contains(&a.text.as_str()));
                    for r in &roots {
                        let path = normalize(&r.text, self.ctx.cwd);
                        // Deleting matches of a name or age below the working or home directory
                        // is cleanup; below `/` or a system directory it is not.
                        let local = path == "." || path == ".." || path == "~" || !path.starts_with(['/', '~']);
                        match broad(r, self.ctx.cwd) {
                            Some(why) if !(narrowed && local && r.is_exact()) => {
                                self.dangerous("shell.find.delete-broad", format!("`find -delete`: {why}"))
                            }
                            _ => {
                                let f = changed_file(r, self.ctx.cwd, "deletes files under");
                                self.find(f);
                            }
                        }
                    }
                }
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    acted = true;
                    let end =
                        expr[i..].iter().position(|a| a.text == ";" || a.text == "+").map_or(expr.len(), |e| i + e);
                    let cmd = &expr[i..end];
                    i = end + 1;
                    if t.starts_with("-ok") {
                        self.interactive("shell.find.ok", "`find -ok` asks on the terminal");
                    }
                    // A command that reads the files found, which a name test says may be secrets.
                    let reads_files = cmd.first().and_then(|p| super::options::table(&p.text)).is_some_and(|tb| {
                        matches!(
                            tb.table.operands,
                            super::options::Operands::Files | super::options::Operands::FirstThenFiles
                        )
                    });
                    if reads_files {
                        let names = expr.windows(2).filter(|w| {
                            matches!(
                                w[0].text.as_str(),
                                "-name" | "-iname" | "-path" | "-ipath" | "-wholename" | "-iwholename"
                            )
                        });
                        for w in names {
                            for r in &roots {
                                let pattern =
                                    format!("{}/*{}", r.text.trim_end_matches('/'), w[1].text.trim_start_matches('*'));
                                let probe = Arg { text: pattern.clone(), pattern: Some(pattern), ..Arg::default() };
                                if let Some(what) = crate::shell::secrets::secret(&probe, self.ctx.cwd) {
                                    self.sensitive(
                                        super::SECRET_RULE,
                                        format!(
                                            "`find {} {}` with `-exec` reads the files it finds, which may be {what}",
                                            w[0].text,
                                            w[1].shown()
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    for r in &roots {
                        let child = Arg::literal(format!("{}/{CHILD}", r.text.trim_end_matches('/')));
                        let argv: Vec<Arg> = cmd
                            .iter()
                            .map(|a| {
                                if a.text.contains("{}") {
                                    let mut b = a.clone();
                                    b.text = a.text.replace("{}", &child.text);
                                    b
                                } else {
                                    a.clone()
                                }
                            })
                            .collect();
                        if !argv.is_empty() {
                            self.run(argv, Input::Unknown);
                        }
                    }
                }
                "(" | ")" | "!" | "," | "\\(" | "\\)" => {}
                _ => {
                    let Some(spec) = table.and_then(|tb| tb.get(t)) else {
                        self.find(super::unknown_option("find", &expr[i - 1].shown()));
                        continue;
                    };
                    let value = expr.get(i);
                    match spec.takes {
                        super::options::Takes::Value => i += 1,
                        super::options::Takes::Pair => i += 2,
                        _ => {}
                    }
                    match spec.effect {
                        super::options::Effect::WritesFile | super::options::Effect::Raise(..) => {
                            acted = true;
                            match value {
                                Some(out) => {
                                    let f = redirect_target(out, self.ctx.cwd);
                                    self.find(f);
                                }
                                None => self.write("shell.find.writes", format!("`find {t}` writes a file")),
                            }
                        }
                        super::options::Effect::ReadsFile => {
                            if let Some(v) = value
                                && let Some(what) = self.secret(v)
                            {
                                self.sensitive(super::SECRET_RULE, format!("`find {t}` reads {} ({what})", v.shown()));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if !acted {
            self.read("shell.find", "`find` lists files");
        }
    }

    fn copy(&mut self, name: &str, args: &[Arg]) {
        let takes = [
            "-t",
            "--target-directory",
            "-S",
            "--suffix",
            "-m",
            "--mode",
            "-o",
            "--owner",
            "-g",
            "--group",
            "-e",
            "--rsh",
            "-P",
            "-i",
            "-F",
            "-l",
            "-c",
            "--exclude",
            "--include",
            "--filter",
            "-f",
        ];
        // `scp -P port`, `-i identity`, `-F config`, `-l limit`, `-c cipher` take values; `cp -P`
        // and `ln -f` do not, but taking one more word as a value only hides an operand from
        // the destination check, which then looks at the last word anyway.
        let takes: Vec<&str> = match name {
            "scp" => takes.to_vec(),
            "rsync" => takes.iter().copied().filter(|t| !matches!(*t, "-P" | "-i" | "-l" | "-c" | "-F")).collect(),
            _ => takes
                .iter()
                .copied()
                .filter(|t| !matches!(*t, "-P" | "-i" | "-F" | "-l" | "-c" | "-f" | "-e"))
                .collect(),
        };
        let p = Parsed::new(args, &takes);
        let dest: Option<Arg> = p
            .value(&["-t", "--target-directory"])
            .map(Arg::literal)
            .or_else(|| (p.operands.len() >= 2).then(|| p.operands[p.operands.len() - 1].clone()));
        if let Some(d) = &dest {
            if !d.text.contains(':') || name != "scp" && name != "rsync" {
                let f = changed_file(d, self.ctx.cwd, "writes to");
                self.find(f);
            } else {
                self.write("shell.remote-copy", format!("copies to the remote path {}", d.shown()));
            }
            if name == "rsync"
                && p.has(&["--delete", "--delete-before", "--delete-after", "--delete-during", "--del"])
                && let Some(why) = broad(d, self.ctx.cwd)
            {
                self.dangerous("shell.rsync.delete-broad", format!("`rsync --delete` into it: {why}"));
            }
        }
        if name == "mv" {
            let sources = p.operands.len().saturating_sub(usize::from(dest.is_some() && p.value(&["-t"]).is_none()));
            for s in p.operands.iter().take(sources) {
                if let Some(why) = broad(s, self.ctx.cwd) {
                    self.dangerous("shell.mv.broad", format!("moves away {why}"));
                }
                let path = normalize(&s.text, self.ctx.cwd);
                if let Some(why) = protected(&path) {
                    self.dangerous("shell.protected-path", format!("moves {path}: {why}"));
                }
            }
        }
        if dest.is_none() {
            self.write("shell.file-write", format!("`{name}` copies or links files"));
        }
    }

    fn dd(&mut self, args: &[Arg]) {
        const OPERANDS: &[&str] = &[
            "if", "of", "bs", "ibs", "obs", "cbs", "count", "skip", "seek", "iseek", "oseek", "conv", "iflag", "oflag",
            "status",
        ];
        let mut wrote = false;
        for a in args {
            if matches!(a.text.as_str(), "--help" | "--version") {
                continue;
            }
            let Some((key, value)) = a.text.split_once('=') else {
                self.find(super::unknown_option("dd", &a.shown()));
                continue;
            };
            if !OPERANDS.contains(&key) {
                self.find(super::unknown_option("dd", &format!("{key}=")));
            }
            match key {
                "of" => {
                    wrote = true;
                    let f = redirect_target(&Arg::literal(value), self.ctx.cwd);
                    let f = if f.class == crate::Class::Dangerous {
                        crate::verdict::Finding::dangerous("shell.dd.device", format!("`dd` writes to {value}"))
                    } else {
                        f
                    };
                    self.find(f);
                }
                "if" => {
                    if let Some(what) = crate::shell::secrets::secret(&Arg::literal(value), self.ctx.cwd) {
                        self.sensitive(super::SECRET_RULE, format!("`dd` reads {value} ({what})"));
                    }
                }
                _ => {}
            }
        }
        if !wrote {
            self.read("shell.dd.stdout", "`dd` without `of=` writes to standard output");
        }
    }

    fn mode(&mut self, name: &str, args: &[Arg]) {
        let p = Parsed::new(args, &["--reference", "--from"]);
        let recursive = p.has(&["-R", "--recursive"]);
        let skip = usize::from(p.value(&["--reference"]).is_none());
        let targets: Vec<&Arg> = p.operands.iter().skip(skip).copied().collect();
        for a in &targets {
            let path = normalize(&a.text, self.ctx.cwd);
            if let Some(why) = broad(a, self.ctx.cwd)
                && (recursive || path == "/")
            {
                self.dangerous("shell.chmod.broad", format!("`{name}`{}: {why}", if recursive { " -R" } else { "" }));
            }
        }
        self.changed(&targets, if name == "chmod" { "changes the mode of" } else { "changes the owner of" });
        if targets.is_empty() {
            self.write("shell.file-write", format!("`{name}` changes files"));
        }
    }

    fn tar(&mut self, args: &[Arg]) {
        // Old style: `tar xzf FILE` (the first word holds the letters without a dash; the
        // letters that take a value take the next words in order).
        let mut words: Vec<Arg> = Vec::new();
        let mut rest: &[Arg] = args;
        if let Some((first, tail)) = args.split_first()
            && !first.text.starts_with('-')
            && !first.text.is_empty()
            && first.text.chars().all(|c| c.is_ascii_alphabetic())
        {
            let t = super::options::table("tar");
            let mut tail = tail;
            for c in first.text.chars() {
                let flag = format!("-{c}");
                words.push(Arg::literal(&flag));
                let takes = t.and_then(|t| t.get(&flag)).is_some_and(|s| s.takes == super::options::Takes::Value);
                if takes && let Some((v, more)) = tail.split_first() {
                    words.push(v.clone());
                    tail = more;
                }
            }
            rest = tail;
        }
        words.extend_from_slice(rest);
        let Some(p) = self.options("tar", "tar", &words) else { return };
        let archive = p.last(&["-f", "--file"]).and_then(|g| g.value.as_ref());
        if let Some(a) = archive
            && a.text.split('/').next().is_some_and(|head| head.contains(':'))
            && !p.has(&["--force-local"])
        {
            self.unknown("shell.tar.remote", format!("`tar -f {}` reaches a remote archive through rsh", a.shown()));
        }
        if p.has(&["-t", "--list"]) {
            self.read("shell.archive-list", "lists an archive");
        } else if p.has(&["-x", "--extract", "--get"]) {
            if p.has(&["-O", "--to-stdout"]) {
                self.read("shell.archive-list", "extracts to standard output");
            } else {
                self.extract_into(
                    p.last(&["-C", "--directory"]).and_then(|g| g.value.as_ref()).map(|v| v.text.as_str()),
                );
            }
        } else if p.has(&["-d", "--diff", "--compare", "--test-label"]) {
            self.read("shell.archive-list", "compares an archive with files");
        } else {
            match archive {
                Some(f) if f.text != "-" => {
                    let f = redirect_target(f, self.ctx.cwd);
                    self.find(f);
                }
                _ => self.write("shell.archive-create", "`tar` creates or changes an archive"),
            }
        }
    }

    fn extract_into(&mut self, dir: Option<&str>) {
        match dir {
            Some(d) => {
                let path = normalize(d, self.ctx.cwd);
                if path == "/" || protected(&path).is_some() {
                    self.dangerous("shell.extract-protected", format!("extracts files into {path}"));
                } else {
                    self.write("shell.extract", format!("extracts files into {d}"));
                }
            }
            None => self.write("shell.extract", "extracts files"),
        }
    }
}

/// `find` tests that select some files by name, age, size or owner.
const NARROWING_TESTS: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-newer",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-size",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-empty",
    "-perm",
    "-inum",
    "-samefile",
    "-links",
    "-lname",
    "-ilname",
];
