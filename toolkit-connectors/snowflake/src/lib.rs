#![doc = include_str!("../README.md")]

mod api;
mod auth;
mod config;
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

pub use auth::JwtClaims;
pub use config::{DEFAULT_CONNECT_TIMEOUT, SnowflakeConfig, SnowflakeSettings};

use api::Api;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "snowflake";

/// Adds the snowflake connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(SnowflakeConnector);
}

/// The `snowflake` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnowflakeConnector;

impl Connector for SnowflakeConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Snowflake").with(SpecPart::config::<config::SnowflakeSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: false,
            // Snowflake has no read-only session or transaction; only the role limits writes.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, role) = match SnowflakeConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.role),
            Err(errs) => (errs, spec.config.as_ref().and_then(|c| c.get("role")?.as_str().map(str::to_owned))),
        };
        if let Some(p) = &spec.permissions {
            errs.extend(permissions::validate(p, role.as_deref()));
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["credentialsRef"])
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(invoke::input_schema())
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = SnowflakeConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build snowflake tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(SnowflakeTool {
            api: Arc::new(Api::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
        }))
    }
}

/// One snowflake tool: its settings and the API client made on first use.
pub(crate) struct SnowflakeTool {
    api: Arc<Api>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for SnowflakeTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnowflakeTool")
            .field("config", &self.api.config)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ToolInstance for SnowflakeTool {
    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::sql::classify(toolkit_policy::SqlDialect::Snowflake, &request.text("query")))
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
        Ok(Box::new(session::SnowflakeSession::open(self).await?))
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
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tools/snowflake.yaml"));
        let catalog = toolkit_core::Catalog::load(&[path], &registry).expect("the example loads");
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
    }
}
