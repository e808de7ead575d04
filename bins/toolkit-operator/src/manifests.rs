//! `toolkit-operator manifests`: everything an install needs, as Kubernetes objects built from
//! their types and printed as one multi-document YAML text after the CRDs.
//!
//! Cluster mode (the default) installs into `toolkit-system` and lets the operator reconcile
//! Tools of every namespace through a ClusterRole. Namespaced mode installs into one existing
//! namespace and reconciles Tools there only: Roles and RoleBindings only, and nothing
//! cluster-scoped but the CRDs. The RBAC grants what the operator does and nothing more: it
//! reads and watches the three kinds and patches their status, reads the Secrets and ConfigMaps
//! a tool names, watches the metadata of Secrets to see rotations, records `events.k8s.io`
//! Events, and holds a Lease in its own namespace; with `--grant-rbac` it may also apply the
//! RBAC plans of kubernetes tools in `enforce` mode (RBAC write with `bind` and `escalate`). The gateway runs with `--kubernetes`: it
//! reads and watches the three kinds, reads the Secrets, ConfigMaps, Services and ark
//! MCPServers its tools name, and patches Tool status with call counts; nothing else.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, Namespace,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use toolkit_core::ConnectorRegistry;

use crate::crd::crds_yaml;

/// The namespace of a cluster-mode install.
pub const DEFAULT_NAMESPACE: &str = "toolkit-system";
/// The operator's name: its Deployment, ServiceAccount, roles and Lease.
pub const OPERATOR: &str = "toolkit-operator";
/// The gateway's name: its Deployment, ServiceAccount and Service.
pub const GATEWAY: &str = "toolkit-gateway";
/// The Secret holding the gateway's tokens file under the key `tokens.yaml`.
pub const GATEWAY_TOKENS: &str = "toolkit-gateway-tokens";
/// The port of MCP streamable HTTP on the gateway.
pub const GATEWAY_PORT: i32 = 8787;
/// The port of `/metrics`, `/healthz` and `/readyz` on both.
pub const METRICS_PORT: i32 = 8080;

const GROUP: &str = "toolkit.dev";
const KINDS: [&str; 3] = ["tools", "toolregistries", "approvalpolicies"];

/// What to install, and where.
#[derive(Clone, Debug)]
pub struct Install {
    /// Namespaced mode: install into this existing namespace and reconcile Tools there only.
    pub namespace: Option<String>,
    /// The operator's image.
    pub image_operator: String,
    /// The gateway's image.
    pub image_gateway: String,
    /// Whether the operator may apply kubernetes tools' RBAC plans as itself.
    pub grant_rbac: bool,
}

impl Install {
    /// The namespace the operator and gateway run in.
    pub fn target_namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }
}

/// The default image of `component` at this crate's version.
pub fn default_image(component: &str) -> String {
    format!("ghcr.io/toolkit-dev/{component}:{}", env!("CARGO_PKG_VERSION"))
}

/// The CRDs and the objects of `install`, as one multi-document YAML text.
pub fn manifests_yaml(connectors: &ConnectorRegistry, install: &Install) -> Result<String, serde_yaml::Error> {
    let mut out = crds_yaml(connectors)?;
    let ns = install.target_namespace();
    let cluster = install.namespace.is_none();
    if cluster {
        push(&mut out, &Namespace { metadata: meta(ns, None, "namespace"), ..Namespace::default() })?;
    }
    for name in [OPERATOR, GATEWAY] {
        push(&mut out, &service_account(ns, name))?;
    }
    if cluster {
        push(
            &mut out,
            &ClusterRole {
                metadata: meta(GATEWAY, None, "gateway"),
                rules: Some(gateway_rules()),
                ..Default::default()
            },
        )?;
        push(
            &mut out,
            &ClusterRoleBinding {
                metadata: meta(GATEWAY, None, "gateway"),
                role_ref: role_ref("ClusterRole", GATEWAY),
                subjects: Some(vec![subject(ns, GATEWAY)]),
            },
        )?;
    } else {
        push(&mut out, &role(ns, GATEWAY, gateway_rules()))?;
        push(&mut out, &role_binding(ns, GATEWAY, GATEWAY))?;
    }
    if cluster {
        push(
            &mut out,
            &ClusterRole {
                metadata: meta(OPERATOR, None, "operator"),
                rules: Some(operator_rules(install.grant_rbac)),
                ..Default::default()
            },
        )?;
        push(
            &mut out,
            &ClusterRoleBinding {
                metadata: meta(OPERATOR, None, "operator"),
                role_ref: role_ref("ClusterRole", OPERATOR),
                subjects: Some(vec![subject(ns, OPERATOR)]),
            },
        )?;
    } else {
        push(&mut out, &role(ns, OPERATOR, operator_rules(install.grant_rbac)))?;
        push(&mut out, &role_binding(ns, OPERATOR, OPERATOR))?;
    }
    let election = format!("{OPERATOR}-leader-election");
    push(&mut out, &role(ns, &election, lease_rules()))?;
    push(&mut out, &role_binding(ns, &election, OPERATOR))?;
    push(&mut out, &operator_deployment(install))?;
    push(&mut out, &gateway_deployment(install))?;
    push(&mut out, &gateway_service(ns))?;
    Ok(out)
}

fn push(out: &mut String, object: &impl Serialize) -> Result<(), serde_yaml::Error> {
    out.push_str("---\n");
    out.push_str(&serde_yaml::to_string(object)?);
    Ok(())
}

fn labels(component: &str) -> BTreeMap<String, String> {
    let name = match component {
        "operator" => OPERATOR,
        "gateway" => GATEWAY,
        _ => "toolkit",
    };
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), name.into()),
        ("app.kubernetes.io/component".into(), component.into()),
        ("app.kubernetes.io/part-of".into(), "toolkit".into()),
    ])
}

fn meta(name: &str, namespace: Option<&str>, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        labels: Some(labels(component)),
        ..ObjectMeta::default()
    }
}

fn component_of(name: &str) -> &'static str {
    if name.starts_with(GATEWAY) { "gateway" } else { "operator" }
}

fn service_account(ns: &str, name: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(name, Some(ns), component_of(name)),
        // Both read the API server; no other pod of the namespace should get these tokens.
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |items: &[&str]| Some(items.iter().map(|s| (*s).to_owned()).collect());
    PolicyRule {
        api_groups: strings(groups),
        resources: strings(resources),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// What `toolkit-operator run` does in the namespaces it reconciles; with `grant_rbac`, also
/// what applying a kubernetes tool's RBAC plan as the operator needs.
pub fn operator_rules(grant_rbac: bool) -> Vec<PolicyRule> {
    let status: Vec<String> = KINDS.iter().map(|k| format!("{k}/status")).collect();
    let status: Vec<&str> = status.iter().map(String::as_str).collect();
    let mut rules = vec![
        rule(&[GROUP], &KINDS, &["get", "list", "watch"]),
        rule(&[GROUP], &status, &["get", "patch"]),
        // `get` reads the Secrets a tool names; `list` and `watch` serve the metadata-only
        // watch that sees them rotate (RBAC has no verb for metadata alone).
        rule(&[""], &["secrets"], &["get", "list", "watch"]),
        // ConfigMaps likewise: read when named, watched by metadata to re-probe on a change.
        rule(&[""], &["configmaps"], &["get", "list", "watch"]),
        // A ToolRegistry's discovery watches Services by metadata; an agent named by a tool
        // is reached through its Service.
        rule(&[""], &["services"], &["get", "list", "watch"]),
        // `spec.mcp.serverRef` names an ark MCPServer.
        rule(&["ark.mckinsey.com"], &["mcpservers"], &["get"]),
        // Bastion sessions are counted (their Leases watched) and idle ones reaped: their Lease
        // and pod deleted.
        rule(&["coordination.k8s.io"], &["leases"], &["list", "watch", "delete"]),
        rule(&[""], &["pods"], &["list", "delete"]),
        // kube's Recorder creates an Event, then patches it when the same one recurs.
        rule(&["events.k8s.io"], &["events"], &["create", "patch"]),
    ];
    if grant_rbac {
        // A plan's ServiceAccount, roles and bindings; `bind` and `escalate` because a plan
        // grants what the operator itself does not hold.
        rules.push(rule(&[""], &["serviceaccounts"], &["get", "create", "patch"]));
        rules.push(rule(
            &["rbac.authorization.k8s.io"],
            &["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
            &["get", "create", "patch", "delete", "bind", "escalate"],
        ));
    }
    rules
}

/// What `toolkit-gateway --kubernetes` does: reads and watches the three kinds and the
/// ConfigMaps, reads the Secrets, Services and MCPServers its tools name, and adds call counts
/// to Tool status. It writes no spec and watches no Secret.
pub fn gateway_rules() -> Vec<PolicyRule> {
    vec![
        rule(&[GROUP], &KINDS, &["get", "list", "watch"]),
        rule(&[GROUP], &["tools/status"], &["get", "patch"]),
        rule(&[""], &["secrets"], &["get"]),
        rule(&[""], &["configmaps"], &["get", "list", "watch"]),
        rule(&[""], &["services"], &["get", "list"]),
        rule(&["ark.mckinsey.com"], &["mcpservers"], &["get"]),
    ]
}

/// Leader election, in the operator's own namespace.
pub fn lease_rules() -> Vec<PolicyRule> {
    vec![rule(&["coordination.k8s.io"], &["leases"], &["get", "create", "update"])]
}

fn role(ns: &str, name: &str, rules: Vec<PolicyRule>) -> Role {
    Role { metadata: meta(name, Some(ns), component_of(name)), rules: Some(rules) }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: kind.into(), name: name.into() }
}

fn subject(ns: &str, account: &str) -> Subject {
    Subject { kind: "ServiceAccount".into(), name: account.into(), namespace: Some(ns.into()), ..Subject::default() }
}

fn role_binding(ns: &str, role: &str, account: &str) -> RoleBinding {
    RoleBinding {
        metadata: meta(role, Some(ns), component_of(account)),
        role_ref: role_ref("Role", role),
        subjects: Some(vec![subject(ns, account)]),
    }
}

fn env_from_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..ObjectFieldSelector::default() }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn http_probe(path: &str, port: &str, period: i32) -> Option<Probe> {
    Some(Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        ..Probe::default()
    })
}

fn resources(cpu: &str, memory: &str, memory_limit: &str) -> Option<ResourceRequirements> {
    let q = |s: &str| Quantity(s.into());
    Some(ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".into(), q(cpu)), ("memory".into(), q(memory))])),
        limits: Some(BTreeMap::from([("memory".into(), q(memory_limit))])),
        ..ResourceRequirements::default()
    })
}

fn hardened() -> Option<SecurityContext> {
    Some(SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
        ..SecurityContext::default()
    })
}

fn pod_security() -> Option<PodSecurityContext> {
    Some(PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        run_as_group: Some(65532),
        fs_group: Some(65532),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() }),
        ..PodSecurityContext::default()
    })
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount { name: name.into(), mount_path: path.into(), read_only: Some(read_only), ..VolumeMount::default() }
}

fn empty_dir(name: &str) -> Volume {
    Volume { name: name.into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() }
}

fn deployment(ns: &str, name: &str, replicas: i32, pod: PodSpec) -> Deployment {
    let component = component_of(name);
    Deployment {
        metadata: meta(name, Some(ns), component),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([("app.kubernetes.io/name".into(), name.into())])),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels(component)), ..ObjectMeta::default() }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

fn operator_deployment(install: &Install) -> Deployment {
    let ns = install.target_namespace();
    let mut args = vec!["run".to_owned(), "--metrics-addr".into(), format!("0.0.0.0:{METRICS_PORT}")];
    args.extend(["--lease-name".into(), OPERATOR.into()]);
    if let Some(ns) = &install.namespace {
        args.extend(["--namespace".into(), ns.clone()]);
    }
    let container = Container {
        name: OPERATOR.into(),
        image: Some(install.image_operator.clone()),
        args: Some(args),
        env: Some(vec![
            env_from_field("POD_NAME", "metadata.name"),
            env_from_field("POD_NAMESPACE", "metadata.namespace"),
            EnvVar { name: "TOOLKIT_LOG".into(), value: Some("info,kube=warn".into()), ..EnvVar::default() },
        ]),
        ports: Some(vec![port("metrics", METRICS_PORT)]),
        liveness_probe: http_probe("/healthz", "metrics", 20),
        readiness_probe: http_probe("/readyz", "metrics", 10),
        resources: resources("50m", "64Mi", "256Mi"),
        security_context: hardened(),
        volume_mounts: Some(vec![mount("tmp", "/tmp", false)]),
        ..Container::default()
    };
    let pod = PodSpec {
        service_account_name: Some(OPERATOR.into()),
        security_context: pod_security(),
        containers: vec![container],
        volumes: Some(vec![empty_dir("tmp")]),
        termination_grace_period_seconds: Some(30),
        ..PodSpec::default()
    };
    deployment(ns, OPERATOR, 2, pod)
}

fn gateway_deployment(install: &Install) -> Deployment {
    let ns = install.target_namespace();
    let mut args: Vec<String> = vec![
        "--listen".into(),
        format!("0.0.0.0:{GATEWAY_PORT}"),
        "--metrics-listen".into(),
        format!("0.0.0.0:{METRICS_PORT}"),
        "--tokens".into(),
        "/etc/toolkit/tokens/tokens.yaml".into(),
        "--kubernetes".into(),
        "--state".into(),
        "/var/lib/toolkit".into(),
    ];
    if let Some(ns) = &install.namespace {
        args.extend(["--namespace".into(), ns.clone()]);
    }
    for host in [GATEWAY.to_owned(), format!("{GATEWAY}.{ns}"), format!("{GATEWAY}.{ns}.svc")] {
        args.extend(["--allowed-host".into(), host]);
    }
    let container = Container {
        name: GATEWAY.into(),
        image: Some(install.image_gateway.clone()),
        args: Some(args),
        // A tokenRef of the tokens file without a namespace reads the gateway's own.
        env: Some(vec![env_from_field("POD_NAMESPACE", "metadata.namespace")]),
        ports: Some(vec![port("mcp", GATEWAY_PORT), port("metrics", METRICS_PORT)]),
        liveness_probe: http_probe("/healthz", "metrics", 20),
        readiness_probe: http_probe("/readyz", "metrics", 10),
        resources: resources("100m", "128Mi", "512Mi"),
        security_context: hardened(),
        volume_mounts: Some(vec![
            mount("tokens", "/etc/toolkit/tokens", true),
            mount("state", "/var/lib/toolkit", false),
            mount("tmp", "/tmp", false),
        ]),
        ..Container::default()
    };
    let pod = PodSpec {
        service_account_name: Some(GATEWAY.into()),
        security_context: pod_security(),
        containers: vec![container],
        volumes: Some(vec![
            Volume {
                name: "tokens".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(GATEWAY_TOKENS.into()),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            },
            empty_dir("state"),
            empty_dir("tmp"),
        ]),
        termination_grace_period_seconds: Some(40),
        ..PodSpec::default()
    };
    deployment(ns, GATEWAY, 1, pod)
}

fn gateway_service(ns: &str) -> Service {
    let service_port = |name: &str, number: i32| ServicePort {
        name: Some(name.into()),
        port: number,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    };
    Service {
        metadata: meta(GATEWAY, Some(ns), "gateway"),
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([("app.kubernetes.io/name".into(), GATEWAY.into())])),
            ports: Some(vec![service_port("mcp", GATEWAY_PORT), service_port("metrics", METRICS_PORT)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
