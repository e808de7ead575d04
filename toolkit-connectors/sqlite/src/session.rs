//! Sessions: a dedicated connection plus the environment and command line of `sqlite3`.
//!
//! `exec` joins its words with spaces into one SQL text and runs it as a call does. A connection
//! interrupted by a timeout is dropped and the next `exec` opens a fresh one.

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::SqliteTool;
use toolkit_connector_sql::with_tool;

use crate::connect::{check_file, classify, connect_options, open_message};
use crate::invoke::{self, timed_out};

/// An open sqlite session.
pub(crate) struct SqliteSession {
    tool: String,
    path: PathBuf,
    read_only: bool,
    options: SqliteConnectOptions,
    conn: Mutex<Option<SqliteConnection>>,
}

impl fmt::Debug for SqliteSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteSession")
            .field("tool", &self.tool)
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl SqliteSession {
    /// Opens the file now, so a session that opens is known to work.
    pub(crate) async fn open(tool: &SqliteTool) -> Result<Self> {
        let tag = |e: Error| with_tool(e, tool.qualified_name());
        check_file(&tool.path).await.map_err(tag)?;
        let options = connect_options(&tool.path, tool.read_only, tool.config.connect_timeout);
        let session = Self {
            tool: tool.qualified_name().to_owned(),
            path: tool.path.clone(),
            read_only: tool.read_only,
            options,
            conn: Mutex::new(None),
        };
        let conn = session.connect().await.map_err(tag)?;
        *session.conn.lock().await = Some(conn);
        Ok(session)
    }

    async fn connect(&self) -> Result<SqliteConnection> {
        SqliteConnection::connect_with(&self.options).await.map_err(|e| classify(e, open_message(&self.path)))
    }

    async fn run(&self, sql: &str, limits: &CallLimits) -> Result<InvokeOutput> {
        let mut slot = self.conn.lock().await;
        // Taken out while in use: if this future is dropped half-way, the connection goes with it.
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let result = invoke::run(&mut conn, sql, limits).await;
        *slot = Some(conn);
        result
    }
}

#[async_trait]
impl Session for SqliteSession {
    fn env(&self) -> Vec<EnvEntry> {
        vec![EnvEntry::plain("SQLITE_DB", self.path.display().to_string())]
    }

    fn client(&self) -> Option<Vec<String>> {
        let mut argv = vec!["sqlite3".to_owned()];
        if self.read_only {
            argv.push("-readonly".to_owned());
        }
        argv.push(self.path.display().to_string());
        Some(argv)
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(
                Error::invalid_input("run query on sqlite: the command is empty").with_context("tool", &self.tool)
            );
        }
        let result = tokio::time::timeout(limits.timeout, self.run(&sql, limits))
            .await
            .unwrap_or_else(|_| Err(timed_out(limits.timeout)));
        result.map_err(|e| with_tool(e, &self.tool))
    }

    async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}
