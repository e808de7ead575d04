#![doc = include_str!("../README.md")]

mod config;
mod connect;
mod flavor;
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

pub use config::{PgConfig, Username};
pub use flavor::PostgresFlavor;

use invoke::Postgres;

/// The tool type this crate serves (besides the flavors behind their features).
pub const TYPE: &str = "postgres";

/// Adds the postgres connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(PostgresConnector::new(PostgresFlavor::Postgres));
}

/// Adds the cockroachdb connector (postgres wire protocol) to `registry`.
#[cfg(feature = "cockroachdb")]
pub fn register_cockroachdb(registry: &mut ConnectorRegistry) {
    registry.register(PostgresConnector::new(PostgresFlavor::Cockroachdb));
}

/// Adds the redshift connector (postgres wire protocol) to `registry`.
#[cfg(feature = "redshift")]
pub fn register_redshift(registry: &mut ConnectorRegistry) {
    registry.register(PostgresConnector::new(PostgresFlavor::Redshift));
}

/// The connector of one engine speaking the postgres wire protocol (`postgres` by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresConnector {
    flavor: PostgresFlavor,
}

impl PostgresConnector {
    /// The connector serving `flavor`'s tool type.
    pub fn new(flavor: PostgresFlavor) -> Self {
        Self { flavor }
    }
}

impl Connector for PostgresConnector {
    fn info(&self) -> TypeInfo {
        toolkit_connector_sql::server_type(self.flavor.name(), self.flavor.summary())
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
        Ok(Arc::new(PostgresTool::new(ctx)?))
    }
}

/// One postgres (or cockroachdb, redshift) tool: its settings and a connection pool opened on
/// first use.
#[derive(Debug)]
pub struct PostgresTool {
    flavor: PostgresFlavor,
    server: ServerTool<Postgres>,
}

impl PostgresTool {
    /// Validates the spec of `ctx` and prepares the tool; nothing connects until first use.
    pub fn new(ctx: BuildContext) -> Result<Self> {
        let flavor = PostgresFlavor::from_type_name(&ctx.spec().type_);
        let config =
            config::from_spec(ctx.spec()).map_err(|errs| build_error(flavor.name(), &ctx.qualified_name(), &errs))?;
        Ok(Self { flavor, server: ServerTool::new(&ctx, flavor.name(), flavor.dialect(), config) })
    }

    /// `namespace/name` of the tool.
    pub fn qualified_name(&self) -> &str {
        &self.server.qualified_name
    }
}

#[async_trait]
impl ToolInstance for PostgresTool {
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
