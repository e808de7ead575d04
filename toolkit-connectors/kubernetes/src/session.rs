//! Sessions: a kubeconfig for kubectl in a private temporary folder, and the read operations of
//! tool calls run as command lines.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, Result};

use crate::KubeTool;
use crate::config::KubeConfig;
use crate::invoke::Call;

/// A live session: the tool, and the folder holding its kubeconfig (removed on close).
pub(crate) struct KubeSession {
    pub(crate) tool: KubeTool,
    pub(crate) dir: Mutex<Option<tempfile::TempDir>>,
    pub(crate) kubeconfig: PathBuf,
}

impl KubeSession {
    /// Writes the kubeconfig of `config` with `token` into a new private folder.
    pub(crate) fn open(tool: KubeTool, token: Option<&str>) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("toolkit-kube-")
            .tempdir()
            .map_err(|e| Error::internal("make the session folder").with_source(e))?;
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::internal("make the session folder private").with_source(e))?;
        }
        let path = dir.path().join("kubeconfig");
        write_private(&path, &render_kubeconfig(&tool.conn.config, token))?;
        Ok(Self { tool, dir: Mutex::new(Some(dir)), kubeconfig: path })
    }
}

#[async_trait]
impl Session for KubeSession {
    fn env(&self) -> Vec<EnvEntry> {
        vec![EnvEntry::plain("KUBECONFIG", self.kubeconfig.display().to_string())]
    }

    fn client(&self) -> Option<Vec<String>> {
        // kubectl finds the kubeconfig through KUBECONFIG.
        Some(vec!["kubectl".into()])
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        if self.dir.lock().await.is_none() {
            return Err(Error::invalid_input("run a command: the session is closed"));
        }
        let argv = match command {
            [line] if line.contains(char::is_whitespace) => line.split_whitespace().map(str::to_owned).collect(),
            _ => command.to_vec(),
        };
        // `kubectl get pods` reads like `get pods`.
        let argv = match argv.split_first() {
            Some((first, rest)) if first == "kubectl" => rest.to_vec(),
            _ => argv,
        };
        let call = Call::from_argv(&argv)?;
        self.tool.run(&call, limits).await
    }

    async fn close(&self) {
        self.dir.lock().await.take();
    }
}

/// A kubeconfig (JSON, which kubectl reads as YAML) with one cluster, user and context, in the
/// format the kubectl tools write: `cacrt` as `certificate-authority-data`, the token as the
/// user's `token`, the tool's namespace in the context.
pub(crate) fn render_kubeconfig(config: &KubeConfig, token: Option<&str>) -> String {
    crate::kubeconfig::Kubeconfig {
        server: config.server(),
        ca: config.cacrt.as_deref(),
        token,
        namespace: Some(&config.namespace),
        insecure_skip_tls_verify: config.insecure_skip_tls_verify,
    }
    .render()
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::internal("write the kubeconfig").with_source(e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::internal("write the kubeconfig").with_source(e))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_server_ca_token_and_namespace() {
        let spec = toolkit_core::ToolSpec {
            type_: "kubernetes".into(),
            config: Some(json!({
                "apiserver": "https://10.0.0.1:6443", "namespace": "apps",
                "cacrt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
            })),
            ..Default::default()
        };
        let cfg = KubeConfig::from_spec(&spec).unwrap();
        let v: serde_json::Value = serde_json::from_str(&render_kubeconfig(&cfg, Some("tok\"en"))).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://10.0.0.1:6443");
        assert!(v["clusters"][0]["cluster"]["certificate-authority-data"].is_string());
        assert_eq!(v["users"][0]["user"]["token"], "tok\"en");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "apps");
        assert_eq!(v["current-context"], "toolkit");
    }
}
