//! The lazily made ClickHouse client of one tool (HTTP interface, rustls), its password, and
//! how ClickHouse's errors map to error kinds.

use std::fmt;
use std::sync::Arc;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::ClickhouseConfig;

/// The client of one tool, made on first use with the password resolved then; dropped after an
/// auth failure so that a rotated password is picked up by the next call.
pub(crate) struct Connection {
    pub(crate) config: ClickhouseConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    client: Mutex<Option<clickhouse::Client>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("url", &self.config.url()).field("user", &self.config.user()).finish()
    }
}

impl Connection {
    pub(crate) fn new(config: ClickhouseConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, client: Mutex::new(None) }
    }

    /// The password, resolved now.
    pub(crate) async fn password(&self) -> Result<Option<SecretString>> {
        match &self.config.password_ref {
            None => Ok(None),
            Some(sel) => {
                let ns = sel.namespace.as_deref().unwrap_or(&self.namespace);
                self.secrets.resolve(ns, sel).await.map(Some)
            }
        }
    }

    /// The shared client, made on first use.
    pub(crate) async fn client(&self) -> Result<clickhouse::Client> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let password = self.password().await?;
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build(self.connector().await?);
        let mut client = clickhouse::Client::with_http_client(http)
            .with_url(self.config.url())
            // ClickHouse 18 has none of what the row-type validation asks the server.
            .with_validation(false)
            .with_user(self.config.user());
        if let Some(p) = &password {
            client = client.with_password(p.expose());
        }
        if let Some(db) = &self.config.database {
            client = client.with_database(db);
        }
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Drops the client after an auth failure, so that the next call resolves the password anew.
    pub(crate) async fn checked<T>(&self, result: Result<T>) -> Result<T> {
        if result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth) {
            self.client.lock().await.take();
        }
        result
    }

    async fn connector(&self) -> Result<hyper_rustls::HttpsConnector<HttpConnector>> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.config.connect_timeout));
        http.set_nodelay(true);
        let tls = tls_config(&self.config).await?;
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        Ok(if self.config.tls {
            builder.https_only().enable_http1().wrap_connector(http)
        } else {
            builder.https_or_http().enable_http1().wrap_connector(http)
        })
    }

    /// `action at url as user`, for messages.
    pub(crate) fn at(&self, action: &str) -> String {
        format!("{action} at {} as {}", self.config.url(), self.config.user())
    }

    /// Maps a driver error to a kind; the message names the server and user, never the password.
    pub(crate) fn classify(&self, e: clickhouse::error::Error, action: &str) -> Error {
        use clickhouse::error::Error as E;
        let at = self.at(action);
        match e {
            E::BadResponse(text) => server_error(&at, &text),
            E::TimedOut => Error::new(ErrorKind::Timeout, at),
            E::Network(source) => {
                let tls = is_tls(source.as_ref());
                let kind = if timed_out(source.as_ref()) { ErrorKind::Timeout } else { ErrorKind::Unreachable };
                let at = if tls { format!("{at} (tls)") } else { at };
                Error::new(kind, at).with_source(source)
            }
            E::InvalidParams(source) => Error::new(ErrorKind::InvalidInput, at).with_source(source),
            other => Error::new(ErrorKind::Upstream, at).with_source(other),
        }
    }
}

/// An error the server answered: `Code: 193, e.displayText() = DB::Exception: ...` (18.x) or
/// `Code: 516. DB::Exception: ...` (later).
pub(crate) fn server_error(at: &str, text: &str) -> Error {
    let code = exception_code(text);
    let kind = match code {
        Some(192..=194 | 516) => ErrorKind::Auth,
        Some(164 | 291 | 497) => ErrorKind::Denied,
        Some(159 | 209) => ErrorKind::Timeout,
        Some(6 | 27 | 36 | 41..=53 | 57 | 60 | 62 | 69 | 73 | 81 | 82 | 117 | 386) => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    };
    let message =
        text.replace("e.displayText() = ", "").replace(", e.what() = DB::Exception", "").replace("DB::Exception: ", "");
    let message: String = toolkit_core::error::one_line(&message).chars().take(500).collect();
    let mut err = Error::new(kind, format!("{at}: {message}"));
    if let Some(c) = code {
        err = err.with_context("code", c);
    }
    err
}

/// The number after `Code: `.
pub(crate) fn exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn chain_any(e: &(dyn std::error::Error + 'static), f: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if f(err) {
            return true;
        }
        cur = err.source();
    }
    false
}

fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    chain_any(e, &|err| {
        err.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || err.to_string().contains("timed out")
    })
}

fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    chain_any(e, &|err| err.downcast_ref::<rustls::Error>().is_some())
}

/// The rustls configuration: the CA file (with `tls`), or the webpki roots, or no verification
/// at all.
async fn tls_config(config: &ClickhouseConfig) -> Result<ClientConfig> {
    let ca_file = config.ca_file.as_deref().filter(|_| config.tls);
    toolkit_connector_tls::client_config(ca_file, config.insecure_skip_tls_verify).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_of_both_message_styles() {
        let old =
            "Code: 193, e.displayText() = DB::Exception: Wrong password for user toolkit, e.what() = DB::Exception";
        assert_eq!(exception_code(old), Some(193));
        let err = server_error("run a query", old);
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(err.message(), "run a query: Code: 193, Wrong password for user toolkit");
        let new = "Code: 164. DB::Exception: toolkit: Cannot execute query in readonly mode. (READONLY)";
        assert_eq!(server_error("x", new).kind(), ErrorKind::Denied);
        assert_eq!(server_error("x", "Code: 62, syntax").kind(), ErrorKind::InvalidInput);
        assert_eq!(server_error("x", "oops").kind(), ErrorKind::Upstream);
    }
}
