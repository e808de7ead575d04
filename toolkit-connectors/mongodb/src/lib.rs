#![doc = include_str!("../README.md")]

mod config;
mod connection;
mod invoke;
mod permissions;
mod probe;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, MongoConfig, MongoSettings, Target};
pub use invoke::Operation;
pub use permissions::{PrivilegeRule, ROLE_DB, RolePlan, command_json};

use connection::Connection;
use session::{MongoSession, client_uri};

/// The `spec.type` this crate serves.
pub const TYPE: &str = "mongodb";

/// Adds the mongodb connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(MongoConnector);
}

/// The `mongodb` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct MongoConnector;

impl Connector for MongoConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "MongoDB").with(SpecPart::config::<config::MongoSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: true,
            // MongoDB has no read-only session: `readOnly` is kept by toolkit's operation
            // allow-list, and at the engine only by a user with read-only roles.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user, user_db) = match MongoConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.username, cfg.auth_source),
            Err(errs) => (errs, None, "admin".to_owned()),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = RolePlan::from_spec(p, user.as_deref(), &user_db)
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
        let operations: Vec<&str> = Operation::ALL.iter().map(|(n, _)| *n).collect();
        let object = |description: &str| json!({"type": "object", "description": description});
        Some(json!({
            "type": "object",
            "properties": {
                "operation": {
                    "type": "string",
                    "enum": operations,
                    "description": "find, aggregate or count; the writes only on tools that are not read-only"
                },
                "collection": {"type": "string", "minLength": 1, "description": "The collection"},
                "database": {"type": "string", "minLength": 1, "description": "The database; only needed, and only allowed to differ, when the tool sets no databaseName"},
                "filter": object("Query filter (extended JSON accepted), e.g. {\"status\": \"open\"}; required by updates and deletes ({} for all)"),
                "projection": object("Fields to return (find)"),
                "sort": object("Sort order, e.g. {\"createdAt\": -1} (find)"),
                "skip": {"type": "integer", "minimum": 0, "description": "Documents to skip (find)"},
                "limit": {"type": "integer", "minimum": 0, "description": "Documents to return at most (find); the tool's row cap applies too"},
                "pipeline": {"type": "array", "items": {"type": "object"}, "description": "Aggregation stages (aggregate)"},
                "document": object("The document to insert (insertOne)"),
                "documents": {"type": "array", "items": {"type": "object"}, "minItems": 1, "description": "The documents to insert (insertMany)"},
                "update": {
                    "description": "Update operators, or an update pipeline (updateOne, updateMany)",
                    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]
                },
                "upsert": {"type": "boolean", "description": "Insert when nothing matches (updateOne, updateMany)"}
            },
            "required": ["operation", "collection"],
            "additionalProperties": false
        }))
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        MongoConfig::from_spec(spec).ok().map(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = MongoConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build mongodb tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(MongoTool {
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
        }))
    }
}

/// One mongodb tool: its lazily made client and what it may do. Cheap to clone.
#[derive(Clone)]
pub(crate) struct MongoTool {
    conn: Arc<Connection>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for MongoTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for MongoTool {
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
        let (_, password) = self.conn.client().await?;
        let config = &self.conn.config;
        Ok(Box::new(MongoSession {
            tool: self.clone(),
            uri: client_uri(config, None),
            uri_with_password: password
                .map(|p| toolkit_core::secret::SecretString::new(client_uri(config, Some(p.expose())))),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = toolkit_core::ConnectorRegistry::new();
        super::register(&mut registry);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/mongodb.yaml");
        let catalog = toolkit_core::Catalog::load(&[root], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert!(catalog.tools.len() >= 2, "{problems:#?}");
    }

    #[test]
    fn an_invalid_spec_has_no_pod_session() {
        use toolkit_core::Connector;
        let spec = |c| toolkit_core::ToolSpec { type_: "mongodb".into(), config: c, ..Default::default() };
        assert!(super::MongoConnector.session_template(&spec(None)).is_none());
        let with_password = serde_json::json!({"uri": "mongodb://u:pw@h"});
        assert!(super::MongoConnector.session_template(&spec(Some(with_password))).is_none());
        let ok = serde_json::json!({"hostname": "h"});
        assert!(super::MongoConnector.session_template(&spec(Some(ok))).is_some());
    }
}
