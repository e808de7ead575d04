//! The connectivity check: `GET /version`, then a SelfSubjectAccessReview of `list pods` in the
//! tool's namespace, which also proves the token where `/version` is public.

use async_trait::async_trait;
use kube::core::Request;
use kube::core::params::PostParams;
use serde_json::{Value, json};
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{Error, ErrorKind, Result};

use crate::KubeTool;

const SSAR_PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

#[async_trait]
impl Probe for KubeTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let deadline = self.conn.config.connect_timeout;
        let request = http::Request::get("/version")
            .body(Vec::new())
            .map_err(|e| Error::internal("build the /version request").with_source(e))?;
        let version = self.conn.json(request, deadline, "read /version").await?;
        let mut report = ProbeReport {
            server_version: version.get("gitVersion").and_then(Value::as_str).map(str::to_owned),
            ..ProbeReport::default()
        };
        if let Some(p) = version.get("platform").and_then(Value::as_str) {
            report.details.insert("platform".into(), p.to_owned());
        }
        report.details.insert("apiserver".into(), self.conn.config.server().to_owned());
        report.details.insert("namespace".into(), self.conn.config.namespace.clone());
        let (key, value) = self.access_review().await?;
        report.details.insert(key.into(), value);
        Ok(report)
    }
}

impl KubeTool {
    /// Asks whether the token may list pods in the namespace. A server without the review API
    /// (404) or a user who may not ask (403) is reported, not failed; a refused token is `Auth`.
    async fn access_review(&self) -> Result<(&'static str, String)> {
        let ns = &self.conn.config.namespace;
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": ns, "verb": "list", "resource": "pods"}}
        });
        let body =
            serde_json::to_vec(&review).map_err(|e| Error::internal("encode the access review").with_source(e))?;
        let request = Request::new(SSAR_PATH)
            .create(&PostParams::default(), body)
            .map_err(|e| Error::internal("build the access review").with_source(e))?;
        let what = format!("list pods in {ns}");
        match self.conn.json(request, self.conn.config.connect_timeout, "ask for a self subject access review").await {
            Ok(answer) => {
                let allowed = answer.pointer("/status/allowed").and_then(Value::as_bool).unwrap_or(false);
                let reason = answer.pointer("/status/reason").and_then(Value::as_str).unwrap_or_default();
                let verdict = if allowed { "allowed" } else { "denied" };
                let text = if reason.is_empty() {
                    format!("{what}: {verdict}")
                } else {
                    format!("{what}: {verdict} ({reason})")
                };
                Ok(("accessReview", text))
            }
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                Ok(("accessReview", "unavailable: the server does not serve SelfSubjectAccessReview".into()))
            }
            Err(e) if e.kind() == ErrorKind::Denied => {
                Ok(("accessReview", "unavailable: the token may not create access reviews".into()))
            }
            Err(e) => Err(e),
        }
    }
}
