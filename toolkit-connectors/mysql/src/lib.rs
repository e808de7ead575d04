#![doc = include_str!("../README.md")]

mod config;
mod connect;
mod invoke;
mod permissions;
mod probe;
mod session;
mod value;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use toolkit_connector_sql::ServerTool;
use toolkit_connector_sql::config::build_error;
use toolkit_connector_sql::tool::SERVER_CAPABILITIES;
use toolkit_core::connector::{
    BuildContext, Capabilities, Connector, Invoker, PermissionProvisioner, Probe, Session, ToolInstance,
};
use toolkit_core::validate::FieldError;
use toolkit_core::{ConnectorRegistry, Reference, Request, Result, ToolSpec, TypeInfo, Verdict};
use toolkit_policy::SqlDialect;

pub use config::{MysqlConfig, Username};

use invoke::Mysql;

/// The tool type this crate serves.
pub const TYPE: &str = "mysql";

/// Adds the mysql connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(MysqlConnector);
}

/// The `mysql` connector (MySQL and MariaDB).
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlConnector;

impl Connector for MysqlConnector {
    fn info(&self) -> TypeInfo {
        toolkit_connector_sql::server_type(TYPE, "MySQL and MariaDB")
    }

    fn capabilities(&self) -> Capabilities {
        SERVER_CAPABILITIES
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        config::validate(spec)
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_connector_sql::server_references(spec)
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        toolkit_connector_sql::resolve_server_paths(spec, dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(toolkit_connector_sql::invoke::input_schema())
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        config::from_spec(spec).ok().map(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        Ok(Arc::new(MysqlTool::new(ctx)?))
    }
}

/// One mysql tool: its settings and a connection pool opened on first use.
#[derive(Debug)]
pub struct MysqlTool {
    server: ServerTool<Mysql>,
}

impl MysqlTool {
    /// Validates the spec of `ctx` and prepares the tool; nothing connects until first use.
    pub fn new(ctx: BuildContext) -> Result<Self> {
        let config =
            config::from_spec(ctx.spec()).map_err(|errs| build_error("mysql", &ctx.qualified_name(), &errs))?;
        Ok(Self { server: ServerTool::new(&ctx, TYPE, SqlDialect::MySql, config) })
    }

    /// `namespace/name` of the tool.
    pub fn qualified_name(&self) -> &str {
        &self.server.qualified_name
    }
}

#[async_trait]
impl ToolInstance for MysqlTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        Some(self)
    }

    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        self.server.classify(request)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(session::open(self).await?))
    }

    async fn shutdown(&self) {
        self.server.shutdown().await;
    }
}
