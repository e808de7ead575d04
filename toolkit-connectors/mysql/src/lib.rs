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
use sqlx::mysql::{MySql, MySqlPool};
use sqlx::pool::PoolConnection;
use tokio::sync::OnceCell;
use toolkit_connector_sql::config::build_error;
use toolkit_connector_sql::connect::{check_ca_file, connect_message};
use toolkit_connector_sql::{Credentials, Phase, with_tool};
use toolkit_core::connector::{
    BuildContext, Capabilities, Connector, Invoker, PermissionProvisioner, Probe, Session, ToolInstance,
};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::FieldError;
use toolkit_core::{ConnectorRegistry, Result, SecretResolver, ToolSpec, ToolType};

pub use config::{MysqlConfig, Username};

use connect::classify;

/// The tool type this crate serves.
pub const TOOL_TYPE: ToolType = ToolType::Mysql;

/// Adds the mysql connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(MysqlConnector);
}

/// The `mysql` connector (MySQL and MariaDB).
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlConnector;

impl Connector for MysqlConnector {
    fn tool_type(&self) -> ToolType {
        TOOL_TYPE
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
        config::validate(spec)
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(toolkit_connector_sql::invoke::input_schema())
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        Ok(Arc::new(MysqlTool::new(ctx)?))
    }
}

/// One mysql tool: its settings and a connection pool opened on first use.
pub struct MysqlTool {
    config: MysqlConfig,
    namespace: String,
    qualified_name: String,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
    secrets: Arc<dyn SecretResolver>,
    pool: OnceCell<Pooled>,
}

/// The pool and the user it connects as (resolved once, with the password).
struct Pooled {
    pool: MySqlPool,
    username: String,
}

impl fmt::Debug for MysqlTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlTool")
            .field("tool", &self.qualified_name)
            .field("address", &self.config.address())
            .field("database", &self.config.database)
            .field("read_only", &self.read_only)
            .field("connected", &self.pool.initialized())
            .finish_non_exhaustive()
    }
}

impl MysqlTool {
    /// Validates the spec of `ctx` and prepares the tool; nothing connects until first use.
    pub fn new(ctx: BuildContext) -> Result<Self> {
        let qualified_name = ctx.qualified_name();
        let spec = ctx.spec();
        let config = config::from_spec(spec).map_err(|errs| build_error("mysql", &qualified_name, &errs))?;
        Ok(Self {
            config,
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            namespace: ctx.namespace.clone(),
            qualified_name,
            secrets: ctx.secrets.clone(),
            pool: OnceCell::new(),
        })
    }

    /// `namespace/name` of the tool.
    pub fn qualified_name(&self) -> &str {
        &self.qualified_name
    }

    /// The user name, read from its Secret when it has one.
    async fn username(&self) -> Result<String> {
        self.config.username(self.secrets.as_ref(), &self.namespace, &self.qualified_name).await
    }

    /// User and password, resolved now.
    async fn credentials(&self) -> Result<Credentials> {
        self.config.credentials(self.secrets.as_ref(), &self.namespace, &self.qualified_name).await
    }

    /// "connect to mysql at HOST:PORT as user `USER`".
    fn connect_message(&self, username: &str) -> String {
        connect_message("mysql", &self.config.address(), username)
    }

    fn connect_phase(&self) -> Phase {
        Phase::Connect { tls: self.config.may_use_tls() }
    }

    /// The pool, created on first use with the credentials resolved at that moment.
    async fn pooled(&self) -> Result<&Pooled> {
        self.pool
            .get_or_try_init(|| async {
                let creds = self.credentials().await?;
                check_ca_file(self.config.ca_file.as_deref()).map_err(|e| with_tool(e, &self.qualified_name))?;
                let pool = self.config.lazy_pool(connect::connect_options(&self.config, &creds));
                Ok(Pooled { pool, username: creds.username })
            })
            .await
    }

    /// A handle of the pool (cheap to clone).
    async fn pool(&self) -> Result<MySqlPool> {
        Ok(self.pooled().await?.pool.clone())
    }

    /// A pooled connection, opening one if needed.
    async fn acquire(&self) -> Result<PoolConnection<MySql>> {
        let pooled = self.pooled().await?;
        pooled.pool.acquire().await.map_err(|e| {
            classify(e, self.connect_phase(), self.connect_message(&pooled.username))
                .with_context("tool", &self.qualified_name)
        })
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

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(session::open(self).await?))
    }

    async fn shutdown(&self) {
        if let Some(pooled) = self.pool.get() {
            pooled.pool.close().await;
        }
    }
}
