//! `toolkit-operator manifests`: what it prints, read back as Kubernetes objects.

use std::process::Command;

use serde_json::Value;

fn manifests(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("manifests").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects.iter().map(|o| o["kind"].as_str().unwrap().to_owned()).collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The verbs a role's rules grant on `resource` of `group`.
fn verbs(role: &Value, group: &str, resource: &str) -> Vec<String> {
    let mut verbs: Vec<String> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["apiGroups"].as_array().unwrap().iter().any(|g| g == group)
                && r["resources"].as_array().unwrap().iter().any(|x| x == resource)
        })
        .flat_map(|r| r["verbs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()))
        .collect();
    verbs.sort();
    verbs
}

fn args(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cluster_mode_installs_everything_with_least_privilege() {
    let objects = manifests(&[]);
    let kinds = kinds(&objects);
    for kind in ["CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "CustomResourceDefinition").count(), 3);
    assert_eq!(find(&objects, "Namespace", "toolkit-system")["apiVersion"], "v1");

    let role = find(&objects, "ClusterRole", "toolkit-operator");
    for kind in ["tools", "toolregistries", "approvalpolicies"] {
        assert_eq!(verbs(role, "toolkit.dev", kind), ["get", "list", "watch"]);
        assert_eq!(verbs(role, "toolkit.dev", &format!("{kind}/status")), ["get", "patch"]);
    }
    assert_eq!(verbs(role, "", "secrets"), ["get", "list", "watch"]);
    assert_eq!(verbs(role, "", "configmaps"), ["get", "list", "watch"]);
    assert_eq!(verbs(role, "", "services"), ["get", "list", "watch"]);
    assert_eq!(verbs(role, "ark.mckinsey.com", "mcpservers"), ["get"]);
    assert_eq!(verbs(role, "events.k8s.io", "events"), ["create", "patch"]);
    // Idle bastion sessions are reaped.
    assert_eq!(verbs(role, "coordination.k8s.io", "leases"), ["delete", "list", "watch"]);
    assert_eq!(verbs(role, "", "pods"), ["delete", "list"]);
    // Nothing the operator does not do: no write of a spec, no other delete, no wildcard.
    for rule in role["rules"].as_array().unwrap() {
        let text = rule.to_string();
        let reaping =
            rule["resources"] == serde_json::json!(["leases"]) || rule["resources"] == serde_json::json!(["pods"]);
        for verb in ["\"*\"", "\"delete\"", "update", "deletecollection", "escalate", "bind", "impersonate"] {
            assert!(reaping && verb == "\"delete\"" || !text.contains(verb), "{verb} granted: {text}");
        }
    }
    let binding = find(&objects, "ClusterRoleBinding", "toolkit-operator");
    assert_eq!(binding["subjects"][0]["namespace"], "toolkit-system");
    // The Lease is in the operator's namespace only.
    let lease = find(&objects, "Role", "toolkit-operator-leader-election");
    assert_eq!(lease["metadata"]["namespace"], "toolkit-system");
    assert_eq!(verbs(lease, "coordination.k8s.io", "leases"), ["create", "get", "update"]);

    let operator = find(&objects, "Deployment", "toolkit-operator");
    assert_eq!(operator["spec"]["replicas"], 2);
    assert!(!args(operator).contains(&"--namespace".to_owned()));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        operator["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("ghcr.io/toolkit-dev/toolkit-operator:{version}")
    );
    let gateway = find(&objects, "Deployment", "toolkit-gateway");
    assert!(args(gateway).contains(&"--tokens".to_owned()));
    assert!(args(gateway).contains(&"--kubernetes".to_owned()));
    // The gateway reads what it serves and adds call counts to status; it writes no spec and
    // reads a Secret only by name.
    let role = find(&objects, "ClusterRole", "toolkit-gateway");
    for kind in ["tools", "toolregistries", "approvalpolicies"] {
        assert_eq!(verbs(role, "toolkit.dev", kind), ["get", "list", "watch"]);
    }
    assert_eq!(verbs(role, "toolkit.dev", "tools/status"), ["get", "patch"]);
    assert_eq!(verbs(role, "toolkit.dev", "toolregistries/status"), Vec::<String>::new());
    assert_eq!(verbs(role, "", "secrets"), ["get"]);
    let all = serde_json::to_string(&role["rules"]).unwrap();
    for verb in ["\"*\"", "create", "delete", "update", "deletecollection", "escalate", "bind", "impersonate"] {
        assert!(!all.contains(verb), "{verb} granted to the gateway: {all}");
    }
    assert_eq!(find(&objects, "ClusterRoleBinding", "toolkit-gateway")["subjects"][0]["name"], "toolkit-gateway");
    let service = find(&objects, "Service", "toolkit-gateway");
    assert_eq!(service["spec"]["selector"]["app.kubernetes.io/name"], "toolkit-gateway");
    assert_eq!(service["spec"]["ports"][0]["port"], 8787);
}

#[test]
fn rbac_plans_are_applied_by_the_operator_only_when_asked() {
    let role = |objects: &[Value]| find(objects, "ClusterRole", "toolkit-operator").clone();
    let plain = role(&manifests(&[]));
    assert_eq!(verbs(&plain, "rbac.authorization.k8s.io", "roles"), Vec::<String>::new());
    assert_eq!(verbs(&plain, "", "serviceaccounts"), Vec::<String>::new());
    let granted = role(&manifests(&["--grant-rbac"]));
    for kind in ["roles", "rolebindings", "clusterroles", "clusterrolebindings"] {
        assert_eq!(
            verbs(&granted, "rbac.authorization.k8s.io", kind),
            ["bind", "create", "delete", "escalate", "get", "patch"]
        );
    }
    assert_eq!(verbs(&granted, "", "serviceaccounts"), ["create", "get", "patch"]);
    let namespaced = manifests(&["--grant-rbac", "--namespace", "team-a"]);
    let role = find(&namespaced, "Role", "toolkit-operator");
    assert_eq!(verbs(role, "rbac.authorization.k8s.io", "rolebindings").len(), 6);
}

#[test]
fn pods_are_hardened() {
    for deployment in manifests(&[]).iter().filter(|o| o["kind"] == "Deployment") {
        let pod = &deployment["spec"]["template"]["spec"];
        let name = deployment["metadata"]["name"].as_str().unwrap();
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{name}");
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        for (key, value) in deployment["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(&labels[key], value, "{name}: the selector selects its pods");
        }
        let container = &pod["containers"][0];
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]), "{name}");
        assert!(container["resources"]["requests"]["memory"].is_string(), "{name}");
        assert!(container["resources"]["limits"]["memory"].is_string(), "{name}");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz", "{name}");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz", "{name}");
        let probe_port = &container["readinessProbe"]["httpGet"]["port"];
        assert!(container["ports"].as_array().unwrap().iter().any(|p| &p["name"] == probe_port), "{name}");
    }
}

#[test]
fn namespaced_mode_has_nothing_cluster_scoped_but_the_crds() {
    let objects = manifests(&["--namespace", "team", "--image-operator", "registry.local/op:dev"]);
    for object in &objects {
        let kind = object["kind"].as_str().unwrap();
        if kind == "CustomResourceDefinition" {
            continue;
        }
        assert!(!["Namespace", "ClusterRole", "ClusterRoleBinding"].contains(&kind), "{kind} in namespaced mode");
        assert_eq!(object["metadata"]["namespace"], "team", "{kind} {}", object["metadata"]["name"]);
    }
    let role = find(&objects, "Role", "toolkit-operator");
    assert_eq!(verbs(role, "toolkit.dev", "tools"), ["get", "list", "watch"]);
    assert_eq!(verbs(role, "", "secrets"), ["get", "list", "watch"]);
    let binding = find(&objects, "RoleBinding", "toolkit-operator");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(verbs(find(&objects, "Role", "toolkit-gateway"), "", "secrets"), ["get"]);
    let gateway = args(find(&objects, "Deployment", "toolkit-gateway"));
    let at = gateway.iter().position(|a| a == "--namespace").expect("the gateway's --namespace");
    assert_eq!(gateway[at + 1], "team");
    let operator = find(&objects, "Deployment", "toolkit-operator");
    let args = args(operator);
    let at = args.iter().position(|a| a == "--namespace").expect("--namespace");
    assert_eq!(args[at + 1], "team");
    assert_eq!(operator["spec"]["template"]["spec"]["containers"][0]["image"], "registry.local/op:dev");
}
