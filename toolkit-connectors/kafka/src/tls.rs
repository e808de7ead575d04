//! The rustls client configuration of a TLS connection to the brokers: the webpki roots or the CA
//! file, or no verification at all with `insecureSkipTlsVerify` (`toolkit-connector-tls`).

use std::sync::Arc;

use rustls::ClientConfig;
use toolkit_core::Result;

use crate::config::KafkaConfig;

/// The TLS configuration for `config`; reads the CA file when one is set.
pub(crate) async fn connector(config: &KafkaConfig) -> Result<Arc<ClientConfig>> {
    let client =
        toolkit_connector_tls::client_config(config.ca_file.as_deref(), config.insecure_skip_tls_verify).await?;
    Ok(Arc::new(client))
}
