//! helm rules.
//!
//! - read: `list`/`ls`, `status`, `history`, `get ...`, `show ...`/`inspect`, `search`,
//!   `template`, `lint`, `version`, `env`, `verify`, `completion`, `help`, `repo list`,
//!   `plugin list`, `dependency list`, and `install`/`upgrade` with `--dry-run`;
//! - write: `install`, `upgrade`, `rollback`, `uninstall`/`delete`, `repo add|update|remove`,
//!   `dependency update|build`, `pull`, `package`, `push`, `create`, `plugin install|...`,
//!   `registry login|logout`, `test`;
//! - dangerous: `--force` on `install`, `upgrade` or `rollback` (resources are deleted and
//!   recreated), `uninstall --cascade=orphan`.

use crate::rules::Parsed;
use crate::shell::words::Arg;
use crate::verdict::Finding;

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
    let p = Parsed::new(args, TAKES_VALUE);
    let ops: Vec<&str> = p.operands.iter().map(|a| a.text.as_str()).collect();
    let Some(&verb) = ops.first() else {
        return vec![Finding::read("helm.help", "`helm` without a command prints help")];
    };
    if p.operands[0].has_dynamic() {
        return vec![Finding::unknown("helm.computed-verb", "the helm command is only known at run time")];
    }
    let sub = ops.get(1).copied().unwrap_or_default();
    let read = match verb {
        "repo" | "plugin" => matches!(sub, "list" | "ls" | ""),
        "dependency" | "dep" | "dependencies" => matches!(sub, "list" | "ls" | ""),
        "registry" => false,
        v => READ_VERBS.contains(&v),
    };
    if read {
        return vec![Finding::read("helm.read", format!("`helm {verb}` only reads"))];
    }
    let dry_run = p.flags.iter().any(|(f, v)| f == "--dry-run" && !matches!(*v, Some("none" | "false")));
    if dry_run && matches!(verb, "install" | "upgrade" | "uninstall" | "delete" | "rollback") {
        return vec![Finding::read("helm.dry-run", format!("`helm {verb} --dry-run` changes nothing"))];
    }
    let write = matches!(
        verb,
        "install"
            | "upgrade"
            | "rollback"
            | "uninstall"
            | "un"
            | "delete"
            | "del"
            | "repo"
            | "dependency"
            | "dep"
            | "dependencies"
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
    let mut out = vec![Finding::write("helm.write", format!("`helm {verb}` changes releases, charts or settings"))];
    if matches!(verb, "install" | "upgrade" | "rollback") && p.has(&["--force"]) {
        out.push(Finding::dangerous("helm.force", format!("`helm {verb} --force` deletes and recreates resources")));
    }
    if matches!(verb, "uninstall" | "un" | "delete" | "del") && p.value(&["--cascade"]) == Some("orphan") {
        out.push(Finding::dangerous("helm.cascade-orphan", "`--cascade=orphan` leaves dependents behind"));
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
