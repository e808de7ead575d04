#![doc = include_str!("../README.md")]

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use toolkit_core::{Error, Result};

pub use rustls;

/// The client configuration: server certificates checked against `ca_file` (PEM) or the webpki
/// roots, or not checked at all when `insecure_skip_verify`. Reads the CA file; a missing,
/// unreadable or certificate-less file is a config error naming it.
pub async fn client_config(ca_file: Option<&str>, insecure_skip_verify: bool) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal("set up tls").with_source(e))?;
    if insecure_skip_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| Error::config(format!("read the ca file {path}")).with_source(e))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| Error::config(format!("read the ca file {path}")).with_source(e))?;
                roots.add(cert).map_err(|e| Error::config(format!("use the ca file {path}")).with_source(e))?;
            }
            if roots.is_empty() {
                return Err(Error::config(format!("use the ca file {path}: it holds no PEM certificate")));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The name a server certificate is checked against, from a host name or address.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned())
        .map_err(|e| Error::config(format!("use `{host}` as a TLS name")).with_source(e))
}

/// Whether a rustls error is anywhere in `e`'s source chain: a TLS failure, which connectors
/// report as unreachable.
pub fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// Accepts every certificate; handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ca_file_problems_are_config_errors_naming_the_file() {
        let missing = client_config(Some("/nonexistent/ca.pem"), false).await.unwrap_err();
        assert_eq!(missing.kind(), toolkit_core::ErrorKind::Config);
        assert!(missing.to_string().contains("/nonexistent/ca.pem"), "{missing}");

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let path = empty.to_str().unwrap();
        let e = client_config(Some(path), false).await.unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    }

    #[tokio::test]
    async fn roots_and_insecure_configs_build() {
        client_config(None, false).await.unwrap();
        client_config(Some("/nonexistent/ca.pem"), true).await.unwrap();
    }

    #[test]
    fn server_names() {
        assert!(server_name("db.example.com").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("not a name").is_err());
    }
}
