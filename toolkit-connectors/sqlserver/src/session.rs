//! Sessions: the `SQLCMD*` environment `sqlcmd` reads, and `exec` through a connection.
//!
//! `exec` joins its words into one statement and runs it as a call does (a connection of its
//! own, read-only checks and rollback for a read-only tool, the same caps).

use async_trait::async_trait;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::SqlServerTool;
use crate::config::Tls;
use crate::invoke;

/// An open sqlserver session.
pub(crate) struct SqlServerSession {
    connector: std::sync::Arc<crate::connect::Connector>,
    read_only: bool,
    env: Vec<EnvEntry>,
}

impl SqlServerSession {
    /// Resolves the password; no connection is held between commands.
    pub(crate) async fn open(tool: &SqlServerTool) -> Result<Self> {
        let c = &tool.connector.config;
        let password = tool.connector.password().await?.clone();
        let mut env = vec![
            EnvEntry::plain("SQLCMDSERVER", format!("{},{}", c.host, c.port)),
            EnvEntry::plain("SQLCMDUSER", &c.username),
            EnvEntry::secret("SQLCMDPASSWORD", password),
        ];
        if let Some(db) = &c.database {
            env.push(EnvEntry::plain("SQLCMDDBNAME", db));
        }
        Ok(Self { connector: tool.connector.clone(), read_only: tool.read_only, env })
    }
}

#[async_trait]
impl Session for SqlServerSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        let mut argv = vec!["sqlcmd".to_owned()];
        match &self.connector.config.tls {
            Tls::Disabled => {}
            // -N asks for encryption, -C trusts the server certificate without checking it.
            Tls::Unverified => argv.extend(["-N".to_owned(), "-C".to_owned()]),
            Tls::Verified { .. } => argv.push("-N".to_owned()),
        }
        if self.read_only {
            argv.extend(["-K".to_owned(), "ReadOnly".to_owned()]);
        }
        Some(argv)
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(Error::invalid_input("run query on sqlserver: the command is empty"));
        }
        invoke::run(&self.connector, &sql, Vec::new(), self.read_only, limits).await
    }
}
