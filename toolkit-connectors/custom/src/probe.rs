//! The connectivity check a custom tool declares in `spec.config.check`: an HTTP GET, a TCP
//! connect, or a command, each within `connectTimeout`.

use std::time::Duration;

use async_trait::async_trait;
use toolkit_core::connector::{EnvValue, Probe, ProbeReport};
use toolkit_core::{Error, ErrorKind, Result};

use crate::CustomTool;
use crate::config::Check;
use crate::run::{run, tail};

/// How much of a failed command's output an error quotes.
const TAIL_CHARS: usize = 300;

#[async_trait]
impl Probe for CustomTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let timeout = self.config.connect_timeout;
        match &self.config.check {
            None => Err(Error::unsupported(
                "probe a custom tool: set spec.config.check (http, tcp or command) to give it a probe",
            )),
            Some(Check::Http(url)) => self.http(url, timeout).await,
            Some(Check::Tcp { host, port }) => tcp(host, *port, timeout).await,
            Some(Check::Command(argv)) => self.command(argv, timeout).await,
        }
    }
}

impl CustomTool {
    async fn http(&self, url: &url::Url, timeout: Duration) -> Result<ProbeReport> {
        let shown = public_url(url);
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            // A 3xx passes as it is; following it would check another service.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal("set up the http client").with_source(e))?;
        let response = client.get(url.clone()).send().await.map_err(|e| {
            let e = e.without_url();
            let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unreachable };
            Error::new(kind, "check the custom tool with GET").with_context("url", &shown).with_source(e)
        })?;
        let status = response.status();
        let server = response.headers().get(reqwest::header::SERVER).and_then(|v| v.to_str().ok());
        let mut report = ProbeReport { server_version: server.map(str::to_owned), ..ProbeReport::default() };
        report.details.insert("status".into(), status.as_u16().to_string());
        if status.is_success() || status.is_redirection() {
            return Ok(report);
        }
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::Auth,
            408 | 504 => ErrorKind::Timeout,
            _ => ErrorKind::Upstream,
        };
        Err(Error::new(kind, format!("check the custom tool with GET: the server answered {status}"))
            .with_context("url", shown))
    }

    async fn command(&self, argv: &[String], timeout: Duration) -> Result<ProbeReport> {
        let env = self.env().await?;
        let secrets: Vec<&str> =
            env.iter().filter(|e| matches!(e.value, EnvValue::Secret(_))).map(|e| e.value.expose()).collect();
        let program = &argv[0];
        let done = run(argv, &env, timeout, 64 * 1024).await?;
        let mut report = ProbeReport::default();
        if done.code == Some(0) {
            report.details.insert("exitCode".into(), "0".into());
            return Ok(report);
        }
        let status =
            done.code.map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with status {c}"));
        let output = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) { &done.stderr } else { &done.stdout };
        let quoted = tail(output, TAIL_CHARS, &secrets);
        let message = if quoted.is_empty() {
            format!("check the custom tool with `{program}`: it {status}")
        } else {
            format!("check the custom tool with `{program}`: it {status}: {quoted}")
        };
        Err(Error::new(ErrorKind::Upstream, message))
    }
}

async fn tcp(host: &str, port: u16, timeout: Duration) -> Result<ProbeReport> {
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => {
            let mut report = ProbeReport::default();
            report.details.insert("address".into(), target);
            Ok(report)
        }
        Ok(Err(e)) => Err(Error::new(ErrorKind::Unreachable, "check the custom tool with a tcp connect")
            .with_context("address", target)
            .with_source(e)),
        Err(_) => Err(Error::new(ErrorKind::Timeout, "check the custom tool with a tcp connect")
            .with_context("address", target)
            .with_context("timeout", format!("{timeout:?}"))),
    }
}

/// The URL without user info, query or fragment, for messages.
fn public_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}
