#![doc = include_str!("../README.md")]

mod config;
mod probe;
mod run;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use toolkit_core::connector::{
    BuildContext, Capabilities, Connector, EnvEntry, EnvTemplate, Probe, Session, ToolInstance,
};
use toolkit_core::secret::SecretResolver;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{Check, CustomConfig, CustomSettings, DEFAULT_CONNECT_TIMEOUT};

use session::CustomSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "custom";

/// Adds the custom connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(CustomConnector);
}

/// The `custom` type: a system toolkit has no driver for, described by its manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomConnector;

impl Connector for CustomConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Any other system, described by its manifest")
            .with(SpecPart::config::<config::CustomSettings>(false))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Only for tools that set `spec.config.check`; the others have no probe.
            probe: true,
            session: true,
            invoke: false,
            permissions_plan: false,
            permissions_apply: false,
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = CustomConfig::from_spec(spec).err().unwrap_or_default();
        if spec.permissions.is_some() {
            errs.push(FieldError::new("spec.permissions", "custom tools have no engine permissions to plan or apply"));
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["credentialsRef"])
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        let config = CustomConfig::from_spec(spec).ok()?;
        // A custom tool's pod runs its own image, with a shell.
        Some(toolkit_core::SessionTemplate {
            image: config.image.clone()?,
            client: vec!["/bin/sh".to_owned()],
            env: env_template(&config),
            // A command runs as given.
            exec: toolkit_core::ExecForm::default(),
            service_account: config.service_account_name.clone(),
            namespace: None,
        })
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let config = CustomConfig::from_spec(ctx.spec())
            .map_err(|errs| config_error(format_args!("build custom tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(CustomTool {
            config,
            read_only: ctx.spec().read_only,
            namespace: ctx.namespace.clone(),
            secrets: ctx.secrets.clone(),
        }))
    }
}

/// One custom tool: its settings and where its credential comes from.
pub(crate) struct CustomTool {
    config: CustomConfig,
    read_only: bool,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
}

impl fmt::Debug for CustomTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomTool")
            .field("host", &self.config.host)
            .field("check", &self.config.check)
            .finish_non_exhaustive()
    }
}

/// The manifest's `env`, then `TOOLKIT_HOST`, `TOOLKIT_PORT`, `TOOLKIT_USER` where set and the
/// credential as the secret `TOOLKIT_PASSWORD`.
fn env_template(c: &CustomConfig) -> Vec<EnvTemplate> {
    let mut env: Vec<EnvTemplate> = c.env.iter().map(|(k, v)| EnvTemplate::value(k, v.clone())).collect();
    if let Some(h) = &c.host {
        env.push(EnvTemplate::value("TOOLKIT_HOST", h.clone()));
    }
    if let Some(p) = c.port {
        env.push(EnvTemplate::value("TOOLKIT_PORT", p.to_string()));
    }
    if let Some(u) = &c.username {
        env.push(EnvTemplate::value("TOOLKIT_USER", u.clone()));
    }
    if let Some(sel) = &c.credentials_ref {
        env.push(EnvTemplate::secret("TOOLKIT_PASSWORD", sel));
    }
    env
}

impl CustomTool {
    /// The session's environment, the credential resolved now.
    async fn env(&self) -> Result<Vec<EnvEntry>> {
        EnvTemplate::resolve_all(&env_template(&self.config), self.secrets.as_ref(), &self.namespace).await
    }
}

#[async_trait]
impl ToolInstance for CustomTool {
    fn probe(&self) -> Option<&dyn Probe> {
        self.config.check.is_some().then_some(self as &dyn Probe)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(CustomSession { env: self.env().await?, read_only: self.read_only }))
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
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/custom.yaml");
        let catalog = Catalog::load(&[example], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert_eq!(catalog.tools.len(), 3);
    }
}
