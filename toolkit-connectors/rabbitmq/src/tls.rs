//! The rustls client configuration of an `amqps` connection: the webpki roots or the CA file,
//! or no verification at all with `insecureSkipTlsVerify` (`toolkit-connector-tls`).

use lapin::tcp::RustlsConnector;
use toolkit_core::Result;

use crate::config::RabbitConfig;

/// The TLS connector for `config`; reads the CA file when one is set.
pub(crate) async fn connector(config: &RabbitConfig) -> Result<RustlsConnector> {
    let client =
        toolkit_connector_tls::client_config(config.ca_file.as_deref(), config.insecure_skip_tls_verify).await?;
    Ok(RustlsConnector::from(client))
}
