//! kubectl (and `oc`) rules.
//!
//! - read: `get`, `describe`, `logs`, `explain`, `top`, `version`, `api-resources`,
//!   `api-versions`, `cluster-info`, `diff`, `events`, `wait`, `kustomize`, `auth can-i`,
//!   `auth whoami`, `config view` (and the other `config get-*`), `rollout history|status`,
//!   and any command with `--dry-run` (other than `--dry-run=none`);
//! - write: `apply`, `create`, `patch`, `scale`, `label`, `annotate`, `set`,
//!   `rollout restart|undo|pause|resume`, `replace`, `expose`, `run`, `cp`, `autoscale`,
//!   `delete`, `uncordon`, `certificate`, `config use-context|set-*|...`, `debug`;
//! - dangerous: deleting namespaces, nodes, CRDs or persistent volumes; `--all`, `-A` or
//!   `--all-namespaces` on a write; `--force`; `--grace-period=0`; `--cascade=orphan`;
//!   `apply --prune`; `drain`, `cordon`, `taint`;
//! - interactive: `exec -i`/`-t`, `attach`, `port-forward`, `proxy`, `edit`, `run -i`/`-t`,
//!   `debug -i`/`-t`;
//! - unknown: any other verb (plugins).
//!
//! `kubectl exec POD -- COMMAND` is classified as the command it runs in the pod.

use crate::rules::Parsed;
use crate::shell::words::Arg;
use crate::verdict::Finding;

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
    "log",
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

/// Classifies kubectl's arguments; also returns the command `exec` runs in a pod.
pub(crate) fn classify(args: &[Arg]) -> (Vec<Finding>, Option<Vec<Arg>>) {
    // The words after `--` belong to `exec`/`run`/`debug`, not to kubectl.
    let dashdash = args.iter().position(|a| a.text == "--");
    let (own, after) = match dashdash {
        Some(i) => (&args[..i], Some(&args[i + 1..])),
        None => (args, None),
    };
    let p = Parsed::new(own, TAKES_VALUE);
    let ops: Vec<&str> = p.operands.iter().map(|a| a.text.as_str()).collect();
    let mut out = Vec::new();
    let Some(&verb) = ops.first() else {
        out.push(Finding::read("kubectl.help", "`kubectl` without a command prints help"));
        return (out, None);
    };
    if p.operands[0].has_dynamic() {
        out.push(Finding::unknown("kubectl.computed-verb", "the kubectl command is only known at run time"));
        return (out, None);
    }
    let sub = ops.get(1).copied().unwrap_or_default();
    let dry_run = p.flags.iter().any(|(f, v)| f == "--dry-run" && !matches!(*v, Some("none" | "false")));
    let tty = p.has(&["-i", "-t", "--stdin", "--tty"]);

    // Commands that only read, whatever else they carry.
    let read = match verb {
        "auth" => matches!(sub, "can-i" | "whoami"),
        "config" => matches!(sub, "view" | "get-contexts" | "get-clusters" | "get-users" | "current-context" | ""),
        "rollout" => matches!(sub, "history" | "status"),
        "apply" => sub == "view-last-applied",
        "plugin" => matches!(sub, "list" | ""),
        v => READ_VERBS.contains(&v),
    };
    if read {
        let what = if sub.is_empty() || !matches!(verb, "auth" | "config" | "rollout" | "apply" | "plugin") {
            verb.to_owned()
        } else {
            format!("{verb} {sub}")
        };
        out.push(Finding::read("kubectl.read", format!("`kubectl {what}` only reads")));
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
        if tty {
            out.push(Finding::interactive("kubectl.exec-tty", "`kubectl exec -i`/`-t` opens a terminal in a pod"));
            return (out, None);
        }
        let command: Vec<Arg> = match after {
            Some(cmd) => cmd.to_vec(),
            None => p.operands.iter().skip(2).map(|a| (*a).clone()).collect(),
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

    if dry_run {
        out.push(Finding::read("kubectl.dry-run", format!("`kubectl {verb} --dry-run` changes nothing")));
        return (out, None);
    }

    if let Some((_, what)) = DANGEROUS_VERBS.iter().find(|(v, _)| *v == verb) {
        out.push(Finding::dangerous("kubectl.node-operation", format!("`kubectl {verb}` {what}")));
        return (out, None);
    }

    let write_verb = WRITE_VERBS.contains(&verb)
        || matches!((verb, sub), ("auth", "reconcile") | ("rollout", _) | ("config", _) | ("plugin", _));
    if !write_verb {
        out.push(Finding::unknown("kubectl.unknown-verb", format!("`kubectl {verb}` is not a command the rules know")));
        return (out, None);
    }
    if verb == "config" {
        out.push(Finding::write("kubectl.config", format!("`kubectl config {sub}` changes the kubeconfig")));
        return (out, None);
    }
    out.push(Finding::write("kubectl.write", format!("`kubectl {verb}` changes the cluster")));

    if verb == "delete" {
        for resource in deleted_types(&p.operands[1..]) {
            if CRITICAL_RESOURCES.contains(&resource.as_str()) {
                out.push(Finding::dangerous("kubectl.delete-critical", format!("deletes {resource}")));
            }
        }
    }
    if p.has(&["--all"]) {
        out.push(Finding::dangerous(
            "kubectl.all",
            format!("`kubectl {verb} --all` acts on every resource of the type"),
        ));
    }
    if p.has(&["-A", "--all-namespaces"]) {
        out.push(Finding::dangerous("kubectl.all-namespaces", format!("`kubectl {verb} -A` acts in every namespace")));
    }
    if p.flags.iter().any(|(f, v)| f == "--force" && !matches!(*v, Some("false"))) {
        out.push(Finding::dangerous("kubectl.force", "`--force` deletes without waiting for graceful termination"));
    }
    if p.value(&["--grace-period"]).is_some_and(|v| v.trim() == "0") {
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
        classify(&args).0.iter().map(|f| f.class).max().unwrap_or(Class::Read)
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
