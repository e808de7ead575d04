//! Sessions: the environment `sqlplus` needs in a bastion.
//!
//! `TNS_ADMIN` names a private temp folder (removed when the session closes) holding a generated
//! `tnsnames.ora` with one alias, `TOOLKIT`; `TWO_TASK` selects it. `ORACLE_USER` and the secret
//! `ORACLE_PASSWORD` carry the credentials: `client()` is `sqlplus -L USER@TOOLKIT`, and the
//! password is given to sqlplus from the environment (at its prompt), never on the command line.
//! Commands cannot run through toolkit itself: without Oracle's client libraries there is no
//! driver, so `exec` is unsupported.

use async_trait::async_trait;
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::OracleTool;

/// The alias the generated `tnsnames.ora` defines.
pub const ALIAS: &str = "TOOLKIT";

/// An open oracle session.
pub(crate) struct OracleSession {
    env: Vec<EnvEntry>,
    user: String,
    dir: Mutex<Option<tempfile::TempDir>>,
}

/// The `tnsnames.ora` entry of the tool's service.
pub(crate) fn tnsnames(protocol: &str, host: &str, port: u16, service: &str) -> String {
    format!(
        "{ALIAS} =\n  (DESCRIPTION =\n    (ADDRESS = (PROTOCOL = {protocol})(HOST = {host})(PORT = {port}))\n    \
         (CONNECT_DATA = (SERVICE_NAME = {service}))\n  )\n"
    )
}

impl OracleSession {
    pub(crate) async fn open(tool: &OracleTool) -> Result<Self> {
        let c = &tool.config;
        let user = c
            .username
            .clone()
            .ok_or_else(|| Error::config("open an oracle session: spec.config.username is required for sessions"))?;
        let password_ref = c.password_ref.as_ref().ok_or_else(|| {
            Error::config("open an oracle session: spec.config.credentialsRef is required for sessions")
        })?;
        let password = tool.secrets.resolve(&tool.namespace, password_ref).await?;
        let fail = |e: std::io::Error| Error::internal("write the oracle tnsnames.ora").with_source(e);
        // tempfile makes the folder with mode 0700.
        let dir = tempfile::Builder::new().prefix("toolkit-oracle-").tempdir().map_err(fail)?;
        std::fs::write(dir.path().join("tnsnames.ora"), tnsnames(c.protocol(), &c.host, c.port, &c.service))
            .map_err(fail)?;
        let env = vec![
            EnvEntry::plain("TNS_ADMIN", dir.path().display().to_string()),
            EnvEntry::plain("TWO_TASK", ALIAS),
            EnvEntry::plain("ORACLE_USER", &user),
            EnvEntry::secret("ORACLE_PASSWORD", password),
        ];
        Ok(Self { env, user, dir: Mutex::new(Some(dir)) })
    }
}

#[async_trait]
impl Session for OracleSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(vec!["sqlplus".to_owned(), "-L".to_owned(), format!("{}@{ALIAS}", self.user)])
    }

    async fn exec(&self, _command: &[String], _limits: &CallLimits) -> Result<InvokeOutput> {
        Err(Error::unsupported(
            "run a command on oracle: toolkit has no oracle driver (every one needs Oracle's client libraries); \
             use the session's sqlplus",
        ))
    }

    async fn close(&self) {
        // Dropping the folder removes it.
        self.dir.lock().await.take();
    }
}
