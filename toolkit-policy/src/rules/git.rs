//! git: the global options, then the subcommand's table. A subcommand is a read only when it
//! has a table (`git log`, `git diff`...), every option it carries is on it, and its operands
//! ask for the reading form (`git branch` lists, `git branch x` creates). `-c key=value` is a
//! read only for configuration keys that change how output looks; most keys can name a
//! program git runs (`core.pager`, `diff.external`, `core.fsmonitor`, `alias.*`...).

use super::{Rules, rest_of};
use crate::shell::words::Arg;
use crate::verdict::Class;

/// Configuration keys (lowercase globs) that only change what git prints.
const SAFE_CONFIG: &[&str] = &[
    "color.*",
    "column.*",
    "advice.*",
    "i18n.*",
    "core.quotepath",
    "core.abbrev",
    "core.safecrlf",
    "diff.noprefix",
    "diff.mnemonicprefix",
    "diff.renames",
    "diff.renamelimit",
    "diff.algorithm",
    "diff.relative",
    "diff.context",
    "diff.interhunkcontext",
    "diff.indentheuristic",
    "diff.suppressblankempty",
    "diff.statgraphwidth",
    "diff.colormoved",
    "log.date",
    "log.decorate",
    "log.abbrevcommit",
    "log.follow",
    "log.showroot",
    "log.mailmap",
    "format.pretty",
    "pretty.*",
    "status.*",
    "grep.linenumber",
    "grep.column",
    "grep.patterntype",
    "grep.extendedregexp",
    "grep.fullname",
    "blame.date",
    "blame.coloring",
    "blame.showemail",
    "safe.directory",
    "init.defaultbranch",
    "user.name",
    "user.email",
    "protocol.version",
];

impl Rules<'_, '_> {
    pub(super) fn git(&mut self, args: &[Arg]) {
        let Some(global) = self.options("git", "git", args) else { return };
        for g in global.given.iter().filter(|g| g.name == "-c" || g.name == "--config-env") {
            if let Some(v) = &g.value {
                self.git_config(v, g.name == "--config-env");
            }
        }
        let rest = rest_of(args, &global);
        let Some((sub, sub_args)) = rest.split_first() else {
            if !self.found_above(Class::Read) {
                self.read("shell.git", "`git` prints help or its version");
            }
            return;
        };
        if !sub.is_exact() {
            self.unknown("shell.git", "the git command is only known at run time");
            return;
        }
        let name = sub.text.as_str();
        let table = format!("git {name}");
        if super::options::table(&table).is_none() {
            let p = super::Parsed::new(sub_args, &["-m", "-F", "-C", "-c", "-o", "--format", "-n"]);
            if name == "push"
                && (p.has(&[
                    "-f",
                    "--force",
                    "--force-with-lease",
                    "--mirror",
                    "--force-if-includes",
                    "--delete",
                    "-d",
                ]) || p.operands.iter().any(|a| a.text.starts_with('+') || a.text.starts_with(':')))
            {
                self.dangerous("shell.git-force-push", "`git push --force` rewrites or deletes the remote's history");
                return;
            }
            self.write(
                "shell.git-write",
                format!("`git {name}` changes a repository, or is not a command the rules know"),
            );
            return;
        }
        let shown = format!("git {name}");
        let Some(p) = self.options(&table, &shown, sub_args) else { return };
        let first = p.operands.first().map(|a| a.text.as_str());
        let reading = match name {
            "branch" | "tag" => {
                let listing = p.has(&[
                    "-l",
                    "--list",
                    "--contains",
                    "--no-contains",
                    "--merged",
                    "--no-merged",
                    "--points-at",
                    "-a",
                    "-r",
                    "--all",
                    "--remotes",
                    "-v",
                    "--verbose",
                    "--show-current",
                ]);
                p.operands.is_empty() || listing
            }
            "remote" => first.is_none_or(|a| matches!(a, "show" | "get-url")),
            "config" => {
                p.has(&[
                    "--get",
                    "--get-all",
                    "--get-regexp",
                    "--list",
                    "-l",
                    "--get-urlmatch",
                    "--get-color",
                    "--get-colorbool",
                ]) || matches!(first, Some("get" | "list"))
                    || p.operands.len() == 1
            }
            "stash" => matches!(first, Some("list" | "show")),
            "worktree" => first == Some("list"),
            "submodule" => first.is_none_or(|a| a == "status" || a == "summary"),
            "notes" => first.is_none_or(|a| matches!(a, "list" | "show")),
            "reflog" => first.is_none_or(|a| !matches!(a, "expire" | "delete" | "drop")),
            _ => true,
        };
        if !reading {
            self.write("shell.git-write", format!("`git {name}` with these arguments changes a repository"));
            return;
        }
        if name == "config" {
            let key = match first {
                Some("get" | "list") => p.operands.get(1).map(|a| a.text.as_str()),
                other => other,
            };
            if key.is_some_and(|k| {
                let k = k.to_ascii_lowercase();
                k.contains("token")
                    || k.contains("password")
                    || k.starts_with("credential")
                    || k.contains("extraheader")
            }) {
                self.sensitive("shell.git-config-secret", "prints a credential from the git configuration");
            }
        }
        if !self.found_above(Class::Read) {
            self.read("shell.git-read", format!("`git {name}` only reads"));
        }
    }

    fn git_config(&mut self, v: &Arg, from_env: bool) {
        let (key, value) = v.text.split_once('=').unwrap_or((v.text.as_str(), "true"));
        let key = key.to_ascii_lowercase();
        let safe = !v.has_dynamic() && super::env::matches_any(&key, SAFE_CONFIG);
        let pager_off = key.starts_with("pager.")
            && !from_env
            && matches!(value.to_ascii_lowercase().as_str(), "false" | "0" | "off" | "no");
        if !(safe || pager_off) {
            self.unknown(
                "shell.git-config",
                format!("`git -c {}`: `{key}` is not a configuration key known not to run programs", v.shown()),
            );
        }
    }
}
