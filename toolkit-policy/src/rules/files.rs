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
                let p = Parsed::new(args, &["--output-error"]);
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
            "awk" | "gawk" | "mawk" | "nawk" => self.awk(args),
            "sort" => {
                let p = Parsed::new(args, &["-o", "--output", "-k", "-t", "-S", "-T", "--key", "--field-separator"]);
                match p.value(&["-o", "--output"]) {
                    Some(out) => {
                        let f = redirect_target(&Arg::literal(out), self.ctx.cwd);
                        self.find(f);
                    }
                    None => self.read("shell.read-only-program", "`sort` only reads"),
                }
            }
            "uniq" => {
                let p = Parsed::new(args, &["-f", "-s", "-w", "--skip-fields", "--skip-chars", "--check-chars"]);
                match p.operands.get(1) {
                    Some(out) => {
                        let f = redirect_target(out, self.ctx.cwd);
                        self.find(f);
                    }
                    None => self.read("shell.read-only-program", "`uniq` only reads"),
                }
            }
            "xxd" => {
                let p = Parsed::new(args, &["-c", "-g", "-l", "-o", "-s", "-n"]);
                if let Some(out) = p.operands.get(1) {
                    let f = redirect_target(out, self.ctx.cwd);
                    self.find(f);
                } else {
                    self.read("shell.read-only-program", "`xxd` prints a dump");
                }
            }
            "tar" => self.tar(args),
            "unzip" => {
                let p = Parsed::new(args, &["-d", "-x"]);
                if p.has(&["-l", "-v", "-t", "-Z", "-p"]) {
                    self.read("shell.archive-list", "lists or tests an archive");
                } else {
                    self.extract_into(p.value(&["-d"]));
                }
            }
            "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd" | "unzstd" | "lz4" | "compress"
            | "uncompress" => {
                let p = Parsed::new(args, &["-S", "--suffix", "-o"]);
                if p.has(&["-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"]) {
                    self.read("shell.compress-stdout", format!("`{name}` writes to standard output"));
                } else if p.operands.is_empty() {
                    self.read("shell.compress-stdout", format!("`{name}` filters its input"));
                } else {
                    self.changed(&p.operands, "replaces");
                }
            }
            "cat" => {
                let p = Parsed::new(args, &[]);
                if (p.operands.is_empty() || p.operands.iter().all(|a| a.text == "-"))
                    && let Input::Text(t) = self.ctx.stdin
                {
                    self.out = Some(Out::Text(t.clone()));
                }
                self.read("shell.read-only-program", "`cat` only reads");
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
            "printf" => {
                if let [format] = args
                    && format.is_exact()
                    && !format.text.contains('%')
                {
                    self.out = Some(Out::Text(format.text.replace("\\n", "\n")));
                }
                self.read("shell.read-only-program", "`printf` only prints");
            }
            _ => return false,
        }
        true
    }

    fn changed(&mut self, targets: &[&Arg], verb: &str) {
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
                "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                    acted = true;
                    if let Some(out) = expr.get(i) {
                        let f = redirect_target(out, self.ctx.cwd);
                        self.find(f);
                    }
                    i += 1;
                }
                _ => {}
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
        let mut wrote = false;
        for a in args {
            if let Some(of) = a.text.strip_prefix("of=") {
                wrote = true;
                let f = redirect_target(&Arg::literal(of), self.ctx.cwd);
                let f = if f.class == crate::Class::Dangerous {
                    crate::verdict::Finding::dangerous("shell.dd.device", format!("`dd` writes to {of}"))
                } else {
                    f
                };
                self.find(f);
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

    fn sed(&mut self, args: &[Arg]) {
        let p = Parsed::new(args, &["-e", "--expression", "-f", "--file", "-l", "--line-length", "-s"]);
        let in_place = p.flags.iter().any(|(f, _)| f == "-i" || f.starts_with("--in-place"));
        let mut scripts: Vec<&str> =
            p.flags.iter().filter(|(f, _)| f == "-e" || f == "--expression").filter_map(|(_, v)| *v).collect();
        let mut files = p.operands.clone();
        if scripts.is_empty() && !p.has(&["-f", "--file"]) && !files.is_empty() {
            scripts.push(files.remove(0).text.as_str());
        }
        if p.has(&["-f", "--file"]) {
            self.unknown("shell.sed.script-file", "`sed -f` runs a script file that is not known");
        }
        for s in scripts {
            match sed_script(s) {
                SedEffect::Read => {}
                SedEffect::Writes => self.write("shell.sed.write-command", "the sed script writes a file (`w`)"),
                SedEffect::Executes => self.unknown("shell.sed.execute", "the sed script runs commands (`e`)"),
            }
        }
        if in_place {
            self.changed(&files, "edits in place");
        } else {
            self.read("shell.sed", "`sed` without `-i` prints");
        }
    }

    fn awk(&mut self, args: &[Arg]) {
        let p = Parsed::new(args, &["-f", "-v", "-F", "-i", "--file", "--assign", "--field-separator", "--include"]);
        if p.value(&["-i", "--include"]).is_some_and(|v| v == "inplace") {
            self.changed(&p.operands.iter().skip(1).copied().collect::<Vec<_>>(), "edits in place");
            return;
        }
        if p.has(&["-f", "--file"]) {
            self.unknown("shell.awk.program-file", "runs an awk program file that is not known");
            return;
        }
        let Some(program) = p.operands.first() else {
            self.unknown("shell.awk.no-program", "awk without a program");
            return;
        };
        if awk_has_effects(&program.text) {
            self.unknown("shell.awk.effects", "the awk program runs commands or writes files");
        } else {
            self.read("shell.awk", "the awk program only prints");
        }
    }

    fn tar(&mut self, args: &[Arg]) {
        // Old style: `tar xzf file` (the first word holds the mode letters without a dash).
        let first = args.first().map(|a| a.text.as_str()).unwrap_or_default();
        let old_style = !first.starts_with('-') && !first.is_empty();
        let letters = if old_style { first.to_owned() } else { String::new() };
        let p = Parsed::new(args, &["-f", "--file", "-C", "--directory", "-T", "-X", "--exclude", "-b", "-H"]);
        let has = |short: char, long: &[&str]| letters.contains(short) || p.has(&[&format!("-{short}")]) || p.has(long);
        if has('t', &["--list"]) {
            self.read("shell.archive-list", "lists an archive");
        } else if has('x', &["--extract", "--get"]) {
            self.extract_into(p.value(&["-C", "--directory"]));
        } else {
            let archive = p.value(&["-f", "--file"]);
            match archive {
                Some(f) if f != "-" => {
                    let f = redirect_target(&Arg::literal(f), self.ctx.cwd);
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

enum SedEffect {
    Read,
    Writes,
    Executes,
}

/// What a sed script does beyond printing: `w`/`W` commands and the `w` flag write files, `e`
/// (command and flag) runs commands. Splitting at `;` and newlines may cut an `s` command in
/// two, which can only find more effects, not fewer.
fn sed_script(script: &str) -> SedEffect {
    let mut effect = SedEffect::Read;
    for cmd in script.split([';', '\n']) {
        let mut rest = cmd.trim_start();
        // Skip an address: line numbers, `$`, `/regex/`, ranges, `!`.
        loop {
            let before = rest;
            rest =
                rest.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '$' | ',' | '!' | '~' | '+' | ' '));
            if let Some(r) = rest.strip_prefix('/') {
                rest = r.find('/').map_or("", |i| &r[i + 1..]);
            }
            if rest == before {
                break;
            }
        }
        rest = rest.trim_start_matches(['{', '}', ' ']);
        let mut chars = rest.chars();
        match chars.next() {
            Some('w' | 'W') => effect = SedEffect::Writes,
            Some('e') => return SedEffect::Executes,
            Some('s') => {
                let Some(delim) = chars.next() else { continue };
                let body: String = chars.collect();
                let mut fields = 0;
                let mut escaped = false;
                let mut flags_at = None;
                for (i, c) in body.char_indices() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == delim {
                        fields += 1;
                        if fields == 2 {
                            flags_at = Some(i + c.len_utf8());
                            break;
                        }
                    }
                }
                let flags = flags_at.map_or("", |i| &body[i..]);
                let flags = flags.split_whitespace().next().unwrap_or_default();
                if flags.contains('e') {
                    return SedEffect::Executes;
                }
                if flags.contains('w') {
                    effect = SedEffect::Writes;
                }
            }
            _ => {}
        }
    }
    effect
}

/// Whether an awk program may run commands or write files: `system(...)`, pipes (`|`), and
/// `print`/`printf` redirected with `>`.
fn awk_has_effects(program: &str) -> bool {
    if program.contains("system") || program.contains('|') {
        return true;
    }
    let mut rest = program;
    while let Some(i) = rest.find("print") {
        let after = &rest[i + 5..];
        let statement_end = after.find([';', '}', '\n']).unwrap_or(after.len());
        if after[..statement_end].contains('>') {
            return true;
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sed_effects() {
        assert!(matches!(sed_script("s/a/b/g"), SedEffect::Read));
        assert!(matches!(sed_script("s/a/b/w out"), SedEffect::Writes));
        assert!(matches!(sed_script("1,5w out"), SedEffect::Writes));
        assert!(matches!(sed_script("/x/e"), SedEffect::Executes));
        assert!(matches!(sed_script("s/x/rm -rf \\//e"), SedEffect::Executes));
        assert!(matches!(sed_script("/foo/d; p"), SedEffect::Read));
    }

    #[test]
    fn awk_effects() {
        assert!(!awk_has_effects("{print $1}"));
        assert!(!awk_has_effects("$3 > 100 {print $1}"));
        assert!(awk_has_effects("{print $1 > \"/etc/x\"}"));
        assert!(awk_has_effects("BEGIN{system(\"rm -rf /\")}"));
        assert!(awk_has_effects("{print | \"sh\"}"));
    }
}
