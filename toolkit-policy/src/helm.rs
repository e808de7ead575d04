//! helm rules.
//!
//! Flags are read as helm (cobra) reads them: anywhere, `--flag value` or `--flag=value`, the
//! last one given wins; a verb that reads is `read` only when every flag is on its table.
//!
//! - read: `list`/`ls`, `status`, `history`, `get notes|metadata`, `show ...`/`inspect`,
//!   `search`, `template`, `lint`, `version`, `env`, `verify`, `completion`, `help`, `repo
//!   list`, `plugin list`, `dependency list`, and `install`/`upgrade`/`uninstall`/`rollback`
//!   whose last `--dry-run` is bare, `client` or `true`;
//! - sensitive: `get values|manifest|all|hooks` (release values and manifests hold Secrets),
//!   `--dry-run=server` (templates may `lookup` Secrets in the cluster), `--kube-apiserver`;
//! - write: `install`, `upgrade`, `rollback`, `uninstall`/`delete`, `repo add|update|remove`,
//!   `dependency update|build`, `pull`, `package`, `push`, `create`, `plugin install|...`,
//!   `registry login|logout`, `test`;
//! - dangerous: `--force` on `install`, `upgrade` or `rollback` (resources are deleted and
//!   recreated), `uninstall --cascade=orphan`;
//! - unknown: other verbs (plugins), `--post-renderer` (runs a program), unknown flags.

use crate::rules::Parsed;
use crate::rules::options::{self, Compiled, Effect, Problem};
use crate::shell::words::Arg;
use crate::verdict::{Class, Finding};

const TAKES_VALUE: &[&str] = &[
    "-n",
    "--namespace",
    "--kube-context",
    "--kubeconfig",
    "--kube-apiserver",
    "--kube-token",
    "--kube-as-user",
    "--kube-as-group",
    "--kube-ca-file",
    "--registry-config",
    "--repository-cache",
    "--repository-config",
    "-f",
    "--values",
    "--set",
    "--set-string",
    "--set-file",
    "--set-json",
    "--version",
    "--timeout",
    "-o",
    "--output",
    "--repo",
    "--username",
    "--password",
    "--description",
    "--post-renderer",
    "--cascade",
    "--max",
    "--revision",
    "--ca-file",
    "--cert-file",
    "--key-file",
    "-d",
    "--destination",
    "--untardir",
    "--keyring",
    "--burst-limit",
    "-l",
    "--selector",
    "--filter",
    "--time-format",
    "--post-renderer",
];

const READ_VERBS: &[&str] = &[
    "list",
    "ls",
    "status",
    "history",
    "hist",
    "get",
    "show",
    "inspect",
    "search",
    "template",
    "lint",
    "version",
    "env",
    "verify",
    "completion",
    "help",
];

/// Classifies helm's arguments.
pub(crate) fn classify(args: &[Arg]) -> Vec<Finding> {
    let Some(global) = options::table("helm") else {
        return vec![Finding::unknown("helm.no-table", "the helm tables are missing")];
    };
    let g = options::scan(global, args);
    let ops: Vec<&Arg> = g.operands.clone();
    let Some(verb_arg) = ops.first() else {
        return vec![Finding::read("helm.help", "`helm` without a command prints help")];
    };
    if verb_arg.has_dynamic() {
        return vec![Finding::unknown("helm.computed-verb", "the helm command is only known at run time")];
    }
    let verb = match verb_arg.text.as_str() {
        "ls" => "list",
        "hist" => "history",
        "inspect" => "show",
        "un" | "del" | "delete" => "uninstall",
        "dep" | "dependencies" => "dependency",
        v => v,
    };
    let sub = ops.get(1).map(|a| a.text.as_str()).unwrap_or_default();
    let mut rest: Vec<Arg> = Vec::new();
    let mut skipped = 0;
    let skip = if matches!(verb, "repo" | "plugin" | "dependency") { 2 } else { 1 };
    for a in args {
        if skipped < skip && ops.get(skipped).is_some_and(|o| std::ptr::eq(*o, a)) {
            skipped += 1;
            continue;
        }
        rest.push(a.clone());
    }
    let table = match verb {
        "repo" | "plugin" | "dependency" => format!("helm {verb} {sub}"),
        v => format!("helm {v}"),
    };
    let read = match verb {
        "repo" | "plugin" | "dependency" => matches!(sub, "list" | "ls"),
        "registry" => false,
        v => READ_VERBS.contains(&v),
    };
    let p = Parsed::new(&rest, TAKES_VALUE);
    let dry = match p.flags.iter().rev().find(|(f, _)| f == "--dry-run") {
        Some((_, None)) => Some("client"),
        Some((_, Some(v))) if matches!(*v, "client" | "server" | "true") => Some(*v),
        _ => None,
    };
    let dry_verb = matches!(verb, "install" | "upgrade" | "uninstall" | "rollback");
    if read || dry.is_some() && dry_verb {
        let name = if read { table.replace(" ls", " list") } else { "helm dry-run".to_owned() };
        let t = match options::table(&name).map(|t| Compiled::merged(t.table, &[global.table])) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return vec![Finding::unknown("helm.no-table", format!("`{name}`: {e}"))],
            None => return vec![Finding::unknown("helm.no-table", format!("`{name}`: no table of flags is known"))],
        };
        let s = options::scan(&t, &rest);
        let mut out = findings(&name, &s);
        if verb == "get" && matches!(sub, "values" | "manifest" | "all" | "hooks") {
            out.push(Finding::sensitive(
                "helm.secret",
                format!("`helm get {sub}` prints release values or manifests, which hold Secrets"),
            ));
        }
        if dry == Some("server") && !read {
            out.push(Finding::sensitive(
                "helm.dry-run-server",
                "`--dry-run=server` lets templates look Secrets up in the cluster",
            ));
        }
        if verb == "template"
            && s.last(&["--dry-run"]).and_then(|g| g.value.as_ref()).is_some_and(|v| v.text == "server")
        {
            out.push(Finding::sensitive(
                "helm.dry-run-server",
                "`--dry-run=server` lets templates look Secrets up in the cluster",
            ));
        }
        if out.iter().all(|f| f.class == Class::Read) {
            let what = if read {
                format!("`helm {verb}` only reads")
            } else {
                format!("`helm {verb} --dry-run` changes nothing")
            };
            out.push(Finding::read(if read { "helm.read" } else { "helm.dry-run" }, what));
        }
        return out;
    }
    let write = matches!(
        verb,
        "install"
            | "upgrade"
            | "rollback"
            | "uninstall"
            | "repo"
            | "dependency"
            | "pull"
            | "fetch"
            | "package"
            | "push"
            | "create"
            | "plugin"
            | "registry"
            | "test"
    );
    if !write {
        return vec![Finding::unknown("helm.unknown-verb", format!("`helm {verb}` is not a command the rules know"))];
    }
    let mut out = findings("helm", &options::scan(global, &rest));
    out.retain(|f| f.rule != crate::rules::UNKNOWN_OPTION_RULE);
    out.push(Finding::write("helm.write", format!("`helm {verb}` changes releases, charts or settings")));
    if p.has(&["--post-renderer"]) {
        out.push(Finding::unknown("helm.post-renderer", "`--post-renderer` runs a program"));
    }
    if matches!(verb, "install" | "upgrade" | "rollback") && p.has(&["--force"]) {
        out.push(Finding::dangerous("helm.force", format!("`helm {verb} --force` deletes and recreates resources")));
    }
    if verb == "uninstall" && p.value(&["--cascade"]) == Some("orphan") {
        out.push(Finding::dangerous("helm.cascade-orphan", "`--cascade=orphan` leaves dependents behind"));
    }
    out
}

/// The findings of a scan: flags not on the table, and what the flags do.
fn findings(shown: &str, s: &options::Scan<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &s.problems {
        let what = match p {
            Problem::Unknown(o) => {
                out.push(crate::rules::unknown_option(shown, o));
                continue;
            }
            Problem::Ambiguous(o, _) => format!("`{o}` is ambiguous"),
            Problem::BadValue(o) => format!("`{o}` lacks its value or takes none"),
            Problem::Computed(o) => format!("`{o}` is only known at run time and may be any flag"),
        };
        out.push(Finding::unknown(crate::rules::UNKNOWN_OPTION_RULE, format!("`{shown}`: {what}")));
    }
    for g in &s.given {
        match g.spec.effect {
            Effect::Safe | Effect::Custom => {}
            Effect::ReadsFile => {
                let secret = g.value.as_ref().and_then(|v| {
                    let file = v.text.split_once('=').map_or(v.text.as_str(), |(_, f)| f);
                    crate::shell::secrets::secret(&Arg::literal(file), None)
                });
                if let Some(what) = secret {
                    out.push(Finding::sensitive("helm.secret-file", format!("`{shown} {}` reads {what}", g.spelled)));
                }
            }
            Effect::WritesFile => {
                out.push(Finding::write("helm.writes", format!("`{shown} {}` writes files", g.spelled)))
            }
            Effect::RunsProgram | Effect::RunsShell => {
                out.push(Finding::unknown("helm.runs", format!("`{shown} {}` runs a program", g.spelled)))
            }
            Effect::Raise(class, why) => {
                out.push(Finding::new(class, "helm.flag", format!("`{shown} {}` {why}", g.spelled)))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Class;

    fn class(line: &str) -> Class {
        let args: Vec<Arg> = line.split_whitespace().map(Arg::literal).collect();
        classify(&args).iter().map(|f| f.class).max().unwrap_or(Class::Read)
    }

    #[test]
    fn verbs() {
        assert_eq!(class("list -A"), Class::Read);
        assert_eq!(class("-n x status app"), Class::Read);
        assert_eq!(class("repo list"), Class::Read);
        assert_eq!(class("repo add x https://x"), Class::Write);
        assert_eq!(class("upgrade --install app ./chart"), Class::Write);
        assert_eq!(class("upgrade app ./chart --force"), Class::Dangerous);
        assert_eq!(class("install app ./chart --dry-run"), Class::Read);
        assert_eq!(class("frob"), Class::Unknown);
    }
}
