//! Sessions: `BIGQUERY_PROJECT` and `GOOGLE_APPLICATION_CREDENTIALS` for `bq` and the Google
//! client libraries, and `exec` through the REST API.
//!
//! The key is written to a file of its own (mode 0600, removed when the session closes);
//! `GOOGLE_APPLICATION_CREDENTIALS` names it. `exec` joins its words into one statement and runs
//! it as a call does.

use std::io::Write;

use async_trait::async_trait;
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::BigQueryTool;
use crate::invoke;

/// An open bigquery session.
pub(crate) struct BigQuerySession {
    api: std::sync::Arc<crate::api::Api>,
    read_only: bool,
    env: Vec<EnvEntry>,
    key_file: Mutex<Option<tempfile::NamedTempFile>>,
}

impl BigQuerySession {
    /// Reads the key (so a session only opens with a usable one) and writes the key file.
    pub(crate) async fn open(tool: &BigQueryTool) -> Result<Self> {
        let account = tool.api.account().await?;
        let fail = |e: std::io::Error| Error::internal("write the bigquery key file").with_source(e);
        // tempfile creates files with mode 0600.
        let mut file = tempfile::Builder::new().prefix("toolkit-bigquery-").suffix(".json").tempfile().map_err(fail)?;
        file.write_all(account.json.expose().as_bytes()).map_err(fail)?;
        let env = vec![
            EnvEntry::plain("BIGQUERY_PROJECT", &tool.api.config.project),
            EnvEntry::plain("CLOUDSDK_CORE_PROJECT", &tool.api.config.project),
            EnvEntry::plain("GOOGLE_APPLICATION_CREDENTIALS", file.path().display().to_string()),
        ];
        Ok(Self { api: tool.api.clone(), read_only: tool.read_only, env, key_file: Mutex::new(Some(file)) })
    }
}

#[async_trait]
impl Session for BigQuerySession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(vec![
            "bq".to_owned(),
            format!("--project_id={}", self.api.config.project),
            "query".to_owned(),
            "--use_legacy_sql=false".to_owned(),
        ])
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = command.join(" ");
        if sql.trim().is_empty() {
            return Err(Error::invalid_input("run query on bigquery: the command is empty"));
        }
        invoke::run(&self.api, &sql, None, self.read_only, limits).await
    }

    async fn close(&self) {
        // Dropping the file removes it.
        self.key_file.lock().await.take();
    }
}
