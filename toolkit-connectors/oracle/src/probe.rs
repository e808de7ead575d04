//! The probe: a TCP connection to the listener and a TNS CONNECT for the configured service.
//!
//! ACCEPT means the listener is up and hands the service out; the probe reports the TNS version
//! and closes the connection. There is no Oracle driver without Oracle's client libraries, so no
//! authentication follows: the probe checks the listener and the service, not the password.
//! A REFUSE is classified by its `(ERR=...)` code (an unknown service or SID is a configuration
//! error), a REDIRECT is followed once (to a host and port checked like `spec.config.hostname`),
//! and a RESEND is answered once with the same CONNECT. The whole exchange is bounded by
//! `connectTimeout`. With `tls: true` the exchange runs inside TLS (TCPS).

use async_trait::async_trait;
use tokio::net::TcpStream;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{Error, ErrorKind, Result};

use crate::OracleTool;
use crate::tls::{self, Io};
use crate::tns::{self, Answer};

const PROBE: &str = "probe oracle listener";

#[async_trait]
impl Probe for OracleTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let c = &self.config;
        let error = |kind, host: &str, port: u16| {
            Error::new(kind, PROBE)
                .with_context("host", host)
                .with_context("port", port)
                .with_context("service", &c.service)
        };
        match tokio::time::timeout(c.connect_timeout, exchange(self)).await {
            Ok(result) => result,
            Err(_) => Err(error(ErrorKind::Timeout, &c.host, c.port)
                .with_source(format!("no answer within connectTimeout ({:?})", c.connect_timeout))),
        }
    }
}

async fn exchange(tool: &OracleTool) -> Result<ProbeReport> {
    let c = &tool.config;
    let mut host = c.host.clone();
    let mut port = c.port;
    let mut connect_data = c.descriptor();
    let mut redirected = false;
    loop {
        let error = |kind| {
            Error::new(kind, PROBE)
                .with_context("host", &host)
                .with_context("port", port)
                .with_context("service", &c.service)
        };
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| error(ErrorKind::Unreachable).with_source(e))?;
        let mut stream: Box<dyn Io> = if c.tls {
            let connector = tls::connector(c).await?;
            let tls = connector.connect(tls::server_name(&host)?, tcp).await.map_err(|e| {
                Error::new(ErrorKind::Unreachable, format!("{PROBE} (TLS)"))
                    .with_context("host", &host)
                    .with_context("port", port)
                    .with_source(e)
            })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let packets = tns::connect_packets(&connect_data);
        tns::send(&mut stream, &packets).await.map_err(|e| error(ErrorKind::Unreachable).with_source(e))?;
        let mut resent = false;
        let answer = loop {
            let read = |e: std::io::Error| {
                let kind = if e.kind() == std::io::ErrorKind::InvalidData {
                    ErrorKind::Upstream
                } else {
                    ErrorKind::Unreachable
                };
                error(kind).with_source(format!("reading the listener's answer: {e}"))
            };
            let p = tns::read_packet(&mut stream).await.map_err(read)?;
            let more = if tns::redirect_needs_data(&p) {
                Some(tns::read_packet(&mut stream).await.map_err(read)?)
            } else {
                None
            };
            match tns::parse(&p, more.as_ref()) {
                Answer::Resend if !resent => {
                    resent = true;
                    tns::send(&mut stream, &packets).await.map_err(|e| error(ErrorKind::Unreachable).with_source(e))?;
                }
                other => break other,
            }
        };
        match answer {
            Answer::Accepted { version } => {
                let mut report = ProbeReport::default();
                report.details.insert("tnsVersion".into(), version.to_string());
                report.details.insert("service".into(), c.service.clone());
                report.details.insert("listener".into(), format!("{host}:{port}"));
                report.details.insert("authenticated".into(), "false (no driver: listener and service only)".into());
                return Ok(report);
            }
            Answer::Refused { code, .. } => {
                let (kind, what) = match code {
                    Some(12514 | 12505) => (ErrorKind::Config, tns::describe(code.unwrap_or_default())),
                    Some(n) => (ErrorKind::Upstream, tns::describe(n)),
                    None => (ErrorKind::Upstream, "the listener refused the connection without a reason"),
                };
                let ora = code.map(|n| format!("ORA-{n:05}: ")).unwrap_or_default();
                let retryable = matches!(code, Some(12516 | 12519 | 12520 | 12528));
                return Err(error(kind).with_source(format!("{ora}{what}")).set_retryable(retryable));
            }
            Answer::Redirect { host: to_host, port: to_port, connect_data: to_data } => {
                let valid = !to_host.is_empty()
                    && to_port != 0
                    && to_host.chars().all(|ch| ch.is_ascii_alphanumeric() || ".-_:".contains(ch));
                if redirected || !valid {
                    let why = if redirected {
                        "the listener redirected twice"
                    } else {
                        "the redirect names no usable address"
                    };
                    return Err(error(ErrorKind::Upstream).with_source(why));
                }
                redirected = true;
                host = to_host;
                port = to_port;
                if let Some(d) = to_data {
                    connect_data = d;
                }
            }
            Answer::Resend => return Err(error(ErrorKind::Upstream).with_source("the listener asked to resend twice")),
            Answer::Unexpected(t) => {
                return Err(error(ErrorKind::Upstream).with_source(format!("unexpected TNS packet type {t}")));
            }
        }
    }
}
