#![doc = include_str!("../README.md")]

mod config;
mod connection;
mod exec;
mod invoke;
mod probe;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Reference, Request, Result, SpecPart, ToolSpec, TypeInfo, Verdict};

pub use config::{Auth, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, SshConfig, SshSettings};
pub use session::{Forward, SshSession};

use connection::Connection;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "ssh";

/// Adds the ssh connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(SshConnector);
}

/// The `ssh` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct SshConnector;

impl SshConnector {
    /// Builds the typed instance of one tool (what [`Connector::build`] returns as a trait
    /// object), for callers that need [`SshTool::open_ssh_session`] and its port forwarding.
    pub fn build_tool(&self, ctx: BuildContext) -> Result<Arc<SshTool>> {
        let spec = ctx.spec();
        let config = SshConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build ssh tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(SshTool {
            read_only: spec.read_only,
            conn: Arc::new(Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
        }))
    }
}

impl Connector for SshConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo {
            approval_by_default: true,
            ..TypeInfo::new(TYPE, "A host reached over SSH").with(SpecPart::config::<config::SshSettings>(true))
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            // A shell account has no grants toolkit could plan.
            permissions_plan: false,
            permissions_apply: false,
            // `readOnly` is enforced by toolkit's shell classifier; the server cannot tell.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let mut errs = SshConfig::from_spec(spec).err().unwrap_or_default();
        if spec.permissions.is_some() {
            errs.push(FieldError::new("spec.permissions", "ssh tools have no engine permissions to plan or apply"));
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["credentialsRef", "sshKey"])
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        toolkit_core::config::resolve_config_paths(spec, &["knownHostsFile"], dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(invoke::input_schema())
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        SshConfig::from_spec(spec).ok().and_then(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        Ok(self.build_tool(ctx)?)
    }
}

/// One ssh tool: its lazily made, shared connection.
pub struct SshTool {
    conn: Arc<Connection>,
    read_only: bool,
}

impl fmt::Debug for SshTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

impl SshTool {
    /// Opens a session with a connection of its own; unlike [`ToolInstance::open_session`] it
    /// returns the concrete type, which can also forward ports.
    pub async fn open_ssh_session(&self) -> Result<SshSession> {
        SshSession::open(self.conn.clone(), self.read_only).await
    }
}

#[async_trait]
impl ToolInstance for SshTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        Some(toolkit_policy::classify(toolkit_policy::CommandKind::Shell, &request.text("command")))
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.open_ssh_session().await?))
    }

    async fn shutdown(&self) {
        self.conn.shutdown().await;
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
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/ssh.yaml");
        let catalog = Catalog::load(&[example], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert_eq!(catalog.tools.len(), 2);
    }

    #[test]
    fn an_invalid_spec_has_no_pod_session() {
        use toolkit_core::Connector;
        let spec = |c| toolkit_core::ToolSpec { type_: "ssh".into(), config: c, ..Default::default() };
        assert!(super::SshConnector.session_template(&spec(None)).is_none());
        // No host key to check: refused, not trusted on first use.
        let unpinned = serde_json::json!({"hostname": "h", "username": "u", "sshKey": {"name": "k", "key": "id"}});
        assert!(super::SshConnector.session_template(&spec(Some(unpinned))).is_none());
        let ok = serde_json::json!({
            "hostname": "h", "username": "u", "sshKey": {"name": "k", "key": "id"},
            "hostKeyFingerprint": "SHA256:nD3cQUusYU2vNGN53hRMgXOICbkP3Bo2WPWGToMTRZo"
        });
        assert!(super::SshConnector.session_template(&spec(Some(ok))).is_some());
    }
}
