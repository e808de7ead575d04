//! kubectl (and `oc`) rules.
//!
//! The command line is read as kubectl (cobra) reads it: global flags may come before or after
//! the verb, flags that take a value take the next word unless written `--flag=value`, a flag
//! given twice counts as its last value (`--dry-run=server --dry-run=none` is no dry run), `--`
//! hands the rest to the command `exec`, `run` or `debug` start. A verb that only reads is
//! `read` when every flag is on its table (merged with the global flags); an unknown flag makes
//! it `unknown`.
//!
//! - read: `get`, `describe`, `logs`, `explain`, `top`, `version`, `api-resources`,
//!   `api-versions`, `cluster-info`, `diff`, `events`, `wait`, `kustomize`, `auth can-i`,
//!   `auth whoami`, `config view` (and the other `config get-*`), `rollout history|status`,
//!   and a write with `--dry-run`, `--dry-run=client` or `--dry-run=server` as its last value;
//! - sensitive: Secrets printed with their data (`get secret -o yaml|json|jsonpath|...`,
//!   `describe secret`, which prints service account tokens),
//!   `config view --raw|--flatten`, `--server` (the credentials go to another API server),
//!   `get --raw` of a secrets path, `oc whoami -t`;
//! - write: `apply`, `create`, `patch`, `scale`, `label`, `annotate`, `set`,
//!   `rollout restart|undo|pause|resume`, `replace`, `expose`, `run`, `cp`, `autoscale`,
//!   `delete`, `uncordon`, `certificate`, `config use-context|set-*|...`, `debug`;
//! - dangerous: deleting namespaces, nodes, CRDs or persistent volumes; `--all`, `-A` or
//!   `--all-namespaces` on a write; `--force`; `--grace-period=0`; `--cascade=orphan`;
//!   `apply --prune`; `drain`, `cordon`, `taint`;
//! - interactive: `exec -i`/`-t`, `attach`, `port-forward`, `proxy`, `edit`, `run -i`/`-t`,
//!   `debug -i`/`-t`;
//! - unknown: any other verb (plugins), `--as` impersonation, `--kubeconfig`/`--token` (other
//!   credentials, which may run a credential plugin), and flags not on the tables.
//!
//! `kubectl exec POD -- COMMAND` is classified as the command it runs in the pod.

use crate::rules::Parsed;
use crate::rules::options::{self, Compiled, Effect, Problem};
use crate::shell::words::Arg;
use crate::verdict::{Class, Finding};

/// kubectl flags that take a value as the next word.
pub(crate) const TAKES_VALUE: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--cluster",
    "--user",
    "--kubeconfig",
    "-s",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--request-timeout",
    "--cache-dir",
    "--tls-server-name",
    "-v",
    "--v",
    "-o",
    "--output",
    "-l",
    "--selector",
    "--field-selector",
    "-f",
    "--filename",
    "-k",
    "--kustomize",
    "-c",
    "--container",
    "-p",
    "--patch",
    "--type",
    "--image",
    "--replicas",
    "--timeout",
    "--since",
    "--since-time",
    "--tail",
    "--for",
    "--sort-by",
    "--template",
    "-L",
    "--label-columns",
    "--to-revision",
    "--overrides",
    "--env",
    "--port",
    "--target-port",
    "--name",
    "--protocol",
    "--resource-version",
    "--subresource",
    "--field-manager",
    "--prune-allowlist",
    "--chunk-size",
    "--raw",
    "--pod-running-timeout",
    "--limits",
    "--requests",
    "--serviceaccount",
    "--from",
    "--from-file",
    "--from-literal",
    "--from-env-file",
    "--role",
    "--clusterrole",
    "--group",
    "--min",
    "--max",
    "--cpu-percent",
    "--revision",
    "--session-affinity",
    "--external-ip",
    "--load-balancer-ip",
    "--cluster-ip",
    "--restart",
    "--labels",
    "--hostport",
    "--address",
    "--profile",
    "--target",
    "--copy-to",
    "--set-image",
    "--selector-labels",
    "--docker-server",
    "--docker-username",
    "--docker-password",
    "--docker-email",
    "--cert",
    "--key",
    "--subresource",
    "--current-replicas",
];

const READ_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "explain",
    "top",
    "version",
    "api-resources",
    "api-versions",
    "cluster-info",
    "diff",
    "completion",
    "events",
    "wait",
    "kustomize",
    "options",
    "help",
    "whoami",
    "status",
    "projects",
];
const WRITE_VERBS: &[&str] = &[
    "apply",
    "create",
    "patch",
    "scale",
    "label",
    "annotate",
    "set",
    "replace",
    "expose",
    "run",
    "cp",
    "autoscale",
    "delete",
    "uncordon",
    "certificate",
    "debug",
    "new-project",
    "new-app",
    "login",
    "logout",
    "project",
    "rsh",
    "start-build",
    "tag",
    "import-image",
];
const INTERACTIVE_VERBS: &[&str] = &["attach", "port-forward", "proxy", "edit"];
const DANGEROUS_VERBS: &[(&str, &str)] = &[
    ("drain", "evicts every pod from a node"),
    ("cordon", "stops scheduling on a node"),
    ("taint", "repels pods from nodes"),
];

/// Resource types whose deletion takes much with it.
const CRITICAL_RESOURCES: &[&str] = &["namespaces", "nodes", "customresourcedefinitions", "persistentvolumes"];

/// Resource short names and singulars, and their plural.
const RESOURCE_ALIASES: &[(&str, &str)] = &[
    ("ns", "namespaces"),
    ("namespace", "namespaces"),
    ("po", "pods"),
    ("pod", "pods"),
    ("no", "nodes"),
    ("node", "nodes"),
    ("deploy", "deployments"),
    ("deployment", "deployments"),
    ("svc", "services"),
    ("service", "services"),
    ("crd", "customresourcedefinitions"),
    ("crds", "customresourcedefinitions"),
    ("customresourcedefinition", "customresourcedefinitions"),
    ("pv", "persistentvolumes"),
    ("persistentvolume", "persistentvolumes"),
    ("pvc", "persistentvolumeclaims"),
    ("persistentvolumeclaim", "persistentvolumeclaims"),
    ("cm", "configmaps"),
    ("configmap", "configmaps"),
    ("secret", "secrets"),
    ("sa", "serviceaccounts"),
    ("serviceaccount", "serviceaccounts"),
    ("ds", "daemonsets"),
    ("daemonset", "daemonsets"),
    ("sts", "statefulsets"),
    ("statefulset", "statefulsets"),
    ("rs", "replicasets"),
    ("replicaset", "replicasets"),
    ("job", "jobs"),
    ("cj", "cronjobs"),
    ("cronjob", "cronjobs"),
    ("ing", "ingresses"),
    ("ingress", "ingresses"),
    ("netpol", "networkpolicies"),
    ("networkpolicy", "networkpolicies"),
    ("ep", "endpoints"),
    ("ev", "events"),
    ("event", "events"),
    ("hpa", "horizontalpodautoscalers"),
    ("horizontalpodautoscaler", "horizontalpodautoscalers"),
    ("pdb", "poddisruptionbudgets"),
    ("poddisruptionbudget", "poddisruptionbudgets"),
    ("role", "roles"),
    ("rolebinding", "rolebindings"),
    ("clusterrole", "clusterroles"),
    ("clusterrolebinding", "clusterrolebindings"),
    ("sc", "storageclasses"),
    ("storageclass", "storageclasses"),
    ("quota", "resourcequotas"),
    ("resourcequota", "resourcequotas"),
    ("limits", "limitranges"),
    ("limitrange", "limitranges"),
];

/// The plural of a resource type (`ns` → `namespaces`; `deployments.apps` → `deployments`).
pub fn canonical_resource(word: &str) -> &str {
    let base = word.split('.').next().unwrap_or(word);
    RESOURCE_ALIASES.iter().find(|(alias, _)| *alias == base).map_or(base, |(_, plural)| plural)
}

/// Output formats that print only names or columns, not the objects' data.
const SUMMARY_FORMATS: &[&str] = &["wide", "name"];

/// Classifies kubectl's arguments; also returns the command `exec` runs in a pod.
pub(crate) fn classify(args: &[Arg], cwd: Option<&str>) -> (Vec<Finding>, Option<Vec<Arg>>) {
    // The words after `--` belong to `exec`/`run`/`debug`, not to kubectl.
    let dashdash = args.iter().position(|a| a.text == "--");
    let (own, after) = match dashdash {
        Some(i) => (&args[..i], Some(&args[i + 1..])),
        None => (args, None),
    };
    let mut out = Vec::new();
    let Some(global) = options::table("kubectl") else {
        out.push(Finding::unknown("kubectl.no-table", "the kubectl tables are missing"));
        return (out, None);
    };
    let verb_at = find_verb(global, own);
    let Some(verb_at) = verb_at else {
        let s = options::scan(global, own);
        if s.problems.is_empty() && s.given.iter().all(|g| g.spec.effect == Effect::Safe) {
            out.push(Finding::read("kubectl.help", "`kubectl` without a command prints help"));
        } else {
            out.extend(problems("kubectl", &s, cwd));
        }
        return (out, None);
    };
    let verb_arg = &own[verb_at];
    if verb_arg.has_dynamic() {
        out.push(Finding::unknown("kubectl.computed-verb", "the kubectl command is only known at run time"));
        return (out, None);
    }
    let verb = verb_arg.text.as_str();
    let rest: Vec<Arg> = own[..verb_at].iter().chain(&own[verb_at + 1..]).cloned().collect();
    // A subcommand (`auth can-i`, `config view`): the first operand after the verb.
    let global_scan = options::scan(global, &own[verb_at + 1..]);
    let sub = global_scan.operands.first().map(|a| a.text.clone()).unwrap_or_default();
    let two = format!("kubectl {verb} {sub}");
    let one = format!("kubectl {verb}");
    let (table_name, rest) = if options::table(&two).is_some() {
        let skip = own[verb_at + 1..].iter().position(|a| a.text == sub).map(|i| verb_at + 1 + i);
        let rest: Vec<Arg> =
            own.iter().enumerate().filter(|(i, _)| *i != verb_at && Some(*i) != skip).map(|(_, a)| a.clone()).collect();
        (two.clone(), rest)
    } else {
        (one.clone(), rest)
    };
    let shown = table_name.clone();
    let merged = options::table(&table_name).map(|t| Compiled::merged(t.table, &[global.table]));
    let merged = match merged {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            out.push(Finding::unknown("kubectl.no-table", format!("`{table_name}`: {e}")));
            return (out, None);
        }
        None => None,
    };
    // Lenient parse for the flags of writes: every flag known to take a value takes one.
    let mut takes: Vec<&str> = TAKES_VALUE.to_vec();
    takes.extend(global.options().filter(|(_, s)| s.takes == options::Takes::Value).map(|(n, _)| n));
    let p = Parsed::new(&rest, &takes);
    let tty = p.has(&["-i", "-t", "--stdin", "--tty"]);
    let dry_run = dry_run(&p);

    // Commands that only read, whatever else they carry.
    let read = match verb {
        "auth" => matches!(sub.as_str(), "can-i" | "whoami"),
        "config" => matches!(sub.as_str(), "view" | "get-contexts" | "get-clusters" | "get-users" | "current-context"),
        "rollout" => matches!(sub.as_str(), "history" | "status"),
        "apply" => sub == "view-last-applied",
        "plugin" => sub == "list",
        v => READ_VERBS.contains(&v),
    };
    if read {
        let Some(t) = merged else {
            out.push(Finding::unknown("kubectl.no-table", format!("`{shown}`: no table of flags is known")));
            return (out, None);
        };
        let s = options::scan(&t, &rest);
        out.extend(problems(&shown, &s, cwd));
        if verb == "get" {
            out.extend(secrets_shown(&s));
        }
        if verb == "describe" && described_secrets(&s) {
            out.push(Finding::sensitive(
                "kubectl.secret",
                "`kubectl describe` of Secrets prints service account tokens in full",
            ));
        }
        if out.iter().all(|f| f.class == Class::Read) {
            out.push(Finding::read("kubectl.read", format!("`{shown}` only reads")));
        }
        return (out, None);
    }

    if INTERACTIVE_VERBS.contains(&verb) || (verb == "apply" && sub == "edit-last-applied") {
        out.push(Finding::interactive(
            "kubectl.interactive",
            format!("`kubectl {verb}` needs a terminal or stays open"),
        ));
        return (out, None);
    }
    if verb == "exec" {
        let Some(t) = merged else { return (out, None) };
        let s = options::scan(&t, &rest);
        out.extend(problems(&shown, &s, cwd));
        if tty || out.iter().any(|f| f.class == Class::Interactive) {
            out.push(Finding::interactive("kubectl.exec-tty", "`kubectl exec -i`/`-t` opens a terminal in a pod"));
            return (out, None);
        }
        let command: Vec<Arg> = match after {
            Some(cmd) => cmd.to_vec(),
            None => s.operands.iter().skip(1).map(|a| (*a).clone()).collect(),
        };
        if command.is_empty() {
            out.push(Finding::unknown("kubectl.exec", "`kubectl exec` without a command"));
            return (out, None);
        }
        out.push(Finding::read("kubectl.exec", "`kubectl exec` runs the command below in a pod"));
        return (out, Some(command));
    }
    if matches!(verb, "run" | "debug") && (tty || p.has(&["--attach"])) {
        out.push(Finding::interactive("kubectl.run-tty", format!("`kubectl {verb} -i`/`-t` attaches a terminal")));
        return (out, None);
    }

    if dry_run && (WRITE_VERBS.contains(&verb) || matches!(verb, "drain" | "cordon" | "taint" | "rollout" | "auth")) {
        let t = options::table("kubectl dry-run").and_then(|t| Compiled::merged(t.table, &[global.table]).ok());
        let Some(t) = t else {
            out.push(Finding::unknown("kubectl.no-table", "`kubectl --dry-run`: no table of flags is known"));
            return (out, None);
        };
        let s = options::scan(&t, &rest);
        // What a dry run prints comes from the input, not from the cluster's Secrets.
        out.extend(problems(&format!("kubectl {verb} --dry-run"), &s, cwd));
        if out.iter().all(|f| f.class == Class::Read) {
            out.push(Finding::read("kubectl.dry-run", format!("`kubectl {verb} --dry-run` changes nothing")));
        }
        return (out, None);
    }

    // The global flags still count on writes (impersonation, other servers, files written).
    out.extend(
        problems("kubectl", &options::scan(global, &rest), cwd)
            .into_iter()
            .filter(|f| f.rule != crate::rules::UNKNOWN_OPTION_RULE),
    );

    if let Some((_, what)) = DANGEROUS_VERBS.iter().find(|(v, _)| *v == verb) {
        out.push(Finding::dangerous("kubectl.node-operation", format!("`kubectl {verb}` {what}")));
        return (out, None);
    }

    let write_verb = WRITE_VERBS.contains(&verb)
        || matches!((verb, sub.as_str()), ("auth", "reconcile") | ("rollout", _) | ("config", _) | ("plugin", _));
    if !write_verb {
        out.push(Finding::unknown("kubectl.unknown-verb", format!("`kubectl {verb}` is not a command the rules know")));
        return (out, None);
    }
    if verb == "config" {
        out.push(Finding::write("kubectl.config", format!("`kubectl config {sub}` changes the kubeconfig")));
        return (out, None);
    }
    out.push(Finding::write("kubectl.write", format!("`kubectl {verb}` changes the cluster")));
    if verb == "create" && sub == "token" {
        out.push(Finding::sensitive("kubectl.token", "`kubectl create token` prints a new service account token"));
    }

    let ops: Vec<&Arg> = p.operands.clone();
    if verb == "delete" {
        for resource in deleted_types(&ops) {
            if CRITICAL_RESOURCES.contains(&resource.as_str()) {
                out.push(Finding::dangerous("kubectl.delete-critical", format!("deletes {resource}")));
            }
        }
    }
    if p.has(&["--all"]) && last_bool(&p, "--all") {
        out.push(Finding::dangerous(
            "kubectl.all",
            format!("`kubectl {verb} --all` acts on every resource of the type"),
        ));
    }
    if p.has(&["-A"]) || p.has(&["--all-namespaces"]) && last_bool(&p, "--all-namespaces") {
        out.push(Finding::dangerous("kubectl.all-namespaces", format!("`kubectl {verb} -A` acts in every namespace")));
    }
    if p.has(&["--force"]) && last_bool(&p, "--force") {
        out.push(Finding::dangerous("kubectl.force", "`--force` deletes without waiting for graceful termination"));
    }
    if p.value(&["--grace-period"]).is_some_and(|v| v.trim() == "0" || v.trim() == "1" && p.has(&["--force"])) {
        out.push(Finding::dangerous("kubectl.grace-period-zero", "`--grace-period=0` kills immediately"));
    }
    if p.value(&["--cascade"]).is_some_and(|v| v == "orphan" || v == "false") {
        out.push(Finding::dangerous("kubectl.cascade-orphan", "`--cascade=orphan` leaves dependents behind"));
    }
    if verb == "apply" && p.has(&["--prune"]) {
        out.push(Finding::dangerous("kubectl.apply-prune", "`apply --prune` deletes resources missing from the input"));
    }
    (out, None)
}

/// Where the verb is: the first word that is neither a flag nor the value of one, read as
/// cobra does when it looks for the command (a flag it does not know takes the next word).
fn find_verb(global: &Compiled, own: &[Arg]) -> Option<usize> {
    let mut i = 0;
    while i < own.len() {
        let t = own[i].text.as_str();
        if !t.starts_with('-') || t == "-" {
            return Some(i);
        }
        i += 1;
        if t.contains('=') {
            continue;
        }
        let takes = match global.get(t) {
            Some(spec) => spec.takes == options::Takes::Value,
            // cobra: an unknown `--flag` or `-f` takes the next word.
            None => t.starts_with("--") || t.len() == 2,
        };
        if takes {
            i += 1;
        }
    }
    None
}

/// Whether the last `--dry-run` given asks for a dry run: bare, `client` or `server`.
fn dry_run(p: &Parsed<'_>) -> bool {
    match p.flags.iter().rev().find(|(f, _)| f == "--dry-run") {
        Some((_, None)) => true,
        Some((_, Some(v))) => matches!(*v, "client" | "server"),
        None => false,
    }
}

/// Whether the last `flag` given is on (`--force`, `--force=true`).
fn last_bool(p: &Parsed<'_>, flag: &str) -> bool {
    match p.flags.iter().rev().find(|(f, _)| f == flag) {
        Some((_, None)) => true,
        Some((_, Some(v))) => !matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "f"),
        None => false,
    }
}

/// The findings of a scan: flags not on the table, and what the flags do.
fn problems(shown: &str, s: &options::Scan<'_>, cwd: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    // `-o go-template-file=PATH` (and `--template PATH` with it) prints a local file.
    for v in s.values(&["-o", "--output", "--template"]) {
        let path = v.text.split_once("-file=").map_or(v.text.as_str(), |(_, p)| p);
        if let Some(what) = crate::shell::secrets::secret(&Arg::literal(path), cwd) {
            out.push(Finding::sensitive(
                "kubectl.template-file",
                format!("`{shown}` prints {path} as a template ({what})"),
            ));
        }
    }
    for p in &s.problems {
        let (rule, what) = match p {
            Problem::Unknown(o) => {
                out.push(crate::rules::unknown_option(shown, o));
                continue;
            }
            Problem::Ambiguous(o, _) => ("shell.option.ambiguous", format!("`{o}` is ambiguous")),
            Problem::BadValue(o) => ("shell.option.value", format!("`{o}` lacks its value or takes none")),
            Problem::Computed(o) => {
                ("shell.option.computed", format!("`{o}` is only known at run time and may be any flag"))
            }
        };
        out.push(Finding::unknown(rule, format!("`{shown}`: {what}")));
    }
    for g in &s.given {
        match g.spec.effect {
            Effect::Safe | Effect::Custom | Effect::ReadsFile => {}
            Effect::WritesFile => match &g.value {
                Some(v) => out.push(crate::shell::paths::redirect_target(v, cwd)),
                None => out.push(Finding::write("kubectl.writes", format!("`{shown} {}` writes a file", g.spelled))),
            },
            Effect::RunsProgram | Effect::RunsShell => {
                out.push(Finding::unknown("kubectl.runs", format!("`{shown} {}` runs a program", g.spelled)))
            }
            Effect::Raise(class, why) => {
                out.push(Finding::new(class, "kubectl.flag", format!("`{shown} {}` {why}", g.spelled)))
            }
        }
    }
    out
}

/// Whether `describe` names Secrets (or files, or a type only known at run time).
fn described_secrets(s: &options::Scan<'_>) -> bool {
    if s.has(&["-f", "--filename", "-k", "--kustomize"]) {
        return true;
    }
    s.operands.first().is_some_and(|a| {
        a.has_dynamic()
            || a.text.to_ascii_lowercase().split(',').any(|t| {
                let t = canonical_resource(t.split('/').next().unwrap_or(t));
                t == "secrets" || t.ends_with("secrets")
            })
    })
}

/// Secrets printed with their data: `get` of secrets (or of files, whose kinds are not known)
/// in a format that prints objects, or `--raw` of a secrets path.
fn secrets_shown(s: &options::Scan<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(raw) = s.last(&["--raw"]).and_then(|g| g.value.as_ref()) {
        let path = raw.text.to_ascii_lowercase();
        if path.contains("secret") || raw.has_dynamic() {
            out.push(Finding::sensitive("kubectl.secret", "`kubectl get --raw` reads Secrets"));
        }
        if ["/proxy", "/exec", "/attach", "/portforward"].iter().any(|p| path.contains(p)) {
            out.push(Finding::unknown(
                "kubectl.raw-proxy",
                "`kubectl get --raw` reaches a pod or service through the API server",
            ));
        }
        return out;
    }
    let format = s.last(&["-o", "--output"]).and_then(|g| g.value.as_ref()).map(|v| v.text.clone());
    let data_shown = s.has(&["--template"])
        || format.as_deref().is_some_and(|f| !SUMMARY_FORMATS.contains(&f.split('=').next().unwrap_or(f)));
    if !data_shown {
        return out;
    }
    let from_files = s.has(&["-f", "--filename", "-k", "--kustomize"]);
    let types: Vec<String> = match s.operands.first() {
        Some(a) if a.has_dynamic() => vec!["secrets".to_owned()],
        Some(a) => a
            .text
            .to_ascii_lowercase()
            .split(',')
            .map(|t| canonical_resource(t.split('/').next().unwrap_or(t)).to_owned())
            .collect(),
        None => Vec::new(),
    };
    let secret = types.iter().any(|t| t == "secrets" || t.ends_with("secrets"));
    if secret || from_files {
        out.push(Finding::sensitive("kubectl.secret", "prints Secrets with their data (base64 is not encryption)"));
    }
    out
}

/// The resource types a `delete` names (`ns foo`, `namespace/foo`, `pods,namespaces`).
fn deleted_types(operands: &[&Arg]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in operands.iter().enumerate() {
        let t = a.text.as_str();
        if let Some((kind, _)) = t.split_once('/') {
            out.push(canonical_resource(kind).to_owned());
        } else if i == 0 {
            out.extend(t.split(',').map(|k| canonical_resource(k).to_owned()));
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
        classify(&args, None).0.iter().map(|f| f.class).max().unwrap_or(Class::Read)
    }

    #[test]
    fn verbs() {
        assert_eq!(class("get pods -n x"), Class::Read);
        assert_eq!(class("-n kube-system get pods"), Class::Read);
        assert_eq!(class("auth can-i delete pods"), Class::Read);
        assert_eq!(class("rollout status deploy/x"), Class::Read);
        assert_eq!(class("rollout restart deploy/x"), Class::Write);
        assert_eq!(class("delete pod x"), Class::Write);
        assert_eq!(class("delete ns x"), Class::Dangerous);
        assert_eq!(class("delete namespace/x"), Class::Dangerous);
        assert_eq!(class("delete pods --all"), Class::Dangerous);
        assert_eq!(class("delete ns x --dry-run=client"), Class::Read);
        assert_eq!(class("delete ns x --dry-run=none"), Class::Dangerous);
        assert_eq!(class("exec -it pod -- sh"), Class::Interactive);
        assert_eq!(class("port-forward svc/x 8080:80"), Class::Interactive);
        assert_eq!(class("frobnicate"), Class::Unknown);
        assert_eq!(class("drain node1"), Class::Dangerous);
    }

    #[test]
    fn aliases() {
        assert_eq!(canonical_resource("ns"), "namespaces");
        assert_eq!(canonical_resource("deployments.apps"), "deployments");
        assert_eq!(canonical_resource("widgets"), "widgets");
    }
}
