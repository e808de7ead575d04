//! The probe: `SELECT CURRENT_VERSION()` through the SQL API, within `connectTimeout`.

use async_trait::async_trait;
use tokio::time::Instant;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{ErrorKind, Result};

use crate::SnowflakeTool;
use crate::api::statement_request;

const PROBE: &str = "probe snowflake";

#[async_trait]
impl Probe for SnowflakeTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let config = &self.api.config;
        let deadline = Instant::now() + config.connect_timeout;
        let request = statement_request(config, "SELECT CURRENT_VERSION()", None, config.connect_timeout);
        let body = self.api.execute(&request, deadline, PROBE).await?;
        let version = body.data.first().and_then(|row| row.first().cloned().flatten()).ok_or_else(|| {
            self.api.error(ErrorKind::Upstream, PROBE).with_source("CURRENT_VERSION() returned no row")
        })?;
        let mut report = ProbeReport { server_version: Some(version), ..ProbeReport::default() };
        report.details.insert("account".into(), config.account.clone());
        report.details.insert("user".into(), config.username.clone());
        if let Some(role) = &config.role {
            report.details.insert("role".into(), role.clone());
        }
        if let Some(h) = body.statement_handle {
            report.details.insert("statementHandle".into(), h);
        }
        Ok(report)
    }
}
