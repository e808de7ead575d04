#![doc = include_str!("../README.md")]

mod client;
mod config;
mod invoke;
pub mod kubeconfig;
mod permissions;
mod probe;
mod resources;
mod session;
mod write;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_NAMESPACE, KubeConfig, KubeSettings};
pub use permissions::{RbacPlan, RbacRule, VERBS};
pub use resources::{ResourceInfo, builtin as builtin_resources};

use client::Connection;
use session::KubeSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "kubernetes";

/// Adds the kubernetes connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(KubernetesConnector);
}

/// The `kubernetes` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubernetesConnector;

impl Connector for KubernetesConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "A Kubernetes API server").with(SpecPart::config::<config::KubeSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: true,
            // Writes exist; `readOnly` tools refuse them (classified, and again in the invoker).
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, ns) = match KubeConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.namespace_set.then_some(cfg.namespace)),
            Err(errs) => (errs, None),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = RbacPlan::from_spec(p, "tool", ns.as_deref(), DEFAULT_NAMESPACE)
        {
            errs.extend(more);
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["token"])
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "operation": {
                    "type": "string",
                    "enum": ["get", "list", "describe", "logs", "apply", "patch", "delete", "scale", "restart"],
                    "description": "get (one object by name, or a list without one), list, describe (an object and its events), logs (of a pod); on tools that are not read-only: apply (server-side apply of `object`), patch (a JSON merge patch), delete, scale (`replicas`) or restart (a rollout restart)"
                },
                "resource": {"type": "string", "description": "The kind or plural, such as pods, deployments, configmaps, services, jobs"},
                "name": {"type": "string", "description": "The object's name (the pod's, for logs)"},
                "namespace": {"type": "string", "description": "The namespace; the tool's own when omitted"},
                "labelSelector": {"type": "string", "description": "Such as app=web,tier!=cache"},
                "fieldSelector": {"type": "string", "description": "Such as status.phase=Running"},
                "container": {"type": "string", "description": "The container whose log is read"},
                "tailLines": {"type": "integer", "minimum": 0, "description": "Only the last lines of the log"},
                "object": {"type": "object", "description": "apply: the whole object, with apiVersion, kind and metadata.name"},
                "patch": {"type": "object", "description": "patch: a JSON merge patch, such as {\"metadata\": {\"labels\": {\"tier\": \"web\"}}}"},
                "replicas": {"type": "integer", "minimum": 0, "description": "scale: the number of replicas"},
                "dryRun": {"type": "boolean", "description": "Have the server check a write without making it"}
            },
            "required": ["operation"],
            "additionalProperties": false
        }))
    }

    /// A pod with kubectl that runs as the ServiceAccount `spec.permissions.role`, which the
    /// tool's RBAC plan binds (applied with `kubectl apply` or by the operator), in the namespace
    /// the plan puts it in; so the pod's cluster is the tool's. No plan, no pod session.
    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        let config = KubeConfig::from_spec(spec).ok()?;
        let ns = config.namespace_set.then(|| config.namespace.clone());
        let plan = RbacPlan::from_spec(spec.permissions.as_ref()?, "tool", ns.as_deref(), DEFAULT_NAMESPACE).ok()?;
        let service_account = plan.service_account.clone()?;
        let mut client = vec!["kubectl".to_owned()];
        if let Some(ns) = &ns {
            client.extend(["--namespace".to_owned(), ns.clone()]);
        }
        Some(toolkit_core::SessionTemplate {
            image: "docker.io/bitnami/kubectl:1.33".to_owned(),
            exec: toolkit_core::ExecForm { prefix: client.clone(), joined: false },
            client,
            env: Vec::new(),
            service_account: Some(service_account),
            namespace: Some(plan.namespace),
        })
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = KubeConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build kubernetes tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(KubeTool {
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
            discovered: Arc::default(),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            name: ctx.name.clone(),
        }))
    }
}

/// One kubernetes tool: its lazily made client and its declared permissions.
#[derive(Clone)]
pub(crate) struct KubeTool {
    conn: Arc<Connection>,
    /// Refuses writes (`spec.readOnly`).
    read_only: bool,
    /// The resources the API server lists.
    discovered: Arc<resources::Discovered>,
    permissions: Option<PermissionsSpec>,
    name: String,
}

impl fmt::Debug for KubeTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeTool").field("name", &self.name).field("conn", &self.conn).finish()
    }
}

#[async_trait]
impl ToolInstance for KubeTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        self.permissions.is_some().then_some(self as &dyn PermissionProvisioner)
    }

    fn classify(&self, request: toolkit_core::Request<'_>) -> Option<toolkit_core::Verdict> {
        let call = match request {
            toolkit_core::Request::Call(args) => invoke::Call::from_arguments(args),
            toolkit_core::Request::Command(words) => invoke::Call::from_argv(words),
        };
        // What does not parse is refused by the invoker; here it is unknown.
        Some(call.map_or_else(
            |e| {
                toolkit_core::Verdict::from_reasons(vec![toolkit_core::Reason {
                    class: toolkit_core::Class::Unknown,
                    part: "*".into(),
                    rule: "kubernetes.unparsed",
                    message: e.message().to_owned(),
                }])
            },
            |c| write::classify(&c),
        ))
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        let token = self.conn.token().await?;
        let session = KubeSession::open(self.clone(), token.as_ref().map(|t| t.expose()))?;
        Ok(Box::new(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::Catalog;

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = ConnectorRegistry::new();
        register(&mut registry);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/kubernetes.yaml");
        let catalog = Catalog::load(&[root], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert_eq!(catalog.tools.len(), 1);
    }

    #[test]
    fn a_pod_session_runs_as_the_planned_service_account() {
        let mut registry = ConnectorRegistry::new();
        register(&mut registry);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/kubernetes.yaml");
        let catalog = Catalog::load(&[root], &registry).unwrap();
        let tool = catalog.tools.values().next().and_then(|t| t.tool.clone()).unwrap();
        let template = KubernetesConnector.session_template(&tool.spec).expect("a template");
        assert_eq!(template.service_account.as_deref(), Some("toolkit-reader"));
        assert_eq!(template.namespace.as_deref(), Some("apps"));
        assert_eq!(template.client, ["kubectl", "--namespace", "apps"]);
        assert!(template.env.is_empty(), "the ServiceAccount's token is the credential");
        let mut without = tool.spec.clone();
        without.permissions = None;
        assert!(KubernetesConnector.session_template(&without).is_none());
    }
}
