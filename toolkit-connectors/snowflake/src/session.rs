//! Sessions: the `SNOWSQL_*` environment `snowsql` reads, and `exec` through the SQL API.
//!
//! With key-pair authentication the private key is written to a file of its own (mode 0600,
//! removed when the session closes) named by `SNOWSQL_PRIVATE_KEY_PATH` and `--private-key-path`.
//! An OAuth token is handed over as the secret `SNOWSQL_TOKEN`; snowsql takes a token only as
//! `--token`, so the shell that starts it passes `--token "$SNOWSQL_TOKEN"`.
//! `exec` joins its words into one statement and runs it as a call does.

use std::io::Write;

use async_trait::async_trait;
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::SnowflakeTool;
use crate::auth::Credential;
use crate::invoke;

/// An open snowflake session.
pub(crate) struct SnowflakeSession {
    tool: std::sync::Arc<crate::api::Api>,
    read_only: bool,
    env: Vec<EnvEntry>,
    argv: Vec<String>,
    key_file: Mutex<Option<tempfile::NamedTempFile>>,
}

impl SnowflakeSession {
    /// Resolves the credential (so a session that opens can authenticate) and writes the key file.
    pub(crate) async fn open(tool: &SnowflakeTool) -> Result<Self> {
        let config = &tool.api.config;
        let credential = tool.api.credential().await?;
        let mut env = vec![
            EnvEntry::plain("SNOWSQL_ACCOUNT", &config.account),
            EnvEntry::plain("SNOWSQL_USER", &config.username),
        ];
        for (name, value) in [
            ("SNOWSQL_ROLE", &config.role),
            ("SNOWSQL_WAREHOUSE", &config.warehouse),
            ("SNOWSQL_DATABASE", &config.database),
            ("SNOWSQL_SCHEMA", &config.schema),
        ] {
            if let Some(v) = value {
                env.push(EnvEntry::plain(name, v));
            }
        }
        let mut argv = vec![
            "snowsql".to_owned(),
            "-a".to_owned(),
            config.account.clone(),
            "-u".to_owned(),
            config.username.clone(),
        ];
        let key_file = match credential {
            Credential::OAuth(token) => {
                env.push(EnvEntry::secret("SNOWSQL_TOKEN", token.clone()));
                argv.extend(["--authenticator".to_owned(), "oauth".to_owned()]);
                None
            }
            Credential::KeyPair { pem, .. } => {
                let file = write_key(pem)?;
                let path = file.path().display().to_string();
                env.push(EnvEntry::plain("SNOWSQL_PRIVATE_KEY_PATH", &path));
                argv.extend(["--private-key-path".to_owned(), path]);
                Some(file)
            }
        };
        Ok(Self { tool: tool.api.clone(), read_only: tool.read_only, env, argv, key_file: Mutex::new(key_file) })
    }
}

/// The private key in a fresh file only its owner can read.
fn write_key(pem: &SecretString) -> Result<tempfile::NamedTempFile> {
    // tempfile creates files with mode 0600.
    let mut file = tempfile::Builder::new()
        .prefix("toolkit-snowflake-")
        .suffix(".p8")
        .tempfile()
        .map_err(|e| Error::internal("write the snowflake private key file").with_source(e))?;
    file.write_all(pem.expose().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(|e| Error::internal("write the snowflake private key file").with_source(e))?;
    Ok(file)
}

#[async_trait]
impl Session for SnowflakeSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(self.argv.clone())
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(Error::invalid_input("run query on snowflake: the command is empty"));
        }
        invoke::run(&self.tool, &sql, None, self.read_only, limits).await
    }

    async fn close(&self) {
        // Dropping the file removes it.
        self.key_file.lock().await.take();
    }
}
