//! The typed settings of an oracle tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a oracle tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OracleSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 1521 when omitted.
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
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
    /// Connect with TLS; false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// PEM file of the CA that signed the server's certificate; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any server certificate (test servers only); false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
}

/// The listener's port when none is given.
pub const DEFAULT_PORT: u16 = 1521;

/// How long the probe may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct OracleConfig {
    /// Host of the listener.
    pub host: String,
    /// Port of the listener.
    pub port: u16,
    /// Database user (for sessions and the permission plan).
    pub username: Option<String>,
    /// The user's password, resolved when a session opens.
    pub password_ref: Option<SecretKeySelector>,
    /// The service name the listener must know.
    pub service: String,
    /// Time allowed for the probe.
    pub connect_timeout: Duration,
    /// Connect with TCPS (TNS over TLS).
    pub tls: bool,
    /// PEM file of the CA that signed the listener's certificate; the webpki roots otherwise.
    pub ca_file: Option<String>,
    /// Accept any certificate (test listeners only).
    pub insecure_skip_tls_verify: bool,
}

/// Whether `s` can stand in a connect descriptor without quoting: letters, digits, `.`, `_`,
/// `-` (and `:` for IPv6 hosts).
fn plain(s: &str, extra: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
}

impl OracleConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<OracleSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for oracle tools (hostname, databaseName)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let host = c.hostname.clone().unwrap_or_default();
        if host.is_empty() {
            errs.push(FieldError::new("spec.config.hostname", "is required"));
        } else if !plain(&host, ":") {
            errs.push(FieldError::new("spec.config.hostname", format!("`{host}` is not a host name")));
        }
        let port = c.port.unwrap_or(DEFAULT_PORT);
        if port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        let service = c.database_name.clone().unwrap_or_default();
        if service.is_empty() {
            errs.push(FieldError::new("spec.config.databaseName", "is required: the service name, such as ORCLPDB1"));
        } else if !plain(&service, "") {
            errs.push(FieldError::new(
                "spec.config.databaseName",
                format!("`{service}` is not a service name (letters, digits, `.`, `_`, `-`)"),
            ));
        }
        if let Some(u) = &c.username
            && !plain(u, "$#")
        {
            errs.push(FieldError::new("spec.config.username", format!("`{u}` is not a user name")));
        }
        if c.credentials_ref.is_some() && c.username.is_none() {
            errs.push(FieldError::new("spec.config.username", "is required with credentialsRef"));
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        let tls = c.tls.unwrap_or(false);
        if c.ca_file.is_some() && !tls {
            errs.push(FieldError::new("spec.config.caFile", "only applies with `tls: true`"));
        }
        if c.insecure_skip_tls_verify.is_some() && !tls {
            errs.push(FieldError::new("spec.config.insecureSkipTlsVerify", "only applies with `tls: true`"));
        }
        if errs.is_empty() {
            Ok(OracleConfig {
                host,
                port,
                username: c.username.clone(),
                password_ref: c.credentials_ref.clone(),
                service,
                connect_timeout,
                tls,
                ca_file: c.ca_file.clone(),
                insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            })
        } else {
            Err(errs)
        }
    }

    /// `TCPS` with TLS, `TCP` without.
    pub fn protocol(&self) -> &'static str {
        if self.tls { "TCPS" } else { "TCP" }
    }

    /// The connect descriptor of the service.
    pub fn descriptor(&self) -> String {
        format!(
            "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME={})(CID=(PROGRAM=toolkit)(HOST=toolkit)(USER=toolkit)))\
             (ADDRESS=(PROTOCOL={})(HOST={})(PORT={})))",
            self.service,
            self.protocol(),
            self.host,
            self.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "oracle".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn builds_the_descriptor() {
        let cfg = OracleConfig::from_spec(&spec(json!({"hostname": "db", "databaseName": "ORCLPDB1"}))).unwrap();
        assert_eq!(cfg.port, 1521);
        assert_eq!(
            cfg.descriptor(),
            "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=ORCLPDB1)(CID=(PROGRAM=toolkit)(HOST=toolkit)(USER=toolkit)))\
             (ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521)))"
        );
    }

    #[test]
    fn refuses_descriptor_injection_and_unused_keys() {
        let errs = OracleConfig::from_spec(&spec(json!({
            "hostname": "db)(HOST=evil", "databaseName": "x)(", "sslMode": "require",
            "credentialsRef": {"name": "o", "key": "p"}
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["spec.config.sslMode", "spec.config.hostname", "spec.config.databaseName", "spec.config.username"]
        );
    }
}
