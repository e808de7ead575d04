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
use toolkit_core::{
    ConnectorRegistry, PermissionProvisioner, Reference, Request, Result, SpecPart, ToolSpec, TypeInfo, Verdict,
};

pub use config::{ClickhouseConfig, ClickhouseSettings, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT};
pub use permissions::{FIRST_MAJOR_WITH_GRANTS, GrantPlan, GrantRule, PRIVILEGES};

use connection::Connection;
use session::ClickhouseSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "clickhouse";

/// Adds the clickhouse connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(ClickhouseConnector);
}

/// The `clickhouse` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClickhouseConnector;

impl Connector for ClickhouseConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "ClickHouse").with(SpecPart::config::<config::ClickhouseSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            // On servers with SQL access control (20.x and later); 18.x answers `unsupported`.
            permissions_apply: true,
            read_only: true,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user) = match ClickhouseConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.user().to_owned()),
            Err(errs) => (errs, "default".to_owned()),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = GrantPlan::from_spec(p, &user)
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
                "sql": {"type": "string", "minLength": 1, "description": "One ClickHouse SQL statement, without a FORMAT clause"},
                "params": {
                    "type": "array",
                    "description": "Values for the `?` placeholders of `sql`, in order; escaped by the client",
                    "items": {}
                }
            },
            "required": ["sql"],
            "additionalProperties": false
        }))
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        ClickhouseConfig::from_spec(spec).ok().map(|c| session::template(&c, spec.read_only))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = ClickhouseConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build clickhouse tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(ClickhouseTool {
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
        }))
    }
}

/// One clickhouse tool: its lazily made client and settings.
#[derive(Clone)]
pub(crate) struct ClickhouseTool {
    conn: Arc<Connection>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for ClickhouseTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickhouseTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for ClickhouseTool {
    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::sql::classify(toolkit_policy::SqlDialect::ClickHouse, &request.text("query")))
    }

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
        // A session proves it can reach the server before handing out its env.
        let checked = self.server_version().await;
        self.conn.checked(checked).await?;
        let password = self.conn.password().await?;
        Ok(Box::new(ClickhouseSession { tool: self.clone(), password, closed: Default::default() }))
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
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/clickhouse.yaml");
        let catalog = Catalog::load(&[file], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert_eq!(catalog.tools.len(), 1);
    }

    #[test]
    fn an_invalid_spec_has_no_pod_session() {
        use toolkit_core::Connector;
        let spec = |c| toolkit_core::ToolSpec { type_: "clickhouse".into(), config: c, ..Default::default() };
        assert!(super::ClickhouseConnector.session_template(&spec(None)).is_none());
        assert!(super::ClickhouseConnector.session_template(&spec(Some(serde_json::json!({"port": 8123})))).is_none());
        let ok = serde_json::json!({"hostname": "ch"});
        assert!(super::ClickhouseConnector.session_template(&spec(Some(ok))).is_some());
    }
}
