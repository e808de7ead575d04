//! The kubeconfig a kubectl call runs with, written from the kubernetes connection the tool
//! names: API server, CA certificate and bearer token. The caller's own kubeconfig is never
//! read.

use base64::Engine as _;
use serde_json::json;
use toolkit_core::model::ConnectionConfig;

/// A kubernetes connection: the `config` of a tool of type kubernetes, and its namespace (for
/// its secrets).
#[derive(Clone, Debug)]
pub struct KubeConnection {
    /// `apiserver`, `token`, `cacrt`, `namespace`.
    pub config: ConnectionConfig,
    /// The namespace of the kubernetes tool.
    pub namespace: String,
}

/// Renders a kubeconfig (JSON, which kubectl reads as YAML) with one cluster, user and context.
/// `ca` is PEM or base64 of PEM; without it the server's certificate is checked against the
/// system roots.
pub fn render_kubeconfig(server: &str, ca: Option<&str>, token: &str, namespace: Option<&str>) -> String {
    let mut cluster = json!({"server": server});
    if let Some(ca) = ca.map(str::trim).filter(|c| !c.is_empty()) {
        let data = if ca.starts_with("-----BEGIN") {
            base64::engine::general_purpose::STANDARD.encode(ca.as_bytes())
        } else {
            ca.split_whitespace().collect()
        };
        cluster["certificate-authority-data"] = json!(data);
    }
    let mut context = json!({"cluster": "toolkit", "user": "toolkit"});
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        context["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "toolkit", "cluster": cluster}],
        "users": [{"name": "toolkit", "user": {"token": token}}],
        "contexts": [{"name": "toolkit", "context": context}],
        "current-context": "toolkit",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_server_ca_token_and_namespace() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let text = render_kubeconfig("https://10.0.0.1:6443", Some(pem), "tok\"en", Some("apps"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://10.0.0.1:6443");
        let data = v["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), pem.trim().as_bytes());
        assert_eq!(v["users"][0]["user"]["token"], "tok\"en");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "apps");
        assert_eq!(v["current-context"], "toolkit");

        let b64 = render_kubeconfig("https://k", Some("TUlJQg==\n"), "t", None);
        let v: serde_json::Value = serde_json::from_str(&b64).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["certificate-authority-data"], "TUlJQg==");
        assert!(v["contexts"][0]["context"].get("namespace").is_none());
    }
}
