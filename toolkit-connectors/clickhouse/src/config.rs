//! The typed settings of a clickhouse tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a clickhouse tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClickhouseSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 8123 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// The database to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Connect with TLS; false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
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

/// The HTTP interface's port when none is given.
pub const DEFAULT_PORT: u16 = 8123;

/// How long connecting (and the probe) may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct ClickhouseConfig {
    /// Host name or address.
    pub host: String,
    /// Port of the HTTP interface.
    pub port: u16,
    /// User; the server's `default` user when `None`.
    pub username: Option<String>,
    /// The password, resolved at first use.
    pub password_ref: Option<SecretKeySelector>,
    /// Database of unqualified table names.
    pub database: Option<String>,
    /// HTTPS instead of HTTP.
    pub tls: bool,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Accept any server certificate.
    pub insecure_skip_tls_verify: bool,
    /// Time allowed to connect, and for the probe.
    pub connect_timeout: Duration,
}

impl ClickhouseConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<ClickhouseSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for clickhouse tools (at least `hostname`)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let cfg = ClickhouseConfig {
            host: c.hostname.clone().unwrap_or_default(),
            port: c.port.unwrap_or(DEFAULT_PORT),
            username: c.username.clone(),
            password_ref: c.credentials_ref.clone(),
            database: c.database_name.clone(),
            tls: c.tls.unwrap_or(false),
            ca_file: c.ca_file.clone(),
            insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        };
        match &c.hostname {
            None => errs.push(FieldError::new("spec.config.hostname", "is required")),
            Some(h) if h.trim().is_empty() || h.contains(|ch: char| ch.is_whitespace() || "/@?#".contains(ch)) => {
                errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
            }
            Some(_) => {}
        }
        if cfg.port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        if cfg.username.as_deref().is_some_and(|u| !is_identifier(u)) {
            errs.push(FieldError::new("spec.config.username", "must be a name of letters, digits, `_`, `-` or `.`"));
        }
        if cfg.database.as_deref().is_some_and(|d| !is_identifier(d)) {
            errs.push(FieldError::new(
                "spec.config.databaseName",
                "must be a name of letters, digits, `_`, `-` or `.`",
            ));
        }
        if cfg.connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if !cfg.tls {
            for (set, key) in
                [(cfg.ca_file.is_some(), "caFile"), (cfg.insecure_skip_tls_verify, "insecureSkipTlsVerify")]
            {
                if set {
                    errs.push(FieldError::new(format!("spec.config.{key}"), "only applies with `tls: true`"));
                }
            }
        }
        if cfg.ca_file.is_some() && cfg.insecure_skip_tls_verify {
            errs.push(FieldError::new("spec.config.insecureSkipTlsVerify", "cannot be combined with `caFile`"));
        }
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// `http://host:port` or `https://host:port`, with no credentials.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{host}:{}", self.port)
    }

    /// The user the server sees.
    pub fn user(&self) -> &str {
        self.username.as_deref().unwrap_or("default")
    }
}

/// Whether `s` is a plain ClickHouse name.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "clickhouse".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_settings_with_defaults() {
        let cfg = ClickhouseConfig::from_spec(&spec(serde_json::json!({"hostname": "ch", "username": "app"}))).unwrap();
        assert_eq!((cfg.port, cfg.url().as_str(), cfg.user()), (8123, "http://ch:8123", "app"));
        let cfg = ClickhouseConfig::from_spec(&spec(serde_json::json!({"hostname": "ch", "port": 8443, "tls": true})))
            .unwrap();
        assert_eq!((cfg.url().as_str(), cfg.user()), ("https://ch:8443", "default"));
    }

    #[test]
    fn names_every_bad_field() {
        let errs = ClickhouseConfig::from_spec(&spec(serde_json::json!({
            "hostname": "a b", "uri": "x", "port": 0, "databaseName": "d;rop", "caFile": "/ca.pem"
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.config.uri",
                "spec.config.hostname",
                "spec.config.port",
                "spec.config.databaseName",
                "spec.config.caFile"
            ]
        );
    }
}
