#![doc = include_str!("../README.md")]

mod config;
mod permissions;
mod probe;
mod session;
mod tls;
pub mod tns;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::secret::SecretResolver;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{
    ConnectorRegistry, PermissionProvisioner, Reference, Request, Result, SpecPart, ToolSpec, TypeInfo, Verdict,
};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, OracleConfig, OracleSettings};
pub use session::ALIAS;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "oracle";

/// Adds the oracle connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(OracleConnector);
}

/// The `oracle` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct OracleConnector;

impl Connector for OracleConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Oracle Database").with(SpecPart::config::<config::OracleSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            // Every Rust Oracle driver needs Oracle's client libraries.
            invoke: false,
            permissions_plan: true,
            permissions_apply: false,
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = OracleConfig::from_spec(spec).err().unwrap_or_default();
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

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = OracleConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build oracle tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(OracleTool {
            config,
            namespace: ctx.namespace.clone(),
            secrets: ctx.secrets.clone(),
            permissions: spec.permissions.clone(),
        }))
    }
}

/// One oracle tool: its settings; the password is resolved when a session opens.
pub(crate) struct OracleTool {
    config: OracleConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for OracleTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OracleTool").field("config", &self.config).finish_non_exhaustive()
    }
}

#[async_trait]
impl ToolInstance for OracleTool {
    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::sql::classify(toolkit_policy::SqlDialect::Oracle, &request.text("query")))
    }

    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        self.permissions.is_some().then_some(self as &dyn PermissionProvisioner)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(session::OracleSession::open(self).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = ConnectorRegistry::new();
        register(&mut registry);
        let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tools/oracle.yaml"));
        let catalog = toolkit_core::Catalog::load(&[path], &registry).expect("the example loads");
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
    }
}
