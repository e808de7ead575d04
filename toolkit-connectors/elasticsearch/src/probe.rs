//! The connectivity check: `GET /` for the version and distribution, then `_cluster/health`.

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::EsTool;

#[async_trait]
impl Probe for EsTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let c = &self.client;
        // Connecting is bounded by the connect timeout; the answer gets as long again.
        let limit = c.config.connect_timeout * 2;
        let root = c.send(Method::GET, "/", None, limit, "read the cluster's version").await?;
        if !root.status.is_success() {
            return Err(c.status_error(&root, "read the cluster's version"));
        }
        let version = &root.body["version"];
        let mut report =
            ProbeReport { server_version: version["number"].as_str().map(str::to_owned), ..ProbeReport::default() };
        let distribution = version["distribution"].as_str().unwrap_or("elasticsearch");
        report.details.insert("distribution".into(), distribution.to_owned());
        if let Some(name) = root.body["cluster_name"].as_str() {
            report.details.insert("cluster".into(), name.to_owned());
        }
        let health = c.send(Method::GET, "/_cluster/health", None, limit, "read the cluster's health").await?;
        match health.status {
            s if s.is_success() => {
                let status = health.body["status"].as_str().unwrap_or("unknown");
                report.details.insert("health".into(), status.to_owned());
            }
            // A user without the `monitor` privilege is still connected and authenticated.
            StatusCode::FORBIDDEN => {
                report.details.insert("health".into(), "unknown: the user may not read cluster health".into());
            }
            _ => return Err(c.status_error(&health, "read the cluster's health")),
        }
        Ok(report)
    }
}
