//! The connectivity check: the file exists and opens, and `select sqlite_version()` answers.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{Executor, Row};
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::SqliteTool;
use toolkit_connector_sql::with_tool;

use crate::connect::{check_file, classify};

#[async_trait]
impl Probe for SqliteTool {
    async fn probe(&self) -> Result<ProbeReport> {
        // Checked on every probe: the file may have gone since the pool was opened.
        check_file(&self.path).await.map_err(|e| with_tool(e, self.qualified_name()))?;
        let mut conn = self.acquire().await?;
        let row = (&mut *conn)
            .fetch_one("select sqlite_version()")
            .await
            .map_err(|e| classify(e, "ask sqlite for its version").with_context("tool", self.qualified_name()))?;
        let version: String = row.try_get(0).unwrap_or_default();
        let mut details = BTreeMap::new();
        details.insert("engine".to_owned(), "sqlite".to_owned());
        details.insert("path".to_owned(), self.path.display().to_string());
        details.insert("readOnly".to_owned(), self.read_only.to_string());
        Ok(ProbeReport { server_version: Some(version), details })
    }
}
