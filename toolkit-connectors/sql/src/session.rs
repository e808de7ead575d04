//! Sessions of the SQL server engines: a dedicated connection plus the environment of the
//! engine's native client.
//!
//! `exec` joins its words with spaces into one SQL statement and runs it exactly as a call does
//! (own transaction, read-only when the tool is, same caps). A connection left mid-result or
//! interrupted by a timeout is dropped and the next `exec` opens a fresh one.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::connect::{Phase, connect_within, with_tool};
use crate::invoke::within;
use crate::tool::{ConnectionOf, SqlEngine};

/// What a session is opened with.
pub struct SessionSettings<E: SqlEngine> {
    /// `namespace/name` of the tool.
    pub tool: String,
    /// The engine's name in messages (the tool's type).
    pub engine: &'static str,
    /// The native client's environment (secrets as `EnvEntry::secret`).
    pub env: Vec<EnvEntry>,
    /// The native client's command line.
    pub client: Vec<String>,
    /// Whether statements run read-only.
    pub read_only: bool,
    /// Driver options to reconnect with; they hold the password and are never printed.
    pub options: <ConnectionOf<E> as Connection>::Options,
    /// How connecting fails, for messages.
    pub phase: Phase,
    /// "connect to ENGINE at HOST:PORT as user `USER`".
    pub connect_message: String,
    /// How long reconnecting may take.
    pub connect_timeout: Duration,
}

/// An open session of engine `E`.
pub struct SqlSession<E: SqlEngine> {
    settings: SessionSettings<E>,
    conn: Mutex<Option<ConnectionOf<E>>>,
}

impl<E: SqlEngine> fmt::Debug for SqlSession<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSession")
            .field("tool", &self.settings.tool)
            .field("env", &self.settings.env)
            .field("read_only", &self.settings.read_only)
            .finish_non_exhaustive()
    }
}

impl<E: SqlEngine> SqlSession<E> {
    /// A session on `conn`, an open connection (so a session that opens is known to work).
    pub fn new(settings: SessionSettings<E>, conn: ConnectionOf<E>) -> Self {
        Self { settings, conn: Mutex::new(Some(conn)) }
    }

    async fn reconnect(&self) -> Result<ConnectionOf<E>> {
        let s = &self.settings;
        connect_within::<ConnectionOf<E>>(&s.options, s.connect_timeout, &s.connect_message, |e| {
            E::classify(e, s.phase, s.connect_message.clone())
        })
        .await
    }

    async fn run(&self, sql: &str, limits: &CallLimits) -> Result<InvokeOutput> {
        let mut slot = self.conn.lock().await;
        // Taken out while in use: if this future is dropped half-way, the connection goes with it.
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => self.reconnect().await?,
        };
        let outcome = E::run(&mut conn, sql, self.settings.read_only, limits).await;
        if outcome.close_connection {
            let _ = conn.close().await;
        } else {
            *slot = Some(conn);
        }
        outcome.result
    }
}

#[async_trait]
impl<E: SqlEngine> Session for SqlSession<E> {
    fn env(&self) -> Vec<EnvEntry> {
        self.settings.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(self.settings.client.clone())
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(Error::invalid_input(format!("{}: the command is empty", E::RUN_QUERY))
                .with_context("tool", &self.settings.tool));
        }
        let result = within(limits.timeout, E::RUN_QUERY, self.run(&sql, limits)).await;
        result.map_err(|e| {
            with_tool(crate::connect::on_engine(e, E::RUN_QUERY, self.settings.engine), &self.settings.tool)
        })
    }

    async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}
