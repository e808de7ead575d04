//! TCPS: the rustls client configuration (webpki roots or the CA file, or no verification with
//! `insecureSkipTlsVerify`) and the stream the TNS exchange runs over.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use toolkit_core::Result;

pub(crate) use toolkit_connector_tls::server_name;

use crate::config::OracleConfig;

/// A byte stream the TNS exchange runs over: plain TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS connector of `config`; reads the CA file when one is set.
pub(crate) async fn connector(config: &OracleConfig) -> Result<tokio_rustls::TlsConnector> {
    let client =
        toolkit_connector_tls::client_config(config.ca_file.as_deref(), config.insecure_skip_tls_verify).await?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(client)))
}
