//! Sessions: the env `clickhouse-client` reads, and SQL run like a tool call.

use async_trait::async_trait;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::ClickhouseTool;

/// A live session: the tool's client and the password it resolved.
pub(crate) struct ClickhouseSession {
    pub(crate) tool: ClickhouseTool,
    pub(crate) password: Option<SecretString>,
    pub(crate) closed: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Session for ClickhouseSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.tool.conn.config;
        let mut env = vec![
            EnvEntry::plain("CLICKHOUSE_HOST", c.host.clone()),
            // The HTTP interface's port, which the tool uses; clickhouse-client speaks the
            // native protocol on its own port.
            EnvEntry::plain("CLICKHOUSE_PORT", c.port.to_string()),
            EnvEntry::plain("CLICKHOUSE_USER", c.user()),
        ];
        if let Some(p) = &self.password {
            env.push(EnvEntry::secret("CLICKHOUSE_PASSWORD", p.clone()));
        }
        if let Some(db) = &c.database {
            env.push(EnvEntry::plain("CLICKHOUSE_DATABASE", db.clone()));
        }
        env
    }

    fn client(&self) -> Option<Vec<String>> {
        let c = &self.tool.conn.config;
        let mut argv =
            vec!["clickhouse-client".into(), "--host".into(), c.host.clone(), "--user".into(), c.user().into()];
        if let Some(db) = &c.database {
            argv.extend(["--database".into(), db.clone()]);
        }
        if c.tls {
            argv.push("--secure".into());
        }
        if self.tool.read_only {
            argv.extend(["--readonly".into(), "1".into()]);
        }
        Some(argv)
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::invalid_input("run a query: the session is closed"));
        }
        self.tool.run(&command.join(" "), &[], limits).await
    }

    async fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
