//! Sessions: a connection of their own, with the env `redis-cli` needs.

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use std::sync::Arc;

use crate::command::{ReadOnlyGuard, check_argv, check_supported};
use crate::invoke::run;

/// The image of a bastion pod: it has `redis-cli`.
pub(crate) const IMAGE: &str = "docker.io/library/redis:7-alpine";

/// A bastion pod's session: `redis-cli` on the tool's URL, the password from its Secret (the
/// only setting redis-cli reads from the environment). A CA file is a path on this machine, so
/// a pod does not get it.
pub(crate) fn template(config: &crate::RedisConfig) -> toolkit_core::SessionTemplate {
    let url = config.public_url();
    let mut env = vec![toolkit_core::EnvTemplate::value("REDIS_URL", url.clone())];
    if let Some(p) = &config.password_ref {
        env.push(toolkit_core::EnvTemplate::secret("REDISCLI_AUTH", p));
    }
    let exec = toolkit_core::ExecForm { prefix: client(&url), joined: false };
    toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: client(&url),
        env,
        exec,
        service_account: None,
        namespace: None,
    }
}

fn client(url: &str) -> Vec<String> {
    // redis-cli reads only the password from the environment; the rest goes on the line.
    vec!["redis-cli".into(), "-u".into(), url.to_owned()]
}

/// A live session. Unlike tool calls it has a connection of its own, so `SELECT`, `MULTI` and
/// `EXEC` work in it.
pub(crate) struct RedisSession {
    pub(crate) conn: Mutex<Option<MultiplexedConnection>>,
    pub(crate) password: Option<SecretString>,
    pub(crate) url: String,
    pub(crate) guard: Arc<ReadOnlyGuard>,
    pub(crate) read_only: bool,
}

#[async_trait]
impl Session for RedisSession {
    fn env(&self) -> Vec<EnvEntry> {
        let mut env = vec![EnvEntry::plain("REDIS_URL", self.url.clone())];
        if let Some(p) = &self.password {
            env.push(EnvEntry::secret("REDISCLI_AUTH", p.clone()));
        }
        env
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(client(&self.url))
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        // One string holding a whole line (`GET "a b"`) is split like a shell would.
        let argv = match command {
            [line] if line.contains(char::is_whitespace) => shell_words::split(line)
                .map_err(|e| Error::invalid_input("split the redis command line").with_source(e))?,
            _ => command.to_vec(),
        };
        check_argv(&argv)?;
        check_supported(&argv, false)?;
        let mut conn = self
            .conn
            .lock()
            .await
            .clone()
            .ok_or_else(|| Error::invalid_input("run a command: the session is closed"))?;
        run(&mut conn, &self.guard, self.read_only, &argv, limits).await
    }

    async fn close(&self) {
        self.conn.lock().await.take();
    }
}
