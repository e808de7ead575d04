#![doc = include_str!("../README.md")]

mod config;
mod connect;
mod invoke;
mod probe;
mod session;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{Sqlite, SqlitePool, SqlitePoolOptions};
use tokio::sync::OnceCell;
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::validate::FieldError;
use toolkit_core::{ConnectorRegistry, Error, Request, Result, SpecPart, ToolSpec, TypeInfo, Verdict};
use toolkit_policy::SqlDialect;

pub use config::{SqliteConfig, SqliteSettings};

use connect::{check_file, classify, connect_options, open_message};
use toolkit_connector_sql::with_tool;

/// The tool type this crate serves.
pub const TYPE: &str = "sqlite";

/// Adds the sqlite connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(SqliteConnector);
}

/// The `sqlite` connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteConnector;

impl Connector for SqliteConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "An SQLite database file").with(SpecPart::config::<SqliteSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, session: true, invoke: true, read_only: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        config::validate(spec)
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        // Not a file path, which validation refuses with the text as written.
        let uri = |p: &str| p == ":memory:" || p.starts_with("sqlite:") || p.starts_with("file:");
        if let Some(c) = spec.config.as_mut()
            && !c.get("path").and_then(serde_json::Value::as_str).is_some_and(uri)
        {
            toolkit_core::config::resolve_relative_path(c, "path", dir);
        }
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(toolkit_connector_sql::invoke::input_schema())
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        Ok(Arc::new(SqliteTool::new(&ctx)?))
    }
}

/// One sqlite tool: its database file and a pool opened on first use.
pub struct SqliteTool {
    config: SqliteConfig,
    /// The file, made absolute when the tool was built.
    path: PathBuf,
    read_only: bool,
    qualified_name: String,
    pool: OnceCell<SqlitePool>,
}

impl fmt::Debug for SqliteTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTool")
            .field("tool", &self.qualified_name)
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl SqliteTool {
    /// Validates the spec of `ctx` and resolves a relative `path` against the current directory;
    /// nothing is opened until first use.
    pub fn new(ctx: &BuildContext) -> Result<Self> {
        let qualified_name = ctx.qualified_name();
        let config = SqliteConfig::from_spec(ctx.spec()).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
            Error::config("build sqlite tool").with_context("tool", &qualified_name).with_source(text.join("; "))
        })?;
        let cwd = std::env::current_dir().map_err(|e| {
            Error::config("resolve the sqlite path against the current directory")
                .with_context("tool", &qualified_name)
                .with_source(e)
        })?;
        Ok(Self {
            path: config.absolute_path(&cwd),
            config,
            read_only: ctx.spec().read_only,
            qualified_name,
            pool: OnceCell::new(),
        })
    }

    /// `namespace/name` of the tool.
    pub fn qualified_name(&self) -> &str {
        &self.qualified_name
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    async fn pool(&self) -> Result<&SqlitePool> {
        self.pool
            .get_or_try_init(|| async {
                check_file(&self.path).await?;
                let options = connect_options(&self.path, self.read_only, self.config.connect_timeout);
                Ok::<_, Error>(
                    SqlitePoolOptions::new()
                        .max_connections(self.config.max_connections)
                        .acquire_timeout(self.config.connect_timeout)
                        // A call cut short by its timeout leaves its progress handler behind.
                        .after_release(|conn, _| {
                            Box::pin(async move {
                                if let Ok(mut handle) = conn.lock_handle().await {
                                    handle.remove_progress_handler();
                                }
                                Ok(true)
                            })
                        })
                        .connect_lazy_with(options),
                )
            })
            .await
            .map_err(|e| with_tool(e, &self.qualified_name))
    }

    async fn acquire(&self) -> Result<PoolConnection<Sqlite>> {
        self.pool()
            .await?
            .acquire()
            .await
            .map_err(|e| classify(e, open_message(&self.path)).with_context("tool", &self.qualified_name))
    }
}

#[async_trait]
impl ToolInstance for SqliteTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        toolkit_connector_sql::classify(SqlDialect::Sqlite, request)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(session::SqliteSession::open(self).await?))
    }

    async fn shutdown(&self) {
        if let Some(pool) = self.pool.get() {
            pool.close().await;
        }
    }
}
