//! The probe: a token exchange and a dry run of `SELECT 1`, within `connectTimeout`. A dry run
//! costs nothing and checks the key, the project and the `bigquery.jobs.create` permission.

use async_trait::async_trait;
use tokio::time::Instant;
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::BigQueryTool;

#[async_trait]
impl Probe for BigQueryTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let config = &self.api.config;
        let deadline = Instant::now() + config.connect_timeout;
        let dry = self.api.dry_run("SELECT 1", None, deadline, "probe bigquery").await?;
        let mut report = ProbeReport::default();
        report.details.insert("project".into(), config.project.clone());
        report.details.insert("statementType".into(), dry.statement_type);
        if let Ok(account) = self.api.account().await {
            report.details.insert("serviceAccount".into(), account.email.clone());
        }
        Ok(report)
    }
}
