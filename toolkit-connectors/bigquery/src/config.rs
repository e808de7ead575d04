//! The typed settings of a bigquery tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;
use url::Url;

/// `spec.config` of a bigquery tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BigquerySettings {
    /// Project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// The API's base URL unless `url` is set.
pub const DEFAULT_URL: &str = "https://bigquery.googleapis.com";

/// How long connecting (and the probe) may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, validated. Holds a reference to the key, never the key.
#[derive(Clone, Debug, PartialEq)]
pub struct BigQueryConfig {
    /// The project jobs run in (and are billed to).
    pub project: String,
    /// Base URL of the BigQuery API.
    pub base_url: Url,
    /// The service-account JSON key, resolved on first use.
    pub credentials_ref: SecretKeySelector,
    /// Time allowed to connect and for the probe.
    pub connect_timeout: Duration,
}

impl BigQueryConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<BigquerySettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for bigquery tools (project, credentialsRef)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let project = c.project.clone().unwrap_or_default();
        if project.is_empty() {
            errs.push(FieldError::new("spec.config.project", "is required"));
        } else if !project.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '.' | ':' | '_')) {
            errs.push(FieldError::new("spec.config.project", format!("`{project}` is not a project id")));
        }
        let base_url = match Url::parse(c.url.as_deref().unwrap_or(DEFAULT_URL)) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                if !url.username().is_empty() || url.password().is_some() {
                    errs.push(FieldError::new("spec.config.url", "must not contain credentials"));
                }
                Some(url)
            }
            Ok(_) => {
                errs.push(FieldError::new("spec.config.url", "must be an http:// or https:// URL with a host"));
                None
            }
            Err(e) => {
                errs.push(FieldError::new("spec.config.url", format!("is not a valid URL: {e}")));
                None
            }
        };
        if c.credentials_ref.is_none() {
            errs.push(FieldError::new("spec.config.credentialsRef", "is required: a service-account JSON key"));
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        match (errs.is_empty(), base_url, c.credentials_ref.clone()) {
            (true, Some(base_url), Some(credentials_ref)) => {
                Ok(BigQueryConfig { project, base_url, credentials_ref, connect_timeout })
            }
            _ => Err(errs),
        }
    }

    /// `host:port` of the API, for messages.
    pub fn endpoint(&self) -> String {
        let host = self.base_url.host_str().unwrap_or_default();
        match self.base_url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "bigquery".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_defaults() {
        let cfg =
            BigQueryConfig::from_spec(&spec(json!({"project": "p-1", "credentialsRef": {"name": "k", "key": "json"}})))
                .unwrap();
        assert_eq!(cfg.base_url.as_str(), "https://bigquery.googleapis.com/");
        assert_eq!(cfg.endpoint(), "bigquery.googleapis.com:443");
    }

    #[test]
    fn names_every_problem_by_path() {
        let errs =
            BigQueryConfig::from_spec(&spec(json!({"hostname": "h", "project": "a b", "url": "x"}))).unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["spec.config.hostname", "spec.config.project", "spec.config.url", "spec.config.credentialsRef"]
        );
    }
}
