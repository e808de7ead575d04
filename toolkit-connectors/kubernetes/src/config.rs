//! The typed settings of a kubernetes tool, read from `spec.config` without I/O or secrets, and
//! the kube client configuration built from them once the token is resolved.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use base64::Engine as _;
use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::secret::SecretString;
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, Result};

/// `spec.config` of a kubernetes tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeSettings {
    /// API server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apiserver: Option<String>,
    /// Bearer token by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretKeySelector>,
    /// CA certificate (kubernetes), PEM or base64 PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacrt: Option<String>,
    /// Accept any server certificate (test servers only); false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Default namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// How long connecting (and the probe's answer) may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The namespace used when `namespace` is not set.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where and how to reach the API server, validated. Holds a reference to the token, never the
/// token.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeConfig {
    /// The API server URL, `https://host:port` or `http://host:port`.
    pub apiserver: String,
    /// The bearer token, resolved at first use; anonymous requests when `None`.
    pub token_ref: Option<SecretKeySelector>,
    /// The CA certificate, PEM or base64 of PEM.
    pub cacrt: Option<String>,
    /// Accept any server certificate.
    pub insecure_skip_tls_verify: bool,
    /// The namespace of calls that name none.
    pub namespace: String,
    /// Whether `namespace` was set in the manifest.
    pub namespace_set: bool,
    /// Time allowed to connect, and for the probe's answers.
    pub connect_timeout: Duration,
}

impl KubeConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<KubeSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for kubernetes tools (at least `apiserver`)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let cfg = KubeConfig {
            apiserver: c.apiserver.clone().unwrap_or_default(),
            token_ref: c.token.clone(),
            cacrt: c.cacrt.clone().filter(|s| !s.trim().is_empty()),
            insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            namespace: c.namespace.clone().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            namespace_set: c.namespace.is_some(),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        };
        match c.apiserver.as_deref() {
            None => errs.push(FieldError::new("spec.config.apiserver", "is required (https://host:port)")),
            Some(text) => match url::Url::parse(text) {
                Err(e) => errs.push(FieldError::new("spec.config.apiserver", format!("is not a valid URL: {e}"))),
                Ok(u) => {
                    if !matches!(u.scheme(), "https" | "http") {
                        errs.push(FieldError::new(
                            "spec.config.apiserver",
                            format!("scheme `{}` is not supported; use https:// (or http://)", u.scheme()),
                        ));
                    }
                    if u.host_str().is_none_or(str::is_empty) {
                        errs.push(FieldError::new("spec.config.apiserver", "has no host"));
                    }
                    if !u.username().is_empty() || u.password().is_some() {
                        errs.push(FieldError::new(
                            "spec.config.apiserver",
                            "must not carry credentials; reference the token with `token`",
                        ));
                    }
                    if u.query().is_some() || u.fragment().is_some() {
                        errs.push(FieldError::new("spec.config.apiserver", "takes no query or fragment"));
                    }
                }
            },
        }
        if let Some(ca) = &cfg.cacrt
            && let Err(e) = pem_of(ca)
        {
            errs.push(FieldError::new("spec.config.cacrt", e));
        }
        if cfg.cacrt.is_some() && cfg.insecure_skip_tls_verify {
            errs.push(FieldError::new(
                "spec.config.insecureSkipTlsVerify",
                "cannot be combined with `cacrt`: set one of them",
            ));
        }
        if !is_dns_label(&cfg.namespace) {
            errs.push(FieldError::new(
                "spec.config.namespace",
                format!("`{}` is not a namespace name (lowercase letters, digits and `-`)", cfg.namespace),
            ));
        }
        if cfg.connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// The API server URL without a trailing slash.
    pub fn server(&self) -> &str {
        self.apiserver.trim_end_matches('/')
    }

    /// The kube client configuration with `token`.
    pub(crate) fn client_config(&self, token: Option<&SecretString>) -> Result<kube::Config> {
        let uri: http::Uri = self
            .server()
            .parse()
            .map_err(|e| Error::config(format!("parse the api server url {}", self.server())).with_source(e))?;
        let mut config = kube::Config::new(uri);
        config.default_namespace = self.namespace.clone();
        config.connect_timeout = Some(self.connect_timeout);
        // Calls are bounded by their own deadline; this only stops a connection that went
        // silent from being held forever.
        config.read_timeout = Some(Duration::from_secs(295));
        config.accept_invalid_certs = self.insecure_skip_tls_verify;
        if let Some(ca) = &self.cacrt {
            let pem = pem_of(ca).map_err(|e| Error::config(format!("read spec.config.cacrt: {e}")))?;
            config.root_cert = Some(ders_of(&pem)?);
        }
        if let Some(t) = token {
            config.auth_info.token = Some(secrecy::SecretString::from(t.expose().to_owned()));
        }
        Ok(config)
    }
}

/// The PEM text of `cacrt`, which is PEM or base64 of PEM.
pub(crate) fn pem_of(ca: &str) -> std::result::Result<String, String> {
    let ca = ca.trim();
    if ca.starts_with("-----BEGIN") {
        return Ok(format!("{ca}\n"));
    }
    let compact: String = ca.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "is neither PEM nor base64 of PEM".to_owned())?;
    let text = String::from_utf8(bytes).map_err(|_| "is base64, but not of PEM text".to_owned())?;
    if !text.trim_start().starts_with("-----BEGIN") {
        return Err("is base64, but not of a PEM certificate".into());
    }
    Ok(text)
}

/// The DER certificates of a PEM bundle.
fn ders_of(pem: &str) -> Result<Vec<Vec<u8>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::config("read spec.config.cacrt: not a PEM certificate").with_source(e))?;
    if certs.is_empty() {
        return Err(Error::config("read spec.config.cacrt: it holds no certificate"));
    }
    Ok(certs)
}

/// Whether `s` is an RFC 1123 label, as namespace names are.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "kubernetes".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_settings_with_defaults() {
        let cfg = KubeConfig::from_spec(&spec(serde_json::json!({
            "apiserver": "https://10.0.0.1:6443/", "token": {"name": "k", "key": "token"}
        })))
        .unwrap();
        assert_eq!(cfg.server(), "https://10.0.0.1:6443");
        assert_eq!(cfg.namespace, "default");
        assert!(!cfg.namespace_set);
        assert_eq!(cfg.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn names_every_bad_field() {
        let errs = KubeConfig::from_spec(&spec(serde_json::json!({
            "apiserver": "ftp://u:pw@h", "hostname": "x", "namespace": "Bad_NS",
            "cacrt": "not a cert", "connectTimeout": "0s"
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.config.hostname",
                "spec.config.apiserver",
                "spec.config.apiserver",
                "spec.config.cacrt",
                "spec.config.namespace",
                "spec.config.connectTimeout"
            ]
        );
        assert!(!errs.iter().any(|e| e.message.contains("pw")), "{errs:?}");
        let errs = KubeConfig::from_spec(&spec(serde_json::json!({"namespace": "a"}))).unwrap_err();
        assert_eq!(errs[0].path, "spec.config.apiserver");
    }

    #[test]
    fn reads_pem_and_base64_pem() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(pem_of(pem).unwrap(), format!("{pem}\n"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(pem_of(&b64).unwrap(), pem);
        assert!(pem_of("aGVsbG8=").is_err());
    }
}
