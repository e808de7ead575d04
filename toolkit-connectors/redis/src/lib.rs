#![doc = include_str!("../README.md")]

mod command;
mod config;
mod connection;
mod invoke;
mod permissions;
mod probe;
mod reply;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, RedisConfig, RedisSettings};
pub use permissions::{AclPlan, AclRule};

use command::ReadOnlyGuard;
use connection::Connection;
use session::RedisSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "redis";

/// Adds the redis connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(RedisConnector);
}

/// The `redis` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedisConnector;

impl Connector for RedisConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Redis").with(SpecPart::config::<config::RedisSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: true,
            read_only: true,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user) = match RedisConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.username),
            Err(errs) => (errs, None),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = AclPlan::from_spec(p, user.as_deref())
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
                "command": {
                    "description": "The redis command: an argument list such as [\"HGETALL\", \"user:1\"], or one line such as \"GET user:1\"",
                    "oneOf": [
                        {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        {"type": "string", "minLength": 1}
                    ]
                }
            },
            "required": ["command"],
            "additionalProperties": false
        }))
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        RedisConfig::from_spec(spec).ok().map(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = RedisConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build redis tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(RedisTool {
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            guard: Arc::new(ReadOnlyGuard::default()),
            conn: Connection::new(config, ctx.namespace.clone(), ctx.secrets.clone()),
        }))
    }
}

/// One redis tool: its lazily made connection and what it learned about commands.
pub(crate) struct RedisTool {
    conn: Connection,
    guard: Arc<ReadOnlyGuard>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
}

impl fmt::Debug for RedisTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTool").field("conn", &self.conn).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for RedisTool {
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
        let (conn, password) = self.conn.dedicated().await?;
        Ok(Box::new(RedisSession {
            conn: Mutex::new(Some(conn)),
            password,
            url: self.conn.config.public_url(),
            guard: self.guard.clone(),
            read_only: self.read_only,
        }))
    }
}
