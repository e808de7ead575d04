#![doc = include_str!("../README.md")]

mod config;
mod connect;
mod invoke;
mod permissions;
mod probe;
mod session;
mod value;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{
    ConnectorRegistry, PermissionProvisioner, Reference, Request, Result, SpecPart, ToolSpec, TypeInfo, Verdict,
};

pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT, SqlServerConfig, SqlserverSettings, Tls,
};
pub use connect::server_error_kind;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "sqlserver";

/// Adds the sqlserver connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(SqlServerConnector);
}

/// The `sqlserver` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlServerConnector;

impl Connector for SqlServerConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Microsoft SQL Server").with(SpecPart::config::<config::SqlserverSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: false,
            // Writes of a read-only tool run in a transaction the engine always rolls back.
            read_only: true,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = SqlServerConfig::from_spec(spec).err().unwrap_or_default();
        if let Some(p) = &spec.permissions {
            let user = spec.config.as_ref().and_then(|c| c.get("username")?.as_str().map(str::to_owned));
            errs.extend(permissions::validate(p, user.as_deref()));
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
        Some(invoke::input_schema())
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = SqlServerConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build sqlserver tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(SqlServerTool {
            connector: Arc::new(connect::Connector::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
        }))
    }
}

/// One sqlserver tool: its settings; connections are opened per call.
pub(crate) struct SqlServerTool {
    connector: Arc<connect::Connector>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for SqlServerTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlServerTool")
            .field("config", &self.connector.config)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ToolInstance for SqlServerTool {
    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::sql::classify(toolkit_policy::SqlDialect::MsSql, &request.text("query")))
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
        Ok(Box::new(session::SqlServerSession::open(self).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = ConnectorRegistry::new();
        register(&mut registry);
        let path =
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tools/sqlserver.yaml"));
        let catalog = toolkit_core::Catalog::load(&[path], &registry).expect("the example loads");
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
    }
}
