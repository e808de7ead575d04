#![doc = include_str!("../README.md")]

mod config;
mod connection;
mod invoke;
mod permissions;
mod probe;
mod session;
mod tls;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Error, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, KafkaConfig, KafkaSettings, Sasl, SaslMechanism};
pub use permissions::{AclPlan, AclRule};

use connection::Connection;
use session::KafkaSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "kafka";

/// Adds the kafka connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(KafkaConnector);
}

/// The `kafka` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct KafkaConnector;

impl Connector for KafkaConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Apache Kafka").with(SpecPart::config::<config::KafkaSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            // rskafka sends no CreateAcls; the plan is run with kafka-acls.
            permissions_apply: false,
            // Kafka has no read-only session: toolkit refuses `produce`, and the ACL plan
            // (Read and Describe only) is what makes the brokers refuse writes.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user) = match KafkaConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.sasl.map(|s| s.username)),
            Err(errs) => (errs, None),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = AclPlan::from_spec(p, user.as_deref(), spec.read_only)
        {
            errs.extend(more);
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["credentialsRef"])
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        toolkit_core::config::resolve_config_paths(spec, &["caFile"], dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "operation": {
                    "description": "list_topics; consume records of one partition (no consumer group, nothing committed); produce one record",
                    "enum": ["list_topics", "consume", "produce"]
                },
                "topic": {"type": "string"},
                "partition": {"type": "integer", "minimum": 0, "description": "0 by default"},
                "offset": {
                    "description": "Where consume starts: an offset, a negative number (that many before the end), \"earliest\" (default), \"latest\" (the last `count` records) or \"latest-N\"",
                    "oneOf": [{"type": "integer"}, {"type": "string"}]
                },
                "count": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "Records to consume; 10 by default"},
                "max_bytes": {"type": "integer", "minimum": 1, "description": "Bytes of records to return at most"},
                "key": {"description": "Record key: a string, {\"$base64\": \"...\"}, or JSON (sent as its text)"},
                "value": {"description": "Record value: a string, {\"$base64\": \"...\"}, or JSON (sent as its text)"},
                "headers": {"type": "object", "description": "Record headers, name to string"}
            },
            "required": ["operation"],
            "additionalProperties": false
        }))
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        KafkaConfig::from_spec(spec).ok().map(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = KafkaConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build kafka tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(KafkaTool {
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
        }))
    }
}

/// One kafka tool: its lazily made client and settings.
pub(crate) struct KafkaTool {
    conn: Arc<Connection>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl KafkaTool {
    fn acl_plan(&self) -> Result<AclPlan> {
        let spec =
            self.permissions.as_ref().ok_or_else(|| Error::unsupported("plan permissions: none are declared"))?;
        let user = self.conn.config.sasl.as_ref().map(|s| s.username.as_str());
        AclPlan::from_spec(spec, user, self.read_only).map_err(|errs| config_error("plan permissions", &errs))
    }
}

impl fmt::Debug for KafkaTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for KafkaTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        self.permissions.is_some().then_some(self as &dyn PermissionProvisioner)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        let password = self.conn.password().await?;
        let client = self.conn.dedicated(password.as_ref()).await?;
        Ok(Box::new(KafkaSession {
            conn: self.conn.clone(),
            client: Mutex::new(Some(client)),
            password,
            read_only: self.read_only,
        }))
    }

    async fn shutdown(&self) {
        self.conn.reset().await;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use toolkit_core::{Catalog, ConnectorRegistry};

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = ConnectorRegistry::new();
        super::register(&mut registry);
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/kafka.yaml");
        let catalog = Catalog::load(&[example], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert!(!catalog.tools.is_empty());
    }

    #[test]
    fn an_invalid_spec_has_no_pod_session() {
        use toolkit_core::Connector;
        let spec = |c| toolkit_core::ToolSpec { type_: "kafka".into(), config: c, ..Default::default() };
        assert!(super::KafkaConnector.session_template(&spec(None)).is_none());
        let no_password = serde_json::json!({"hostname": "k", "username": "app"});
        assert!(super::KafkaConnector.session_template(&spec(Some(no_password))).is_none());
        let ok = serde_json::json!({"hostname": "k"});
        assert!(super::KafkaConnector.session_template(&spec(Some(ok))).is_some());
    }
}
