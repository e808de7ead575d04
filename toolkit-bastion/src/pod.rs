//! Bastion pods: a session of a tool as a pod in the tool's namespace, described from the
//! connector's [`SessionTemplate`] so that no secret value passes through the process that
//! creates it. Each credential is a `secretKeyRef` the kubelet resolves; the pod spec, its
//! Lease and everything printed about them hold only Secret names and keys.
//!
//! The pod runs the type's image (configurable per tool), idles until a client execs the native
//! client in it, and is hardened: non-root, read-only root filesystem (a writable `/tmp` that is
//! also `HOME`), every capability dropped, no privilege escalation, the `RuntimeDefault`
//! seccomp profile, small resource requests and limits, and no service account token unless
//! the tool is a Kubernetes tool with a ServiceAccount of its own.
//!
//! A session is a `coordination.k8s.io` Lease of the same name, renewed by the client's
//! heartbeat; the pod is owned by the Lease, so deleting the Lease removes the pod. A pod
//! whose Lease has not been renewed for its duration (the tool's `idleTimeout`) is reaped.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, Pod, PodSecurityContext, PodSpec,
    ResourceRequirements, SeccompProfile, SecretKeySelector as KubeSecretKeySelector, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use toolkit_core::{EnvSource, SessionTemplate, ToolRef};

/// The label naming the tool a session pod serves.
pub const TOOL_LABEL: &str = "toolkit.dev/tool";
/// The label naming the tool's namespace (a Kubernetes tool's pod may run in another).
pub const TOOL_NAMESPACE_LABEL: &str = "toolkit.dev/tool-namespace";
/// The label carrying the session id.
pub const SESSION_LABEL: &str = "toolkit.dev/session";

/// What a session pod is made from.
#[derive(Clone, Debug)]
pub struct PodSession<'a> {
    /// The tool; the pod runs in its namespace.
    pub tool: &'a ToolRef,
    /// The session id (a UUID).
    pub id: &'a str,
    /// The connector's description of the session.
    pub template: &'a SessionTemplate,
    /// Another image than the template's (the tool's own setting).
    pub image: Option<&'a str>,
    /// The ServiceAccount whose token the pod gets; only Kubernetes tools have one, and then
    /// it is bound to the tool's declared RBAC alone.
    pub service_account: Option<&'a str>,
    /// Who holds the session (`user@host`), for `status`.
    pub holder: &'a str,
    /// Seconds without a heartbeat after which the session is reaped.
    pub idle_timeout_secs: i32,
}

impl PodSession<'_> {
    /// The name of the pod and of its Lease: `toolkit-session-` and the first 12 characters
    /// of the id.
    pub fn name(&self) -> String {
        session_name(self.id)
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TOOL_LABEL.to_owned(), self.tool.name.clone()),
            (TOOL_NAMESPACE_LABEL.to_owned(), self.tool.namespace.clone()),
            (SESSION_LABEL.to_owned(), self.id.to_owned()),
            ("app.kubernetes.io/managed-by".to_owned(), "toolkit".to_owned()),
        ])
    }

    /// The namespace of the pod and its Lease: the template's, else the tool's.
    pub fn namespace(&self) -> String {
        self.template.namespace.clone().unwrap_or_else(|| self.tool.namespace.clone())
    }

    fn meta(&self) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.name()),
            namespace: Some(self.namespace()),
            labels: Some(self.labels()),
            annotations: Some(BTreeMap::from([("toolkit.dev/holder".to_owned(), self.holder.to_owned())])),
            ..ObjectMeta::default()
        }
    }

    /// The ServiceAccount the pod runs as: the one given, else the template's.
    pub fn service_account(&self) -> Option<&str> {
        self.service_account.or(self.template.service_account.as_deref())
    }

    /// The session's Lease, acquired and renewed `now`.
    pub fn lease(&self, now: MicroTime) -> Lease {
        Lease {
            metadata: self.meta(),
            spec: Some(LeaseSpec {
                holder_identity: Some(self.holder.to_owned()),
                lease_duration_seconds: Some(self.idle_timeout_secs),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                ..LeaseSpec::default()
            }),
        }
    }

    /// The session's pod, owned by the Lease of uid `lease_uid`.
    pub fn pod(&self, lease_uid: &str) -> Pod {
        let mut metadata = self.meta();
        metadata.owner_references = Some(vec![OwnerReference {
            api_version: "coordination.k8s.io/v1".to_owned(),
            kind: "Lease".to_owned(),
            name: self.name(),
            uid: lease_uid.to_owned(),
            block_owner_deletion: Some(true),
            controller: Some(true),
        }]);
        let mut env: Vec<EnvVar> = self.template.env.iter().map(env_var).collect();
        env.push(EnvVar { name: "HOME".to_owned(), value: Some("/tmp".to_owned()), ..EnvVar::default() });
        let container = Container {
            name: "session".to_owned(),
            image: Some(self.image.unwrap_or(&self.template.image).to_owned()),
            // Idles until a client execs into it, and stops at once when asked.
            command: Some(vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done".to_owned(),
            ]),
            env: Some(env),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), ..Capabilities::default() }),
                ..SecurityContext::default()
            }),
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".to_owned(), Quantity("10m".to_owned())),
                    ("memory".to_owned(), Quantity("32Mi".to_owned())),
                ])),
                limits: Some(BTreeMap::from([("memory".to_owned(), Quantity("256Mi".to_owned()))])),
                ..ResourceRequirements::default()
            }),
            volume_mounts: Some(vec![VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            }]),
            ..Container::default()
        };
        Pod {
            metadata,
            spec: Some(PodSpec {
                containers: vec![container],
                restart_policy: Some("Never".to_owned()),
                service_account_name: self.service_account().map(str::to_owned),
                automount_service_account_token: Some(self.service_account().is_some()),
                enable_service_links: Some(false),
                termination_grace_period_seconds: Some(5),
                security_context: Some(PodSecurityContext {
                    run_as_non_root: Some(true),
                    run_as_user: Some(65532),
                    run_as_group: Some(65532),
                    fs_group: Some(65532),
                    seccomp_profile: Some(SeccompProfile {
                        type_: "RuntimeDefault".to_owned(),
                        ..SeccompProfile::default()
                    }),
                    ..PodSecurityContext::default()
                }),
                volumes: Some(vec![Volume {
                    name: "tmp".to_owned(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                }]),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }
}

/// The name of a session's pod and Lease.
pub fn session_name(id: &str) -> String {
    let short: String = id.chars().filter(char::is_ascii_alphanumeric).take(12).collect::<String>().to_lowercase();
    format!("toolkit-session-{short}")
}

fn env_var(t: &toolkit_core::EnvTemplate) -> EnvVar {
    match &t.source {
        EnvSource::Value(v) => EnvVar { name: t.name.clone(), value: Some(v.clone()), ..EnvVar::default() },
        EnvSource::Secret(s) => EnvVar {
            name: t.name.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(KubeSecretKeySelector {
                    name: s.name.clone(),
                    key: s.key.clone(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use toolkit_core::EnvTemplate;
    use toolkit_core::model::SecretKeySelector;

    use super::*;

    fn template() -> SessionTemplate {
        let password = SecretKeySelector { name: "orders-db".into(), key: "password".into(), namespace: None };
        SessionTemplate {
            image: "docker.io/library/postgres:17-alpine".into(),
            client: vec!["psql".into()],
            env: vec![EnvTemplate::value("PGHOST", "orders-db"), EnvTemplate::secret("PGPASSWORD", &password)],
            exec: toolkit_core::ExecForm::default(),
            service_account: None,
            namespace: None,
        }
    }

    #[test]
    fn the_pod_names_secrets_and_is_hardened() {
        let tool = ToolRef::new("team", "orders");
        let template = template();
        let session = PodSession {
            tool: &tool,
            id: "0f8e4a4c-1d2b-4c3a-9e8f-7a6b5c4d3e2f",
            template: &template,
            image: None,
            service_account: None,
            holder: "ana@laptop",
            idle_timeout_secs: 900,
        };
        let pod = session.pod("lease-uid");
        assert_eq!(pod.metadata.name.as_deref(), Some("toolkit-session-0f8e4a4c1d2b"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("team"));
        let labels = pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[TOOL_LABEL], "orders");
        assert_eq!(labels[SESSION_LABEL], session.id);
        assert_eq!(pod.metadata.owner_references.as_ref().unwrap()[0].uid, "lease-uid");
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.automount_service_account_token, Some(false));
        let container = &spec.containers[0];
        assert_eq!(container.image.as_deref(), Some("docker.io/library/postgres:17-alpine"));
        let env = container.env.as_ref().unwrap();
        let password = env.iter().find(|e| e.name == "PGPASSWORD").unwrap();
        assert!(password.value.is_none());
        let selector = password.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
        assert_eq!((selector.name.as_str(), selector.key.as_str()), ("orders-db", "password"));
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.capabilities.as_ref().unwrap().drop.as_deref(), Some(&["ALL".to_owned()][..]));
        assert_eq!(spec.security_context.as_ref().unwrap().run_as_non_root, Some(true));

        let lease = session.lease(MicroTime(chrono::Utc::now()));
        assert_eq!(lease.metadata.name, pod.metadata.name);
        assert_eq!(lease.spec.as_ref().unwrap().lease_duration_seconds, Some(900));
        assert_eq!(lease.spec.as_ref().unwrap().holder_identity.as_deref(), Some("ana@laptop"));
    }

    #[test]
    fn a_template_with_a_service_account_runs_in_its_namespace() {
        let tool = ToolRef::new("team", "cluster");
        let template = SessionTemplate {
            service_account: Some("toolkit-reader".into()),
            namespace: Some("apps".into()),
            ..template()
        };
        let session = PodSession {
            tool: &tool,
            id: "abc",
            template: &template,
            image: None,
            service_account: None,
            holder: "ana@laptop",
            idle_timeout_secs: 60,
        };
        let pod = session.pod("u");
        assert_eq!(pod.metadata.namespace.as_deref(), Some("apps"));
        assert_eq!(pod.metadata.labels.as_ref().unwrap()[TOOL_NAMESPACE_LABEL], "team");
        let spec = pod.spec.unwrap();
        assert_eq!(spec.service_account_name.as_deref(), Some("toolkit-reader"));
        assert_eq!(spec.automount_service_account_token, Some(true));
    }

    #[test]
    fn a_kubernetes_tool_gets_its_service_account_and_another_image() {
        let tool = ToolRef::new("team", "cluster");
        let template = template();
        let session = PodSession {
            tool: &tool,
            id: "abc",
            template: &template,
            image: Some("registry.local/kubectl:1.33"),
            service_account: Some("toolkit-cluster"),
            holder: "ana@laptop",
            idle_timeout_secs: 60,
        };
        let pod = session.pod("u");
        let spec = pod.spec.unwrap();
        assert_eq!(spec.automount_service_account_token, Some(true));
        assert_eq!(spec.service_account_name.as_deref(), Some("toolkit-cluster"));
        assert_eq!(spec.containers[0].image.as_deref(), Some("registry.local/kubectl:1.33"));
    }
}
