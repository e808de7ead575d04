//! Sessions: a dedicated connection plus the environment the `mysql` client reads.
//!
//! `exec` joins its words with spaces into one SQL statement and runs it exactly as a call does
//! (own transaction, read-only when the tool is, same caps). A connection left mid-result or
//! interrupted by a timeout is dropped and the next `exec` opens a fresh one.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, ErrorKind, Result};

use crate::MysqlTool;
use crate::connect::{self, Phase, classify, with_tool};
use crate::invoke::{self, timed_out};

/// An open mysql session.
pub(crate) struct MysqlSession {
    tool: String,
    env: Vec<EnvEntry>,
    read_only: bool,
    database: String,
    /// Holds the password: used to reconnect, never printed.
    options: MySqlConnectOptions,
    phase: Phase,
    connect_message: String,
    connect_timeout: Duration,
    conn: Mutex<Option<MySqlConnection>>,
}

impl fmt::Debug for MysqlSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlSession")
            .field("tool", &self.tool)
            .field("env", &self.env)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl MysqlSession {
    /// Connects now, so a session that opens is known to work.
    pub(crate) async fn open(tool: &MysqlTool) -> Result<Self> {
        let (conn, creds) = tool.connect_once().await?;
        let config = &tool.config;
        // The client reads MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER; MYSQL_DATABASE is
        // for scripts (the client takes the database as an argument).
        let mut env = vec![
            EnvEntry::plain("MYSQL_HOST", &config.hostname),
            EnvEntry::plain("MYSQL_TCP_PORT", config.port.to_string()),
            EnvEntry::plain("USER", &creds.username),
            EnvEntry::plain("MYSQL_DATABASE", &config.database),
        ];
        if let Some(password) = &creds.password {
            env.push(EnvEntry::secret("MYSQL_PWD", password.clone()));
        }
        Ok(Self {
            tool: tool.qualified_name().to_owned(),
            env,
            read_only: tool.read_only,
            database: config.database.clone(),
            options: connect::connect_options(config, &creds),
            phase: tool.connect_phase(),
            connect_message: tool.connect_message(&creds.username),
            connect_timeout: config.connect_timeout,
            conn: Mutex::new(Some(conn)),
        })
    }

    async fn reconnect(&self) -> Result<MySqlConnection> {
        match tokio::time::timeout(self.connect_timeout, MySqlConnection::connect_with(&self.options)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(classify(e, self.phase, self.connect_message.clone())),
            Err(_) => Err(Error::new(ErrorKind::Unreachable, self.connect_message.clone())
                .with_source(format!("no answer within connectTimeout ({:?})", self.connect_timeout))),
        }
    }

    async fn run(&self, sql: &str, limits: &CallLimits) -> Result<InvokeOutput> {
        let mut slot = self.conn.lock().await;
        // Taken out while in use: if this future is dropped half-way, the connection goes with it.
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => self.reconnect().await?,
        };
        let outcome = invoke::run(&mut conn, sql, self.read_only, limits).await;
        if outcome.close_connection {
            let _ = conn.close().await;
        } else {
            *slot = Some(conn);
        }
        outcome.result
    }
}

#[async_trait]
impl Session for MysqlSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(vec!["mysql".to_owned(), self.database.clone()])
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(
                Error::invalid_input("run query on mysql: the command is empty").with_context("tool", &self.tool)
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
