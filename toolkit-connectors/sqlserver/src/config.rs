//! The typed settings of a sqlserver tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, SslMode, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a sqlserver tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlserverSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 1433 when omitted.
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
    /// TLS mode: disable, allow, prefer, require, verify-ca, verify-full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<SslMode>,
    /// PEM file of the CA that signed the server's certificate; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any server certificate (test servers only); false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
    /// Connections in the tool's pool at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// Port used when none is given.
pub const DEFAULT_PORT: u16 = 1433;

/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once when `maxConnections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;

/// How the connection is encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// No TLS at all (`sslMode: disable`); the server must allow it.
    Disabled,
    /// TLS without checking the certificate (`require`, or `insecureSkipTlsVerify`).
    Unverified,
    /// TLS, the certificate checked against the system roots or `caFile`, with the host name
    /// (`verify-ca` and `verify-full`, the default).
    Verified {
        /// PEM file of the CA.
        ca_file: Option<String>,
    },
}

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlServerConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// SQL login.
    pub username: String,
    /// The login's password, resolved when the first connection is made.
    pub password_ref: SecretKeySelector,
    /// Database to use; the login's default when `None`.
    pub database: Option<String>,
    /// Encryption.
    pub tls: Tls,
    /// Time allowed to connect and log in.
    pub connect_timeout: Duration,
    /// Connections open at once.
    pub max_connections: u32,
}

impl SqlServerConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<SqlserverSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for sqlserver tools (hostname, username, credentialsRef)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let host = c.hostname.clone().unwrap_or_default();
        if host.trim().is_empty() || host.contains(|ch: char| ch.is_whitespace() || ch == '/' || ch == ',') {
            errs.push(FieldError::new("spec.config.hostname", "is required: a host name or address"));
        }
        let port = c.port.unwrap_or(DEFAULT_PORT);
        if port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        let username = c.username.clone().unwrap_or_default();
        if username.trim().is_empty() {
            errs.push(FieldError::new("spec.config.username", "is required (a SQL Server login)"));
        }
        if c.credentials_ref.is_none() {
            errs.push(FieldError::new("spec.config.credentialsRef", "is required: the login's password"));
        }
        let insecure = c.insecure_skip_tls_verify.unwrap_or(false);
        let tls = match c.ssl_mode.unwrap_or(SslMode::VerifyFull) {
            SslMode::Disable => Tls::Disabled,
            SslMode::Require => Tls::Unverified,
            SslMode::VerifyCa | SslMode::VerifyFull if insecure => Tls::Unverified,
            SslMode::VerifyCa | SslMode::VerifyFull => Tls::Verified { ca_file: c.ca_file.clone() },
            SslMode::Allow | SslMode::Prefer => {
                errs.push(FieldError::new("spec.config.sslMode", "use disable, require, verify-ca or verify-full"));
                Tls::Disabled
            }
        };
        if c.ca_file.is_some() && tls != (Tls::Verified { ca_file: c.ca_file.clone() }) {
            errs.push(FieldError::new(
                "spec.config.caFile",
                "only applies with sslMode verify-ca or verify-full and without insecureSkipTlsVerify",
            ));
        }
        if insecure && c.ssl_mode == Some(SslMode::Disable) {
            errs.push(FieldError::new("spec.config.insecureSkipTlsVerify", "does not apply with sslMode disable"));
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        let max_connections = c.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            errs.push(FieldError::new("spec.config.maxConnections", "must be at least 1"));
        }
        match (errs.is_empty(), c.credentials_ref.clone()) {
            (true, Some(password_ref)) => Ok(SqlServerConfig {
                host,
                port,
                username,
                password_ref,
                database: c.database_name.clone(),
                tls,
                connect_timeout,
                max_connections,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "sqlserver".into(), config: Some(config), ..ToolSpec::default() }
    }

    fn base(extra: serde_json::Value) -> serde_json::Value {
        let mut v = json!({"hostname": "db", "username": "app", "credentialsRef": {"name": "s", "key": "p"}});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn maps_ssl_modes() {
        let tls = |extra| SqlServerConfig::from_spec(&spec(base(extra))).unwrap().tls;
        assert_eq!(tls(json!({})), Tls::Verified { ca_file: None });
        assert_eq!(tls(json!({"sslMode": "disable"})), Tls::Disabled);
        assert_eq!(tls(json!({"sslMode": "require"})), Tls::Unverified);
        assert_eq!(tls(json!({"insecureSkipTlsVerify": true})), Tls::Unverified);
        assert_eq!(
            tls(json!({"sslMode": "verify-ca", "caFile": "/ca.pem"})),
            Tls::Verified { ca_file: Some("/ca.pem".into()) }
        );
    }

    #[test]
    fn names_every_problem_by_path() {
        let errs = SqlServerConfig::from_spec(&spec(json!({
            "sslMode": "prefer", "caFile": "/x", "maxConnections": 0, "uri": "x"
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.config.uri",
                "spec.config.hostname",
                "spec.config.username",
                "spec.config.credentialsRef",
                "spec.config.sslMode",
                "spec.config.caFile",
                "spec.config.maxConnections"
            ]
        );
    }
}
