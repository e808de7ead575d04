//! The connectivity check: `SELECT version()`.

use async_trait::async_trait;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{Error, ErrorKind, Result};

use crate::ClickhouseTool;

#[async_trait]
impl Probe for ClickhouseTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let deadline = self.conn.config.connect_timeout;
        let result = match tokio::time::timeout(deadline, self.server_version()).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(ErrorKind::Timeout, self.conn.at("ask the clickhouse version"))
                .with_context("timeout", format!("{deadline:?}"))),
        };
        let version = self.conn.checked(result).await?;
        let mut report = ProbeReport { server_version: Some(version.clone()), ..ProbeReport::default() };
        report.details.insert("url".into(), self.conn.config.url());
        report.details.insert("user".into(), self.conn.config.user().to_owned());
        if major(&version).is_some_and(|m| m < crate::permissions::FIRST_MAJOR_WITH_GRANTS) {
            report.details.insert("accessControl".into(), "none: users come from the server's XML files".into());
        }
        Ok(report)
    }
}

impl ClickhouseTool {
    /// `SELECT version()`, such as `18.16.1`.
    pub(crate) async fn server_version(&self) -> Result<String> {
        const ASK: &str = "ask the clickhouse version";
        let client = self.conn.client().await?;
        let mut cursor =
            client.query_raw("SELECT version()").fetch_bytes("TabSeparated").map_err(|e| self.conn.classify(e, ASK))?;
        let bytes = cursor.collect().await.map_err(|e| self.conn.classify(e, ASK))?;
        Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
    }
}

/// The major version of `18.16.1`.
pub(crate) fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}
