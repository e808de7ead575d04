//! The typed settings of an elasticsearch tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;
use url::Url;

use crate::index::IndexPatterns;

/// `spec.config` of a elasticsearch tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElasticSettings {
    /// A base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Index or index pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// PEM file of the CA that signed the server's certificate; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any server certificate (test servers only); false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Basic`, with `username` and the password in `credentialsRef`.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: SecretKeySelector,
    },
    /// `Authorization: ApiKey`, with the encoded key (`base64(id:key)`) in `credentialsRef`
    /// and no `username`.
    ApiKey(SecretKeySelector),
}

/// Where and how to connect, validated. Holds references to credentials, never their values.
#[derive(Clone, Debug, PartialEq)]
pub struct EsConfig {
    /// Base URL (`http://` or `https://`), without credentials.
    pub url: Url,
    /// The indices calls may reach; any when `None`.
    pub index: Option<IndexPatterns>,
    /// Credentials.
    pub auth: Auth,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Accept any certificate (test servers only).
    pub insecure_skip_tls_verify: bool,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
}

impl EsConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<ElasticSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for elasticsearch tools (at least `url`)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let url = match c.url.as_deref().map(Url::parse) {
            None => {
                errs.push(FieldError::new("spec.config.url", "is required, e.g. https://search.example.com:9200"));
                None
            }
            Some(Err(e)) => {
                // The text may hold credentials, so it is not repeated.
                errs.push(FieldError::new("spec.config.url", format!("is not a valid URL: {e}")));
                None
            }
            Some(Ok(u)) => {
                if !matches!(u.scheme(), "http" | "https") {
                    errs.push(FieldError::new("spec.config.url", "must be an http:// or https:// URL"));
                }
                if u.password().is_some() || !u.username().is_empty() {
                    errs.push(FieldError::new(
                        "spec.config.url",
                        "must not contain credentials; set `username` and `credentialsRef`",
                    ));
                }
                if u.query().is_some() || u.fragment().is_some() {
                    errs.push(FieldError::new("spec.config.url", "takes no query or fragment"));
                }
                if u.host_str().is_none_or(str::is_empty) {
                    errs.push(FieldError::new("spec.config.url", "has no host"));
                }
                Some(u)
            }
        };
        let index = match c.index.as_deref().map(IndexPatterns::parse) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(why)) => {
                errs.push(FieldError::new("spec.config.index", why));
                None
            }
        };
        let auth = match (&c.username, &c.credentials_ref) {
            (None, None) => Auth::None,
            (Some(u), Some(p)) => Auth::Basic { username: u.clone(), password: p.clone() },
            (None, Some(k)) => Auth::ApiKey(k.clone()),
            (Some(_), None) => {
                errs.push(FieldError::new(
                    "spec.config.username",
                    "needs `credentialsRef` with the password (without `username`, `credentialsRef` is an API key)",
                ));
                Auth::None
            }
        };
        if let Some(u) = &c.username
            && (u.is_empty() || u.contains(':'))
        {
            errs.push(FieldError::new("spec.config.username", "must be a non-empty name without `:`"));
        }
        let https = url.as_ref().is_some_and(|u| u.scheme() == "https");
        for (set, key) in
            [(c.ca_file.is_some(), "caFile"), (c.insecure_skip_tls_verify == Some(true), "insecureSkipTlsVerify")]
        {
            if set && !https {
                errs.push(FieldError::new(format!("spec.config.{key}"), "only applies to an https:// `url`"));
            }
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        match url {
            Some(url) if errs.is_empty() => Ok(EsConfig {
                url,
                index,
                auth,
                ca_file: c.ca_file.clone(),
                insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
                connect_timeout,
            }),
            _ => Err(errs),
        }
    }

    /// The user name, if the tool authenticates as one.
    pub fn username(&self) -> Option<&str> {
        match &self.auth {
            Auth::Basic { username, .. } => Some(username),
            _ => None,
        }
    }

    /// The base URL without a trailing slash, for messages and `ES_URL`.
    pub fn display_url(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "elasticsearch".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_basic_and_api_key_auth() {
        let cfg = EsConfig::from_spec(&spec(serde_json::json!({
            "url": "https://es:9200/", "index": "logs-*", "username": "app",
            "credentialsRef": {"name": "es", "key": "password"}, "caFile": "/ca.pem"
        })))
        .unwrap();
        assert!(matches!(cfg.auth, Auth::Basic { .. }));
        assert_eq!(cfg.display_url(), "https://es:9200");
        let cfg = EsConfig::from_spec(&spec(serde_json::json!({
            "url": "http://es:9200", "credentialsRef": {"name": "es", "key": "apiKey"}
        })))
        .unwrap();
        assert!(matches!(cfg.auth, Auth::ApiKey(_)));
    }

    #[test]
    fn refuses_credentials_in_the_url_and_unused_keys() {
        let errs = EsConfig::from_spec(&spec(serde_json::json!({
            "url": "http://app:hunter22@es:9200", "hostname": "es", "caFile": "/ca.pem", "username": "x"
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.hostname", "spec.config.url", "spec.config.username", "spec.config.caFile"]);
        assert!(!errs.iter().any(|e| e.message.contains("hunter22")));
        let errs = EsConfig::from_spec(&spec(serde_json::json!({"url": "http://es", "index": "a b"}))).unwrap_err();
        assert_eq!(errs[0].path, "spec.config.index");
    }
}
