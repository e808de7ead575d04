#![doc = include_str!("../README.md")]

mod config;
mod connection;
mod hello;
mod invoke;
mod permissions;
mod probe;
mod session;
mod tls;
mod values;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Error, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, DEFAULT_TLS_PORT, RabbitConfig, RabbitSettings};
pub use permissions::{Grant, NOTHING, PermissionRule, PermissionsPlan};

use connection::Connection;
use session::RabbitSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "rabbitmq";

/// Adds the rabbitmq connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(RabbitConnector);
}

/// The `rabbitmq` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct RabbitConnector;

impl Connector for RabbitConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "RabbitMQ").with(SpecPart::config::<config::RabbitSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            // AMQP cannot grant permissions; the plan is run with rabbitmqctl or the management API.
            permissions_apply: false,
            // AMQP has no read-only session: toolkit refuses writes, and the permission plan
            // (`write: "^$"`) is what makes the server refuse them.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user, vhost) = match RabbitConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.username, cfg.vhost),
            Err(errs) => (errs, config::GUEST.to_owned(), "/".to_owned()),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = PermissionsPlan::from_spec(p, &user, &vhost, spec.read_only)
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
                    "description": "publish a message, get messages from a queue (requeued unless ack is true), or read a queue's message and consumer counts",
                    "enum": ["publish", "get", "queue_info"]
                },
                "queue": {"type": "string", "description": "The queue (get, queue_info)"},
                "count": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Messages to get; 1 by default"},
                "ack": {"type": "boolean", "description": "Acknowledge (consume) the messages got; false by default, which requeues them"},
                "exchange": {"type": "string", "description": "The exchange to publish to; the default exchange when omitted"},
                "routing_key": {"type": "string", "description": "The routing key; on the default exchange, the queue name"},
                "body": {"description": "The message body: a string, {\"$base64\": \"...\"} for bytes, or any JSON value (sent as JSON text)"},
                "headers": {"type": "object", "description": "Message headers"},
                "content_type": {"type": "string"},
                "message_id": {"type": "string"},
                "persistent": {"type": "boolean", "description": "Delivery mode 2 (persistent)"}
            },
            "required": ["operation"],
            "additionalProperties": false
        }))
    }

    /// No bastion pod: RabbitMQ's own command-line tools (`rabbitmqadmin`, `rabbitmqctl`) talk to
    /// the management HTTP API or to the Erlang node, not to the AMQP port a tool declares, and
    /// no maintained image carries an AMQP command-line client; `tool connect` says so and runs
    /// nothing. Local sessions (`AMQP_URL`, `exec` of the tool's operations) are unaffected.
    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        let _ = spec;
        None
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = RabbitConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build rabbitmq tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(RabbitTool {
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
        }))
    }
}

/// One rabbitmq tool: its lazily made connection and settings.
pub(crate) struct RabbitTool {
    conn: Arc<Connection>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl RabbitTool {
    fn permissions_plan(&self) -> Result<PermissionsPlan> {
        let spec =
            self.permissions.as_ref().ok_or_else(|| Error::unsupported("plan permissions: none are declared"))?;
        let c = &self.conn.config;
        PermissionsPlan::from_spec(spec, &c.username, &c.vhost, self.read_only)
            .map_err(|errs| config_error("plan permissions", &errs))
    }
}

impl fmt::Debug for RabbitTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RabbitTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for RabbitTool {
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
        let amqp = self.conn.dedicated(&password).await?;
        Ok(Box::new(RabbitSession {
            conn: self.conn.clone(),
            amqp: Mutex::new(Some(amqp)),
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
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/rabbitmq.yaml");
        let catalog = Catalog::load(&[example], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert!(!catalog.tools.is_empty());
    }

    #[test]
    fn there_is_no_pod_session() {
        use toolkit_core::Connector;
        let spec = toolkit_core::ToolSpec {
            type_: "rabbitmq".into(),
            config: Some(serde_json::json!({"hostname": "mq", "username": "app"})),
            ..Default::default()
        };
        assert!(super::RabbitConnector.session_template(&spec).is_none());
    }
}
