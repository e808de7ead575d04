//! The probe: connect, log in and `SELECT @@VERSION`, within `connectTimeout`.

use async_trait::async_trait;
use tokio::time::Instant;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{ErrorKind, Result};

use crate::SqlServerTool;
use crate::connect::classify;

const PROBE: &str = "probe sqlserver";

#[async_trait]
impl Probe for SqlServerTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let c = &self.connector;
        let deadline = Instant::now() + c.config.connect_timeout;
        let (_permit, mut client) = c.connect(self.read_only, deadline, PROBE).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let query = async {
            let row = client.simple_query("SELECT @@VERSION").await?.into_row().await?;
            Ok::<_, tiberius::error::Error>(row.and_then(|r| r.get::<&str, _>(0).map(str::to_owned)))
        };
        let version = match tokio::time::timeout(remaining, query).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(classify(e, c, PROBE)),
            Err(_) => return Err(c.error(ErrorKind::Timeout, PROBE).with_source("no answer to SELECT @@VERSION")),
        };
        // `@@VERSION` is several lines; the first names the product and build.
        let server_version = version.as_deref().and_then(|v| v.lines().next()).map(|l| l.trim().to_owned());
        let mut report = ProbeReport { server_version, ..ProbeReport::default() };
        if let Some(db) = &c.config.database {
            report.details.insert("database".into(), db.clone());
        }
        report.details.insert("user".into(), c.config.username.clone());
        Ok(report)
    }
}
