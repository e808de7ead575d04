//! The kubeconfig toolkit writes for native clients (`kubectl`): one cluster, one user and one
//! context, built from a kubernetes tool's settings. The caller's own kubeconfig is never read.
//!
//! The text holds the bearer token: write it only to a file its owner alone can read.

use base64::Engine as _;
use serde_json::json;

/// What a kubeconfig says.
#[derive(Clone, Copy, Default)]
pub struct Kubeconfig<'a> {
    /// The API server URL.
    pub server: &'a str,
    /// The CA certificate, PEM or base64 of PEM; without it the server's certificate is checked
    /// against the system roots.
    pub ca: Option<&'a str>,
    /// The bearer token; none for an anonymous user.
    pub token: Option<&'a str>,
    /// The context's namespace.
    pub namespace: Option<&'a str>,
    /// Accept any server certificate (test clusters only).
    pub insecure_skip_tls_verify: bool,
}

impl std::fmt::Debug for Kubeconfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field("token", &self.token.map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl Kubeconfig<'_> {
    /// The kubeconfig as JSON, which kubectl reads as YAML.
    pub fn render(&self) -> String {
        let mut cluster = json!({"server": self.server});
        if let Some(ca) = self.ca.map(str::trim).filter(|c| !c.is_empty()) {
            let data = if ca.starts_with("-----BEGIN") {
                base64::engine::general_purpose::STANDARD.encode(ca.as_bytes())
            } else {
                ca.split_whitespace().collect()
            };
            cluster["certificate-authority-data"] = json!(data);
        }
        if self.insecure_skip_tls_verify {
            cluster["insecure-skip-tls-verify"] = json!(true);
        }
        let mut context = json!({"cluster": "toolkit", "user": "toolkit"});
        if let Some(ns) = self.namespace.filter(|n| !n.is_empty()) {
            context["namespace"] = json!(ns);
        }
        let user = match self.token {
            Some(token) => json!({"token": token}),
            None => json!({}),
        };
        json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "toolkit", "cluster": cluster}],
            "users": [{"name": "toolkit", "user": user}],
            "contexts": [{"name": "toolkit", "context": context}],
            "current-context": "toolkit",
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_server_ca_token_and_namespace() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let config = Kubeconfig {
            server: "https://10.0.0.1:6443",
            ca: Some(pem),
            token: Some("s3cr\"et"),
            namespace: Some("apps"),
            insecure_skip_tls_verify: false,
        };
        assert!(!format!("{config:?}").contains("s3cr"), "{config:?}");
        let v: serde_json::Value = serde_json::from_str(&config.render()).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://10.0.0.1:6443");
        let data = v["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), pem.trim().as_bytes());
        assert!(v["clusters"][0]["cluster"].get("insecure-skip-tls-verify").is_none());
        assert_eq!(v["users"][0]["user"]["token"], "s3cr\"et");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "apps");
        assert_eq!(v["current-context"], "toolkit");

        let other = Kubeconfig {
            server: "https://k",
            ca: Some("TUlJQg==\n"),
            insecure_skip_tls_verify: true,
            ..Kubeconfig::default()
        };
        let v: serde_json::Value = serde_json::from_str(&other.render()).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["certificate-authority-data"], "TUlJQg==");
        assert_eq!(v["clusters"][0]["cluster"]["insecure-skip-tls-verify"], true);
        assert_eq!(v["users"][0]["user"], json!({}));
        assert!(v["contexts"][0]["context"].get("namespace").is_none());
    }
}
