//! The connectivity check: `GET` of `probe.path`, or of `/` at the URL's origin, with the
//! tool's headers and credentials. Any answer below 500 means reachable.

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::SERVER;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{Error, Result};

use crate::HttpTool;
use crate::request::{Seen, Target};

/// Body bytes of a probe answer read at most.
const PROBE_CAP: usize = 4096;

#[async_trait]
impl Probe for HttpTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let origin = self.cfg.origin.as_ref().ok_or_else(|| {
            Error::unsupported("probe: a URL placeholder decides the host, so there is nothing fixed to probe")
        })?;
        let path = self.cfg.probe_path.as_deref().unwrap_or("/");
        let url = origin
            .join(path)
            .map_err(|e| Error::config(format!("probe: `{path}` does not make a URL")).with_source(e))?;
        let mut seen = Seen::new();
        let answer = self.send(Target { method: Method::GET, url, body: None }, None, PROBE_CAP, &mut seen).await?;
        if answer.status.is_server_error() {
            return Err(answer.status_error(&self.redacted(&seen)));
        }
        let mut report = ProbeReport {
            server_version: answer.headers.get(SERVER).and_then(|v| v.to_str().ok()).map(str::to_owned),
            ..ProbeReport::default()
        };
        report.details.insert("status".into(), answer.status.as_u16().to_string());
        report.details.insert("path".into(), path.to_owned());
        Ok(report)
    }
}
