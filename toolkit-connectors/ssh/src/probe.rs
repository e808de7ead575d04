//! The connectivity check: TCP, the handshake with the host key verified, and authentication,
//! on a connection of its own that is closed afterwards.

use async_trait::async_trait;
use russh::keys::HashAlg;
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::SshTool;

#[async_trait]
impl Probe for SshTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let conn = self.conn.connect().await?;
        conn.disconnect().await;
        let mut report = ProbeReport { server_version: conn.server_version.clone(), ..ProbeReport::default() };
        report.details.insert("hostKey".into(), conn.host_key.fingerprint(HashAlg::Sha256).to_string());
        report.details.insert("hostKeyAlgorithm".into(), conn.host_key.algorithm().to_string());
        report.details.insert("auth".into(), self.conn.config.auth.method().into());
        Ok(report)
    }
}
