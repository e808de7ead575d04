//! The connectivity check: connect to a bootstrap broker (TLS and SASL included), read the
//! cluster metadata and count topics and partitions.
//!
//! Kafka's protocol carries no server version, and rskafka keeps the broker list of the
//! metadata to itself, so the report has topic and partition counts and no version.

use async_trait::async_trait;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{ErrorKind, Result};

use crate::KafkaTool;

#[async_trait]
impl Probe for KafkaTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let conn = &self.conn;
        let result = async {
            let client = conn.client().await?;
            let limit = conn.config.connect_timeout;
            match tokio::time::timeout(limit, client.list_topics()).await {
                Ok(r) => r.map_err(|e| conn.error(e, "read the cluster metadata")),
                Err(_) => Err(conn.timeout("read the cluster metadata", limit)),
            }
        }
        .await;
        let topics = match result {
            Ok(t) => t,
            Err(e) => {
                if e.kind() == ErrorKind::Auth {
                    conn.reset().await;
                }
                return Err(e);
            }
        };
        let mut report = ProbeReport::default();
        let partitions: usize = topics.iter().map(|t| t.partitions.len()).sum();
        report.details.insert("topics".into(), topics.len().to_string());
        report.details.insert("partitions".into(), partitions.to_string());
        report.details.insert("securityProtocol".into(), conn.config.security_protocol().to_owned());
        Ok(report)
    }
}
